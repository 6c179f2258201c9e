"""Shared foundations of the internal-tools systems.

Import the submodules by name; this package keeps its top level small:

* :mod:`shared_core.errors` - the root error and its kinds
* :mod:`shared_core.logging` - structlog configured once
* :mod:`shared_core.telemetry` - OpenTelemetry spans and Prometheus metrics
* :mod:`shared_core.config` - settings: defaults < TOML < env < CLI
* :mod:`shared_core.concurrency` - anyio timeouts, retries, rate limits, bounded maps
* :mod:`shared_core.crypto` - signatures, hashing, AEAD, DSSE, Merkle trees, signed notes
* :mod:`shared_core.cli` - the plumbing every system's command line shares
* :mod:`shared_core.testing` - fixtures for other packages' tests
"""

from importlib.metadata import PackageNotFoundError, version

from shared_core.errors import (
    ConcurrencyError,
    ConfigError,
    CoreError,
    CryptoError,
    DeadlineExceededError,
    ErrorKind,
    ExitCode,
    IoError,
    SystemSpecificError,
    ValidationError,
)

try:
    __version__ = version("shared_core")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "ConcurrencyError",
    "ConfigError",
    "CoreError",
    "CryptoError",
    "DeadlineExceededError",
    "ErrorKind",
    "ExitCode",
    "IoError",
    "SystemSpecificError",
    "ValidationError",
    "__version__",
]
