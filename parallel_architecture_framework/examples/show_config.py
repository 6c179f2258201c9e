"""Print parallel_architecture_framework's effective settings as JSON, the way a wrapper script would read them."""

from parallel_architecture_framework.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
