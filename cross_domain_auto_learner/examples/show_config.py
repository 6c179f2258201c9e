"""Print cross_domain_auto_learner's effective settings as JSON, the way a wrapper script would read them."""

from cross_domain_auto_learner.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
