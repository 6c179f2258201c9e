"""Print universal_attestation_authority's effective settings as JSON, the way a wrapper script would read them."""

from universal_attestation_authority.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
