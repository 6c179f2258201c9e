"""``python -m chaos_engine``."""

from chaos_engine.cli import run

if __name__ == "__main__":
    run()
