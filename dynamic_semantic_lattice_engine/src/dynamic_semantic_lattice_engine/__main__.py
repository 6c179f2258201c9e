"""``python -m dynamic_semantic_lattice_engine``."""

from dynamic_semantic_lattice_engine.cli import run

if __name__ == "__main__":
    run()
