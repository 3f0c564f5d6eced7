"""The container's command is the container's: after its first word (or after `--`), berth
parses nothing, so `-h`/`--help` reach the program as they do with Docker. A flag berth does
not know, before the command, is an error naming it (exit 125), never run as the command."""

from harness import BerthTest, berth, main


class CommandArgumentsTest(BerthTest):
    def test_help_flags_after_the_command_belong_to_it(self):
        for argv in (["--", "echo", "-h", "--help"], ["echo", "-h", "--help"]):
            p = berth("run", "--rm", "--network", "none", *argv)
            self.assertEqual(p.stdout.strip(), "-h --help", argv)
        # `ls -h /` lists the container's root, not berth's usage.
        p = berth("run", "--rm", "--network", "none", "--", "ls", "-h", "/")
        self.assertIn("etc", p.stdout.split())
        self.assertNotIn("Usage", p.stdout)

    def test_options_before_the_command_are_still_berths(self):
        # -h before the command is Docker's --hostname; values may be attached or separate.
        p = berth("run", "--rm", "--network=none", "-h", "box1", "hostname")
        self.assertEqual(p.stdout.strip(), "box1")
        p = berth("run", "--rm", "--name=named", "--network", "none", "sh", "-c", "echo $0", "x")
        self.assertEqual(p.stdout.strip(), "x")

    def test_exec_passes_everything_after_the_container(self):
        berth("run", "-d", "--name", "c", "--network", "none", "--", "sleep", "300")
        self.assertEqual(berth("exec", "c", "echo", "--help", "-h").stdout.strip(), "--help -h")
        self.assertEqual(berth("exec", "c", "--", "echo", "-h").stdout.strip(), "-h")
        p = berth("exec", "c", "--", "ls", "-h", "/")
        self.assertIn("proc", p.stdout.split())

    def test_unknown_flags_are_errors_naming_the_flag(self):
        p = berth("run", "--rm", "--bogus", "--network", "none", "true", check=False)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("--bogus", p.stderr)
        self.assertEqual(berth("ps", "-a", "--format", "json").stdout.strip(), "[]")
        p = berth("network", "ls", "--bogus", check=False)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("--bogus", p.stderr)

    def test_berths_own_help_still_works(self):
        for args in (["--help"], ["run", "--help"], ["exec", "--help"], ["network", "--help"]):
            p = berth(*args)
            self.assertIn("Usage", p.stdout + p.stderr, args)


if __name__ == "__main__":
    main()
