#!/usr/bin/python3
"""`cmake --install` of this build tree into a temporary prefix: the binary, the systemd unit and
the logrotate snippet with that prefix's paths, the example configuration (kept when one is
there already), the documentation; the installed binary checks the installed configuration, and
systemd-analyze verifies the unit where systemd is installed. Run by ctest as install.layout
with the build directory as argument."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.prefix = tempfile.mkdtemp(prefix="rl-install-")

    def tearDown(self):
        shutil.rmtree(self.prefix, ignore_errors=True)

    def install(self):
        out = subprocess.run(["cmake", "--install", BUILD, "--prefix", self.prefix],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_layout_and_paths(self):
        self.install()
        binary = self.path("bin", "ringleader")
        conf = self.path("etc", "ringleader", "ringleader.yml")
        for f in [binary, conf, self.path("lib", "systemd", "system", "ringleader.service"),
                  self.path("etc", "logrotate.d", "ringleader"),
                  self.path("share", "doc", "ringleader", "README.md"),
                  self.path("share", "doc", "ringleader", "CONFIGURATION.md"),
                  self.path("share", "doc", "ringleader", "examples", "every-key.yml")]:
            self.assertTrue(os.path.isfile(f), f"{f} was not installed")
        with open(self.path("lib", "systemd", "system", "ringleader.service")) as f:
            unit = f.read()
        self.assertIn(f"ExecStart={binary} -c {conf}\n", unit)
        self.assertIn(f"ExecReload={binary} --reload -c {conf}\n", unit)
        self.assertNotIn("@", unit, "a placeholder was left in the unit")
        check = subprocess.run([binary, "-t", "-c", conf], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        help_text = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout
        for section in ("SIGNALS", "EXIT STATUS", "FILES", "EXAMPLES"):
            self.assertIn(section, help_text)
        if shutil.which("systemd-analyze"):
            verify = subprocess.run(["systemd-analyze", "verify",
                                     self.path("lib", "systemd", "system", "ringleader.service")],
                                    capture_output=True, text=True)
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        else:
            print("systemd-analyze is not installed: the unit's syntax is not verified")

    def test_an_existing_configuration_is_kept(self):
        self.install()
        conf = self.path("etc", "ringleader", "ringleader.yml")
        with open(conf, "w") as f:
            f.write("# the operator's own\n")
        out = self.install()
        self.assertIn("Kept:", out)
        with open(conf) as f:
            self.assertEqual(f.read(), "# the operator's own\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
