"""``python -m shared_core``."""

from shared_core._app import run

if __name__ == "__main__":
    run()
