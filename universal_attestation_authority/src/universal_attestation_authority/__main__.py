"""``python -m universal_attestation_authority``."""

from universal_attestation_authority.cli import run

if __name__ == "__main__":
    run()
