"""``python -m cross_domain_auto_learner``."""

from cross_domain_auto_learner.cli import run

if __name__ == "__main__":
    run()
