// ringleader's entry point. The command line lands with issue 2 (conf) and the server with issue 3.
int main() { return 0; }
