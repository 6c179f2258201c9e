"""``python -m parallel_architecture_framework``."""

from parallel_architecture_framework.cli import run

if __name__ == "__main__":
    run()
