// Implementation lands with issue 2.
