"""Model files: versioned, content-hashed and optionally signed.

Layout of a ``.cdal`` file::

    CDAL-MODEL\\n                  magic line
    {header JSON}\\n               format version, library version, model kind,
                                  payload SHA-256 and size, metadata, signature
    payload                       the pickled pipeline

Loading checks, in order, before anything is unpickled: the magic line, the
format version, the payload's size and SHA-256 and, when a verify key is
given, the Ed25519/ECDSA signature over the header (which covers the payload
hash).  Unpickling then goes through an allow-list (this package's classes,
the NumPy constructors of arrays, dtypes and random generators, and plain
builtins), so even a file whose hash matches cannot name arbitrary callables
such as ``os.system`` or ``numpy.load``.  The hash proves integrity, not
origin: pass a verify key to trust only models you signed.  A corrupted, truncated or foreign file is refused with
:class:`LearnerModelFormatError`; a bad signature with
:class:`LearnerModelSignatureError`.  Writes go to a temporary file renamed
into place, so an existing model is never left half-written.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cross_domain_auto_learner.errors import (
    LearnerInputError,
    LearnerModelFormatError,
    LearnerModelSignatureError,
)
from shared_core.crypto import SigningKey, VerifyKey, sha256
from shared_core.errors import CryptoError

__all__ = ["FORMAT_VERSION", "MAGIC", "dumps_model", "load_model", "loads_model", "save_model"]

MAGIC = b"CDAL-MODEL\n"
FORMAT_VERSION = 1
_MAX_HEADER = 1 << 20

_ALLOWED_NAMES = {
    # the NumPy callables an array, a dtype or a random generator pickles to
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("collections", "deque"),
    ("collections", "OrderedDict"),
} | {
    ("builtins", n)
    for n in (
        "dict",
        "list",
        "set",
        "frozenset",
        "tuple",
        "complex",
        "slice",
        "range",
        "bytearray",
        "float",
        "int",
        "bool",
        "str",
        "bytes",
    )
}


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # our own classes (learners, encoders) by module; everything else by exact name
        allowed = (
            module.startswith("cross_domain_auto_learner.") or (module, name) in _ALLOWED_NAMES
        )
        if module.startswith("numpy.dtypes") and name.endswith("DType"):
            allowed = True
        if not allowed:
            raise LearnerModelFormatError(
                f"model file refers to {module}.{name}, which a model never contains",
                hint="the file is not a cross_domain_auto_learner model; do not load it",
            )
        return super().find_class(module, name)


def _canonical(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def dumps_model(
    obj: Any, *, metadata: dict[str, Any] | None = None, signing_key: SigningKey | None = None
) -> bytes:
    """Serialise ``obj`` (a pipeline or learner) into model-file bytes."""
    from cross_domain_auto_learner import __version__

    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    header: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "library": "cross_domain_auto_learner",
        "library_version": __version__,
        "python": platform.python_version(),
        "kind": type(obj).__name__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "payload_sha256": sha256(payload).hex(),
        "payload_size": len(payload),
        "metadata": metadata or {},
    }
    if signing_key is not None:
        verify_key = signing_key.verify_key
        header["signature"] = {
            "algorithm": str(type(verify_key).algorithm),
            "key_id": verify_key.key_id,
            "value": signing_key.sign(MAGIC + _canonical(header)).hex(),
        }
    return MAGIC + _canonical(header) + b"\n" + payload


def _split(data: bytes, source: str) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise LearnerModelFormatError(
            f"{source}: not a model file (bad magic)",
            hint="pass a file written by 'cdal train --out'",
        )
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise LearnerModelFormatError(f"{source}: truncated header", hint="the file is corrupted")
    try:
        header = json.loads(data[len(MAGIC) : end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise LearnerModelFormatError(
            f"{source}: unreadable header", hint="the file is corrupted"
        ) from None
    if not isinstance(header, dict):
        raise LearnerModelFormatError(
            f"{source}: header is not an object", hint="the file is corrupted"
        )
    return header, data[end + 1 :]


def loads_model(
    data: bytes, *, verify_key: VerifyKey | None = None, source: str = "<bytes>"
) -> tuple[Any, dict[str, Any]]:
    """Check and load model-file bytes; returns ``(object, header)``."""
    header, payload = _split(data, source)
    version = header.get("format")
    if version != FORMAT_VERSION:
        raise LearnerModelFormatError(
            f"{source}: model format {version!r} is not supported (this version reads {FORMAT_VERSION})",
            hint="retrain the model with this version of cross_domain_auto_learner",
        )
    if header.get("payload_size") != len(payload):
        raise LearnerModelFormatError(
            f"{source}: payload is {len(payload)} bytes, header says {header.get('payload_size')!r}",
            hint="the file is truncated or corrupted; restore it from a copy",
        )
    if header.get("payload_sha256") != sha256(payload).hex():
        raise LearnerModelFormatError(
            f"{source}: content hash mismatch",
            hint="the file is corrupted or was modified; restore it from a copy",
        )
    if verify_key is not None:
        sig = header.get("signature")
        if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
            raise LearnerModelSignatureError(
                f"{source}: the model is not signed", hint="sign it with 'cdal train --sign-key'"
            )
        unsigned = {k: v for k, v in header.items() if k != "signature"}
        try:
            verify_key.verify(MAGIC + _canonical(unsigned), bytes.fromhex(sig["value"]))
        except (CryptoError, ValueError):
            raise LearnerModelSignatureError(
                f"{source}: signature does not verify with key {verify_key.key_id}",
                hint="the model was modified or signed by another key",
            ) from None
    try:
        obj = _AllowListUnpickler(io.BytesIO(payload)).load()
    except LearnerModelFormatError:
        raise
    except Exception as exc:  # a hash-valid but incompatible pickle (e.g. a class moved)
        raise LearnerModelFormatError(
            f"{source}: model cannot be loaded by this version: {type(exc).__name__}",
            hint="retrain the model with this version of cross_domain_auto_learner",
        ) from None
    return obj, header


def save_model(
    path: str | Path,
    obj: Any,
    *,
    metadata: dict[str, Any] | None = None,
    signing_key: SigningKey | None = None,
) -> dict[str, Any]:
    """Write a model file atomically; returns its header."""
    data = dumps_model(obj, metadata=metadata, signing_key=signing_key)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, p)
    except OSError as exc:
        raise LearnerInputError(
            f"cannot write model to {str(p)!r}: {exc.strerror or exc}",
            hint="check the directory exists and is writable",
        ) from None
    return _split(data, str(p))[0]


def load_model(
    path: str | Path, *, verify_key: VerifyKey | None = None
) -> tuple[Any, dict[str, Any]]:
    """Read and check a model file; returns ``(object, header)``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LearnerInputError(
            f"cannot read model {str(p)!r}: {exc.strerror or exc}", hint="check the path"
        ) from None
    return loads_model(data, verify_key=verify_key, source=str(p))
