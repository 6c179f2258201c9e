"""in-toto attestations in DSSE envelopes, a C2SP transparency log with witnesses, and an HTTP service.

The public API, by concern:

* statements: :class:`Statement`, :class:`ResourceDescriptor`, :func:`digest_file`
* keys: :class:`Keyring`, :class:`KeyRecord`, :class:`KeyStatus`
* issuing: :class:`Authority` (data directory, keys, :meth:`Authority.issue_many`)
* verifying: :class:`Policy`, :func:`verify_bundle` -> :class:`Verdict` / :class:`Failure`,
  :class:`Bundle`, :class:`LogEvidence`, :class:`LogEntry`
* the log: :class:`TransparencyLog`, :class:`SqliteStore`, tlog-tiles helpers
  (:class:`TileRef`, :func:`parse_tile_path`, :class:`TileHashReader`, entry bundles),
  offline checks (:func:`verify_entry_offline`, :func:`export_tiles`)
* witnesses: :class:`Witness`, :class:`WitnessPool`, :class:`WitnessEndpoint`
* HTTP: :func:`create_app`, :func:`create_witness_app`, :class:`ServiceConfig`
* gRPC (``attestation.AttestationAuthority``): :func:`create_grpc_server`,
  :class:`GrpcServer`, :class:`GrpcTls`
* TLS without prepared files: :class:`CertificateAuthority` (the authority's own CA),
  :class:`IssuedCertificate`
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("universal_attestation_authority")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from universal_attestation_authority._authority import Authority, IssuedAttestation
from universal_attestation_authority._bundle import BUNDLE_MEDIA_TYPE, Bundle, LogEvidence
from universal_attestation_authority._ca import CertificateAuthority, IssuedCertificate
from universal_attestation_authority._entry import LogEntry, attestation_id
from universal_attestation_authority._keyring import KeyRecord, Keyring, KeyStatus
from universal_attestation_authority._log import TransparencyLog
from universal_attestation_authority._offline import (
    OfflineResult,
    export_tiles,
    verify_entry_offline,
)
from universal_attestation_authority._policy import (
    AttestationRevocation,
    LogRequirement,
    Policy,
    PolicyRule,
)
from universal_attestation_authority._statement import (
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    ResourceDescriptor,
    Statement,
    digest_file,
)
from universal_attestation_authority._store import SqliteStore
from universal_attestation_authority._tiles import (
    TileHashReader,
    TileRef,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_tile_index,
    parse_tile_path,
    tiles_for_size,
)
from universal_attestation_authority._verify import Failure, Verdict, verify_bundle
from universal_attestation_authority._witness import (
    SplitViewEvidence,
    Witness,
    WitnessEndpoint,
    WitnessPool,
)
from universal_attestation_authority.config import AttestationSettings
from universal_attestation_authority.errors import (
    AttestationAuthError,
    AttestationEnvelopeError,
    AttestationError,
    AttestationInputError,
    AttestationKeyError,
    AttestationLogError,
    AttestationPolicyError,
    AttestationProofError,
    AttestationSplitViewError,
    AttestationStatementError,
    AttestationStoreError,
    AttestationTileError,
    AttestationTlsError,
    AttestationVerifyError,
    AttestationWitnessError,
)

if TYPE_CHECKING:
    from universal_attestation_authority._grpc import GrpcServer, GrpcTls, create_grpc_server
    from universal_attestation_authority._service import (
        ServiceConfig,
        create_app,
        create_witness_app,
    )

_LAZY = frozenset({"ServiceConfig", "create_app", "create_witness_app"})
_LAZY_GRPC = frozenset({"GrpcServer", "GrpcTls", "create_grpc_server"})


def __getattr__(name: str) -> Any:
    # The HTTP layer pulls in FastAPI; load it on first use so the CLI and the
    # library start fast when they do not serve.
    if name in _LAZY:
        from universal_attestation_authority import _service

        return getattr(_service, name)
    if name in _LAZY_GRPC:
        from universal_attestation_authority import _grpc

        return getattr(_grpc, name)
    raise AttributeError(f"module 'universal_attestation_authority' has no attribute {name!r}")


__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "AttestationAuthError",
    "AttestationEnvelopeError",
    "AttestationError",
    "AttestationInputError",
    "AttestationKeyError",
    "AttestationLogError",
    "AttestationPolicyError",
    "AttestationProofError",
    "AttestationRevocation",
    "AttestationSettings",
    "AttestationSplitViewError",
    "AttestationStatementError",
    "AttestationStoreError",
    "AttestationTileError",
    "AttestationTlsError",
    "AttestationVerifyError",
    "AttestationWitnessError",
    "Authority",
    "Bundle",
    "CertificateAuthority",
    "Failure",
    "GrpcServer",
    "GrpcTls",
    "IssuedAttestation",
    "IssuedCertificate",
    "KeyRecord",
    "KeyStatus",
    "Keyring",
    "LogEntry",
    "LogEvidence",
    "LogRequirement",
    "OfflineResult",
    "Policy",
    "PolicyRule",
    "ResourceDescriptor",
    "ServiceConfig",
    "SplitViewEvidence",
    "SqliteStore",
    "Statement",
    "TileHashReader",
    "TileRef",
    "TransparencyLog",
    "Verdict",
    "Witness",
    "WitnessEndpoint",
    "WitnessPool",
    "__version__",
    "attestation_id",
    "create_app",
    "create_grpc_server",
    "create_witness_app",
    "decode_entry_bundle",
    "digest_file",
    "encode_entry_bundle",
    "encode_tile_index",
    "export_tiles",
    "parse_tile_path",
    "tiles_for_size",
    "verify_bundle",
    "verify_entry_offline",
]
