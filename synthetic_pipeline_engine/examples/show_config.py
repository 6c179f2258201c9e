"""Print synthetic_pipeline_engine's effective settings as JSON, the way a wrapper script would read them."""

from synthetic_pipeline_engine.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
