"""``python -m synthetic_pipeline_engine``."""

from synthetic_pipeline_engine.cli import run

if __name__ == "__main__":
    run()
