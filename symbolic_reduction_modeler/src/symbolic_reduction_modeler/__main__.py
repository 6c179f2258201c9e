"""``python -m symbolic_reduction_modeler``."""

from symbolic_reduction_modeler.cli import run

if __name__ == "__main__":
    run()
