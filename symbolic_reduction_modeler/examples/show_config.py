"""Print symbolic_reduction_modeler's effective settings as JSON, the way a wrapper script would read them."""

from symbolic_reduction_modeler.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
