"""Print dynamic_semantic_lattice_engine's effective settings as JSON, the way a wrapper script would read them."""

from dynamic_semantic_lattice_engine.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
