"""in-toto attestations in DSSE envelopes, a C2SP transparency log with witnesses, and an HTTP service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("universal_attestation_authority")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from universal_attestation_authority.config import AttestationSettings
from universal_attestation_authority.errors import AttestationError, AttestationInputError

__all__ = ["AttestationError", "AttestationInputError", "AttestationSettings", "__version__"]
