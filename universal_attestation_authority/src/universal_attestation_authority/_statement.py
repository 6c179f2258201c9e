"""The in-toto Statement v1 model: what an attestation says, about which artifacts.

A Statement binds a *predicate* (typed by ``predicateType``) to a set of
*subjects*, each identified by one or more cryptographic digests.  This module
parses and validates Statements strictly (the spec's MUSTs, plus a few
defensive rules: no duplicate JSON keys, known digest algorithms must have the
right hex length) and serialises them canonically, so the bytes we sign are
reproducible.

Reference: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import orjson
import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from universal_attestation_authority.errors import AttestationStatementError

__all__ = [
    "DIGEST_HEX_LENGTHS",
    "PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "ResourceDescriptor",
    "Statement",
    "digest_file",
    "loads_json_strict",
]

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
"""The only ``_type`` accepted (Statement v1)."""

PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
"""The DSSE ``payloadType`` of an in-toto Statement."""

MAX_STATEMENT_BYTES: Final = 4 * 1024 * 1024
MAX_SUBJECTS: Final = 4096

DIGEST_HEX_LENGTHS: Final[Mapping[str, int]] = {
    "md5": 32,
    "sha1": 40,
    "sha224": 56,
    "sha256": 64,
    "sha384": 96,
    "sha512": 128,
    "sha512_224": 56,
    "sha512_256": 64,
    "sha3_224": 56,
    "sha3_256": 64,
    "sha3_384": 96,
    "sha3_512": 128,
    "blake2b": 128,
    "blake2s": 64,
    "blake3": 64,
    "ripemd160": 40,
    "sm3": 64,
    "gitCommit": 40,
    "gitTree": 40,
    "gitBlob": 40,
    "gitTag": 40,
}
"""Digest algorithms whose values must be lowercase hex of a fixed length.

``gitCommit``/``gitTree``/``gitBlob``/``gitTag`` may also be 64 hex (SHA-256
repositories); other algorithm names (``dirHash``, ``goModuleH1``, custom
ones) are accepted as opaque non-empty strings, as the digest-set spec allows.
"""

_GIT_ALGS: Final = frozenset({"gitCommit", "gitTree", "gitBlob", "gitTag"})
_HEX = re.compile(r"^[0-9a-f]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_ALG_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def loads_json_strict(data: bytes | str, *, what: str = "document") -> Any:
    """Parse JSON, refusing duplicate object keys and non-standard constants.

    Two parsers that resolve a duplicate key differently can be made to see two
    different statements under one signature; refusing duplicates closes that.

    Raises:
        AttestationStatementError: the text is not strict JSON.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise AttestationStatementError(
                    f"{what} has the key {key!r} twice",
                    hint="remove the duplicate key; signed JSON must be unambiguous",
                    field=key,
                )
            out[key] = value
        return out

    def no_constant(name: str) -> Any:
        raise AttestationStatementError(
            f"{what} contains {name}, which is not JSON", hint="use a number or a string"
        )

    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        raise AttestationStatementError(
            f"{what} is not UTF-8 text (byte {exc.start})", hint="JSON must be UTF-8 encoded"
        ) from None
    except json.JSONDecodeError as exc:
        raise AttestationStatementError(
            f"{what} is not valid JSON: {exc.msg}",
            hint="check the JSON syntax",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:
        raise AttestationStatementError(
            f"{what} is nested too deeply", hint="flatten the document"
        ) from None


def canonical_json(value: Any, *, floats: bool = True) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, UTF-8.

    That is the canonical form statements have always been signed in.  It is
    computed with orjson (an order of magnitude faster, on the issuing hot
    path) when the two are known to agree: ``value`` holds no float
    (``floats=False``, which :func:`check_json_value` tells) since orjson
    and Python format some floats differently (``1e-05`` against
    ``0.00001``), and orjson accepts it (it refuses integers beyond 64 bits).
    Otherwise the standard library writes it.
    """
    if not floats:
        # try/except rather than contextlib.suppress: no context-manager object
        # per call on the issuing hot path.  The result is copied into a
        # right-sized object: orjson's own output comes from the system
        # allocator via a larger buffer that is then shrunk, and keeping
        # thousands of those alive (statements cache their bytes) measured
        # ~1.4 us more per statement than the copy costs.
        try:
            return memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).tobytes()
        except TypeError:  # an integer beyond 64 bits: the standard library writes it
            return _stdlib_canonical_json(value)
    return _stdlib_canonical_json(value)


def _stdlib_canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def check_json_value(value: Any, where: str) -> bool:
    """Refuse what JSON cannot carry: NaN and infinities, non-string keys, other types.

    The predicate and annotations are free-form; when they come from Python
    (``Statement.build``) or a lenient JSON decoder they could hold values
    that would sign as invalid JSON (``NaN``) or not serialise at all.

    Returns:
        Whether ``value`` holds a float (see :func:`canonical_json`).

    Raises:
        ValueError: naming ``where`` and the offending value.
    """
    floats = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > 512:
            raise ValueError(f"{where} is nested too deeply")
        if isinstance(item, str | int | None):
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValueError(  # noqa: TRY004  # pydantic reports ValueError, not TypeError
                        f"{where} has a non-string key {key!r}"
                    )
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{where} holds {item}, which JSON cannot represent")
            floats = True
        else:
            raise ValueError(  # noqa: TRY004  # pydantic reports ValueError, not TypeError
                f"{where} holds a {type(item).__name__}, which is not a JSON value"
            )
    return floats


class ResourceDescriptor(BaseModel):
    """An artifact (in-toto ResourceDescriptor v1); as a subject it must carry a digest."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    uri: str | None = None
    digest: dict[str, str] = Field(default_factory=dict)
    content: str | None = None
    download_location: str | None = Field(default=None, alias="downloadLocation")
    media_type: str | None = Field(default=None, alias="mediaType")
    annotations: dict[str, Any] | None = None
    _floats: bool = PrivateAttr(default=True)
    """Whether the annotations hold a float (True until validation says otherwise)."""

    @field_validator("digest")
    @classmethod
    def _check_digest(cls, digest: dict[str, str]) -> dict[str, str]:
        for alg, value in digest.items():
            if not _ALG_NAME.match(alg):
                raise ValueError(f"digest algorithm name {alg!r} is not a valid identifier")
            if not value:
                raise ValueError(f"digest {alg} is empty")
            expected = DIGEST_HEX_LENGTHS.get(alg)
            if expected is None:
                continue
            if not _HEX.match(value):
                raise ValueError(f"digest {alg} must be lowercase hex, got {value[:20]!r}")
            if len(value) != expected and not (alg in _GIT_ALGS and len(value) == 64):
                raise ValueError(f"digest {alg} must be {expected} hex digits, got {len(value)}")
        return digest

    @field_validator("content")
    @classmethod
    def _check_content(cls, content: str | None) -> str | None:
        if content is not None:
            try:
                base64.b64decode(content, validate=True)
            except ValueError:
                raise ValueError("content must be standard base64") from None
        return content

    @field_validator("uri", "download_location")
    @classmethod
    def _check_uri(cls, value: str | None) -> str | None:
        if value is not None and not _URI.match(value):
            raise ValueError(f"{value[:40]!r} is not an absolute URI")
        return value

    @model_validator(mode="after")
    def _identified(self) -> ResourceDescriptor:
        if not (self.digest or self.uri or self.content):
            raise ValueError("a resource descriptor needs at least one of digest, uri, content")
        self._floats = check_json_value(self.annotations, "annotations")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The descriptor as the spec's JSON object (camelCase, unset fields left out).

        Written out by hand: it is on the issuing hot path, and an explicit
        mapping keeps the signed bytes independent of pydantic's dump rules.
        """
        fields = self.__dict__  # plain reads; this runs once per subject per issue
        data: dict[str, Any] = {}
        if fields["name"] is not None:
            data["name"] = fields["name"]
        if fields["uri"] is not None:
            data["uri"] = fields["uri"]
        data["digest"] = dict(fields["digest"])
        if fields["content"] is not None:
            data["content"] = fields["content"]
        if fields["download_location"] is not None:
            data["downloadLocation"] = fields["download_location"]
        if fields["media_type"] is not None:
            data["mediaType"] = fields["media_type"]
        if fields["annotations"] is not None:
            data["annotations"] = fields["annotations"]
        return data


class Statement(BaseModel):
    """An in-toto Statement v1: ``predicate`` of ``predicate_type`` about ``subject``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type_: str = Field(default=STATEMENT_TYPE, alias="_type")
    subject: tuple[ResourceDescriptor, ...]
    predicate_type: str = Field(alias="predicateType")
    predicate: dict[str, Any] | None = None
    _floats: bool = PrivateAttr(default=True)
    """Whether any free-form JSON in it holds a float (True until validation says otherwise)."""
    _canonical: bytes | None = PrivateAttr(default=None)
    """canonical_bytes(), once computed."""

    @field_validator("type_")
    @classmethod
    def _check_type(cls, value: str) -> str:
        if value != STATEMENT_TYPE:
            raise ValueError(f"_type must be {STATEMENT_TYPE!r}, got {value[:60]!r}")
        return value

    @field_validator("subject")
    @classmethod
    def _check_subject(
        cls, subject: tuple[ResourceDescriptor, ...]
    ) -> tuple[ResourceDescriptor, ...]:
        if not subject:
            raise ValueError("subject must list at least one artifact")
        if len(subject) > MAX_SUBJECTS:
            raise ValueError(f"subject lists {len(subject)} artifacts; at most {MAX_SUBJECTS}")
        for position, item in enumerate(subject):
            if not item.digest:
                raise ValueError(f"subject[{position}] has no digest; every subject needs one")
        return subject

    @model_validator(mode="after")
    def _check_predicate(self) -> Statement:
        floats = check_json_value(self.predicate, "predicate")
        self._floats = floats or any(item._floats for item in self.subject)
        return self

    @field_validator("predicate_type")
    @classmethod
    def _check_predicate_type(cls, value: str) -> str:
        if not _URI.match(value):
            raise ValueError(f"predicateType must be an absolute URI, got {value[:60]!r}")
        return value

    @classmethod
    def parse(
        cls, data: bytes | str | Mapping[str, Any], *, source: str = "statement"
    ) -> Statement:
        """Parse and validate a Statement from JSON bytes/text or a decoded mapping.

        Raises:
            AttestationStatementError: not a valid Statement v1; the message names
                the field and the rule.
        """
        if isinstance(data, bytes | str):
            if len(data) > MAX_STATEMENT_BYTES:
                raise AttestationStatementError(
                    f"{source} is {len(data)} bytes; the limit is {MAX_STATEMENT_BYTES}",
                    hint="put large evidence behind a ResourceDescriptor uri",
                )
            decoded = loads_json_strict(data, what=source)
        else:
            decoded = data
        if not isinstance(decoded, Mapping):
            raise AttestationStatementError(
                f"{source} must be a JSON object, got {type(decoded).__name__}",
                hint="an in-toto Statement is a JSON object with _type, subject, predicateType",
            )
        try:
            return cls.model_validate(dict(decoded))
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            message = first["msg"].removeprefix("Value error, ")
            raise AttestationStatementError(
                f"{source} is not a valid in-toto Statement v1: {where}: {message}",
                hint="see https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md",
                field=where,
            ) from None

    def to_json_dict(self) -> dict[str, Any]:
        """The Statement as the spec's JSON object."""
        data: dict[str, Any] = {
            "_type": self.type_,
            "subject": [item.to_json_dict() for item in self.subject],
            "predicateType": self.predicate_type,
        }
        if self.predicate is not None:
            data["predicate"] = self.predicate
        return data

    def canonical_bytes(self) -> bytes:
        """Sorted-key, compact UTF-8 JSON: the payload we sign, byte-for-byte reproducible.

        Computed once and kept with the (immutable) statement.  The private
        attributes are read and written through ``__pydantic_private__``
        directly: attribute access to a private field goes through
        ``BaseModel.__getattr__``, and Python 3.11's ``cached_property`` takes
        a lock; on the issuing hot path both cost more than the encoding.
        """
        private = self.__pydantic_private__
        if private is None:  # built without validation (model_construct)
            return canonical_json(self.to_json_dict())
        cached: bytes | None = private.get("_canonical")
        if cached is None:
            cached = private["_canonical"] = canonical_json(
                self.to_json_dict(), floats=private.get("_floats", True)
            )
        return cached

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Statement:
        """A copy; with ``update`` (not validated, as in pydantic) the cached bytes are dropped."""
        copied = super().model_copy(update=update, deep=deep)
        private = copied.__pydantic_private__
        if update and private is not None:
            private["_canonical"] = None
            private["_floats"] = True  # unknown without validation: take the exact path
        return copied

    def subject_names(self) -> list[str]:
        """Names of the subjects (unnamed subjects appear as ``""``)."""
        return [item.name or "" for item in self.subject]

    @classmethod
    def build(
        cls,
        subjects: Iterable[ResourceDescriptor],
        predicate_type: str,
        predicate: Mapping[str, Any] | None = None,
    ) -> Statement:
        """Build and validate a Statement from its parts.

        Raises:
            AttestationStatementError: the parts do not make a valid Statement.
        """
        return cls.parse(
            {
                "_type": STATEMENT_TYPE,
                "subject": [item.to_json_dict() for item in subjects],
                "predicateType": predicate_type,
                "predicate": dict(predicate) if predicate is not None else None,
            }
        )


def digest_file(path: str | Path, *, name: str | None = None) -> ResourceDescriptor:
    """A subject for the file at ``path``: its name and SHA-256 digest, read in chunks.

    Raises:
        AttestationStatementError: the file cannot be read.
    """
    file = Path(path)
    sha = hashlib.sha256()
    try:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
    except OSError as exc:
        raise AttestationStatementError(
            f"cannot read subject file {str(file)!r}: {exc.strerror}",
            hint="check the path and its permissions",
            path=str(file),
        ) from None
    return ResourceDescriptor(name=name or file.name, digest={"sha256": sha.hexdigest()})
