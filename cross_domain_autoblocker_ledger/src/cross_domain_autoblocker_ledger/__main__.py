"""``python -m cross_domain_autoblocker_ledger``."""

from cross_domain_autoblocker_ledger.cli import run

if __name__ == "__main__":
    run()
