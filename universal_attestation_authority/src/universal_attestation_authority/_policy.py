"""The policy file: who may attest what, about which subjects, and when.

A policy is TOML (or the same structure as JSON)::

    version = 1
    keyring = "keys.json"              # optional: a published uaa-keyring/v1

    [[keys]]                           # optional: keys given inline
    name = "ci-2026"
    public_key = "ci-2026.pub"         # a PEM file (relative to the policy) or PEM text
    valid_from = "2026-01-01T00:00:00Z"

    [[rules]]
    name = "wheels-from-ci"
    predicate_types = ["https://slsa.dev/provenance/v1"]   # exact or glob
    subjects = ["dist/*.whl"]          # globs on subject names; every subject must match
    keys = ["ci-2026", "ci-2025"]      # names or keyids
    threshold = 1
    not_before = "2026-01-01T00:00:00Z"
    not_after = "2027-01-01T00:00:00Z"

    [log]                              # proof of inclusion in the transparency log
    required = true
    verifier_keys = ["attest.example/log+0a1b2c3d+AQ..."]
    witnesses = ["w1.example+...+BA...", "w2.example+...+BA..."]
    witness_threshold = 2

    [[revocations.keys]]
    key = "ci-2025"
    at = "2026-03-01T00:00:00Z"
    reason = "laptop stolen"

    [[revocations.attestations]]
    id = "3f5a...e1"                   # sha256 of the envelope's PAE
    at = "2026-04-01T00:00:00Z"

Parsing resolves every reference (key names in rules, files, verifier keys) up
front, so a policy that loads is a policy that can be evaluated; mistakes
are :class:`AttestationPolicyError` naming the field.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared_core.crypto import NoteVerifier, load_public_pem
from shared_core.errors import CoreError, CryptoError
from universal_attestation_authority._clock import parse_time
from universal_attestation_authority._keyring import KeyRecord, Keyring
from universal_attestation_authority.errors import AttestationInputError, AttestationPolicyError

__all__ = [
    "AttestationRevocation",
    "LogRequirement",
    "Policy",
    "PolicyRule",
]

_MAX_POLICY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PolicyRule:
    """One authorisation: ``keys`` may attest ``predicate_types`` about ``subjects``."""

    name: str
    predicate_types: tuple[str, ...]
    subjects: tuple[str, ...]
    keyids: tuple[str, ...]
    threshold: int = 1
    not_before: datetime | None = None
    not_after: datetime | None = None

    def matches_predicate_type(self, predicate_type: str) -> bool:
        return any(
            pattern == predicate_type or fnmatch.fnmatchcase(predicate_type, pattern)
            for pattern in self.predicate_types
        )

    def unmatched_subjects(self, names: Sequence[str]) -> list[str]:
        """Subject names no pattern of this rule covers (empty: all covered)."""
        return [
            name
            for name in names
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.subjects)
        ]


@dataclass(frozen=True)
class LogRequirement:
    """What proof of logging a verification demands."""

    required: bool = False
    verifiers: tuple[NoteVerifier, ...] = ()
    witnesses: tuple[NoteVerifier, ...] = ()
    witness_threshold: int = 0

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.verifiers)


@dataclass(frozen=True)
class AttestationRevocation:
    """An attestation (by PAE digest) that must not verify from ``at`` on."""

    attestation_id: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    """A parsed, fully resolved policy; see the module docstring for the file format."""

    rules: tuple[PolicyRule, ...]
    keyring: Keyring
    log: LogRequirement = field(default_factory=LogRequirement)
    revoked_attestations: tuple[AttestationRevocation, ...] = ()
    source: str = "policy"

    def rules_for(self, predicate_type: str) -> list[PolicyRule]:
        return [r for r in self.rules if r.matches_predicate_type(predicate_type)]

    def attestation_revocation(self, attestation_id: str) -> AttestationRevocation | None:
        for revocation in self.revoked_attestations:
            if revocation.attestation_id == attestation_id:
                return revocation
        return None

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and resolve a TOML or JSON policy file.

        Raises:
            AttestationPolicyError: unreadable, malformed or with dangling references.
        """
        file = Path(path)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise AttestationPolicyError(
                f"cannot read policy {str(file)!r}: {exc.strerror}",
                hint="check the path given to --policy",
                path=str(file),
            ) from None
        return cls.loads(raw, base_dir=file.parent, source=str(file))

    @classmethod
    def loads(
        cls,
        raw: bytes | str,
        *,
        base_dir: Path | None = None,
        source: str = "policy",
        allow_files: bool = True,
    ) -> Policy:
        """Parse a policy from TOML or JSON text; ``base_dir`` resolves relative paths.

        ``allow_files=False`` refuses file references (``keyring``, key paths):
        for policies that arrive over the network, which must not make the
        server read its own files.

        Raises:
            AttestationPolicyError: malformed or with dangling references.
        """
        if len(raw) > _MAX_POLICY_BYTES:
            raise AttestationPolicyError(f"{source} is larger than 1 MiB", path=source)
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise AttestationPolicyError(f"{source} is not UTF-8 text", path=source) from None
        document: Any
        if text.lstrip().startswith("{"):
            try:
                document = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise AttestationPolicyError(
                    f"{source} is not valid JSON: {exc}", hint="check the syntax", path=source
                ) from None
        else:
            try:
                document = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise AttestationPolicyError(
                    f"{source} is not valid TOML: {exc}", hint="see https://toml.io", path=source
                ) from None
        return _Parser(source, base_dir or Path.cwd(), allow_files=allow_files).policy(document)


class _Parser:
    """Turns the decoded document into a :class:`Policy`, naming every bad field."""

    def __init__(self, source: str, base_dir: Path, *, allow_files: bool = True) -> None:
        self.allow_files = allow_files
        self.source = source
        self.base_dir = base_dir

    def fail(self, where: str, message: str, hint: str | None = None) -> AttestationPolicyError:
        return AttestationPolicyError(
            f"{self.source}: {where}: {message}",
            hint=hint or "see docs/SPEC.md, 'Policy files'",
            path=self.source,
            field=where,
        )

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be a table/object")
        return value

    def strings(self, value: Any, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(where, "must be a list of non-empty strings")
        if not value and not allow_empty:
            raise self.fail(where, "must not be empty")
        return tuple(value)

    def time(self, value: Any, where: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise self.fail(where, "has no time zone", "append Z for UTC")
            return parse_time(value)
        try:
            return parse_time(value, field=where)
        except AttestationInputError as exc:
            raise self.fail(where, exc.message, exc.hint) from None

    def known(self, data: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                where,
                f"unknown field {unknown[0]!r}",
                f"known fields: {', '.join(sorted(allowed))}",
            )

    def policy(self, document: Any) -> Policy:
        doc = self.table(document, "(top level)")
        self.known(
            doc, "(top level)", {"version", "keyring", "keys", "rules", "log", "revocations"}
        )
        if doc.get("version", 1) != 1:
            raise self.fail(
                "version", f"unsupported version {doc.get('version')!r}", "use version = 1"
            )
        keyring = self.keyring(doc)
        rules = self.rules(doc.get("rules"), keyring)
        log = self.log(doc.get("log"))
        revoked = self.revocations(doc.get("revocations"), keyring)
        return Policy(rules, keyring, log, revoked, self.source)

    def keyring(self, doc: Mapping[str, Any]) -> Keyring:
        ring = Keyring()
        ref = doc.get("keyring")
        if ref is not None:
            if not isinstance(ref, str):
                raise self.fail("keyring", "must be a path to a uaa-keyring/v1 JSON file")
            if not self.allow_files:
                raise self.fail(
                    "keyring",
                    "file references are not allowed here",
                    "give keys inline as PEM under [[keys]]",
                )
            path = self.base_dir / ref
            try:
                published = Keyring.from_dict(json.loads(path.read_text("utf-8")), source=str(path))
            except OSError as exc:
                raise self.fail("keyring", f"cannot read {str(path)!r}: {exc.strerror}") from None
            except ValueError:  # NUL in the path
                raise self.fail("keyring", "is not a usable path") from None
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise self.fail("keyring", f"{str(path)!r} is not JSON: {exc}") from None
            except AttestationInputError as exc:
                raise self.fail("keyring", exc.message, exc.hint) from None
            for record in published:
                ring.add(record)
        keys = doc.get("keys", [])
        if not isinstance(keys, list):
            raise self.fail("keys", "must be a list of tables")
        for index, item in enumerate(keys):
            where = f"keys[{index}]"
            entry = self.table(item, where)
            self.known(entry, where, {"name", "public_key", "valid_from", "valid_until"})
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise self.fail(f"{where}.name", "is required")
            pem = self.public_key(entry.get("public_key"), f"{where}.public_key")
            try:
                key = load_public_pem(pem)
            except CryptoError as exc:
                raise self.fail(f"{where}.public_key", exc.message, exc.hint) from None
            valid_from = self.time(entry.get("valid_from"), f"{where}.valid_from")
            record = KeyRecord.from_dict(
                {
                    "name": name,
                    "public_key": key.to_pem().decode("ascii"),
                    **({"valid_from": valid_from} if valid_from else {}),
                },
                where=where,
            )
            until = self.time(entry.get("valid_until"), f"{where}.valid_until")
            if until is not None:
                if until <= record.valid_from:
                    raise self.fail(f"{where}.valid_until", "is not after valid_from")
                record = KeyRecord(
                    record.keyid, record.name, record.public_pem, record.valid_from, until
                )
            try:
                ring.add(record)
            except CoreError as exc:
                raise self.fail(where, exc.message) from None
        return ring

    def public_key(self, value: Any, where: str) -> bytes:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "must be a PEM public key or the path of one")
        if "-----BEGIN" in value:
            return value.encode("utf-8")
        if not self.allow_files:
            raise self.fail(
                where, "file references are not allowed here", "give the key inline as PEM"
            )
        path = self.base_dir / value
        try:
            return path.read_bytes()
        except OSError as exc:
            raise self.fail(where, f"cannot read {str(path)!r}: {exc.strerror}") from None
        except ValueError:  # NUL in the path
            raise self.fail(where, "is not a usable path") from None

    def rules(self, value: Any, keyring: Keyring) -> tuple[PolicyRule, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("rules", "at least one [[rules]] table is required")
        rules: list[PolicyRule] = []
        for index, item in enumerate(value):
            where = f"rules[{index}]"
            entry = self.table(item, where)
            self.known(
                entry,
                where,
                {
                    "name",
                    "predicate_types",
                    "subjects",
                    "keys",
                    "threshold",
                    "not_before",
                    "not_after",
                },
            )
            name = entry.get("name", where)
            if not isinstance(name, str) or not name:
                raise self.fail(f"{where}.name", "must be a non-empty string")
            if any(r.name == name for r in rules):
                raise self.fail(f"{where}.name", f"rule name {name!r} is used twice")
            keyids: list[str] = []
            for ref in self.strings(entry.get("keys"), f"{where}.keys"):
                try:
                    keyids.append(keyring.resolve(ref).keyid)
                except CoreError:
                    raise self.fail(
                        f"{where}.keys",
                        f"no key named or with keyid {ref!r}",
                        "declare it under [[keys]] or in the keyring file",
                    ) from None
            threshold = entry.get("threshold", 1)
            if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
                raise self.fail(f"{where}.threshold", "must be an integer >= 1")
            if threshold > len(set(keyids)):
                raise self.fail(
                    f"{where}.threshold",
                    f"is {threshold} but the rule lists only {len(set(keyids))} distinct key(s)",
                )
            not_before = self.time(entry.get("not_before"), f"{where}.not_before")
            not_after = self.time(entry.get("not_after"), f"{where}.not_after")
            if not_before and not_after and not_after <= not_before:
                raise self.fail(f"{where}.not_after", "is not after not_before")
            rules.append(
                PolicyRule(
                    name=name,
                    predicate_types=self.strings(
                        entry.get("predicate_types"), f"{where}.predicate_types"
                    ),
                    subjects=self.strings(entry.get("subjects", ["*"]), f"{where}.subjects"),
                    keyids=tuple(dict.fromkeys(keyids)),
                    threshold=threshold,
                    not_before=not_before,
                    not_after=not_after,
                )
            )
        return tuple(rules)

    def verifiers(self, value: Any, where: str) -> tuple[NoteVerifier, ...]:
        out: list[NoteVerifier] = []
        for index, text in enumerate(self.strings(value, where, allow_empty=True)):
            try:
                out.append(NoteVerifier.parse(text))
            except CoreError as exc:
                raise self.fail(
                    f"{where}[{index}]", exc.message, "copy the key from 'uaa log keys'"
                ) from None
        return tuple(out)

    def log(self, value: Any) -> LogRequirement:
        if value is None:
            return LogRequirement()
        entry = self.table(value, "log")
        self.known(entry, "log", {"required", "verifier_keys", "witnesses", "witness_threshold"})
        required = entry.get("required", True)
        if not isinstance(required, bool):
            raise self.fail("log.required", "must be true or false")
        verifiers = self.verifiers(entry.get("verifier_keys", []), "log.verifier_keys")
        if required and not verifiers:
            raise self.fail("log.verifier_keys", "a required log needs the log's verifier key")
        witnesses = self.verifiers(entry.get("witnesses", []), "log.witnesses")
        threshold = entry.get("witness_threshold", len(witnesses))
        if (
            not isinstance(threshold, int)
            or isinstance(threshold, bool)
            or not 0 <= threshold <= len(witnesses)
        ):
            raise self.fail(
                "log.witness_threshold", f"must be an integer between 0 and {len(witnesses)}"
            )
        return LogRequirement(required, verifiers, witnesses, threshold)

    def revocations(self, value: Any, keyring: Keyring) -> tuple[AttestationRevocation, ...]:
        if value is None:
            return ()
        entry = self.table(value, "revocations")
        self.known(entry, "revocations", {"keys", "attestations"})
        for index, item in enumerate(entry.get("keys", []) or []):
            where = f"revocations.keys[{index}]"
            data = self.table(item, where)
            self.known(data, where, {"key", "at", "reason"})
            ref = data.get("key")
            if not isinstance(ref, str):
                raise self.fail(f"{where}.key", "must name a key")
            at = self.time(data.get("at"), f"{where}.at")
            if at is None:
                raise self.fail(f"{where}.at", "is required: from when is the key distrusted?")
            try:
                keyring.revoke(ref, at=at, reason=str(data.get("reason", "")))
            except CoreError:
                raise self.fail(f"{where}.key", f"no key named or with keyid {ref!r}") from None
        revoked: list[AttestationRevocation] = []
        for index, item in enumerate(entry.get("attestations", []) or []):
            where = f"revocations.attestations[{index}]"
            data = self.table(item, where)
            self.known(data, where, {"id", "at", "reason"})
            ident = data.get("id")
            if (
                not isinstance(ident, str)
                or len(ident) != 64
                or not all(c in "0123456789abcdef" for c in ident)
            ):
                raise self.fail(f"{where}.id", "must be the 64-hex attestation id")
            at = self.time(data.get("at"), f"{where}.at")
            revoked.append(
                AttestationRevocation(
                    ident, at or datetime.min.replace(tzinfo=UTC), str(data.get("reason", ""))
                )
            )
        return tuple(revoked)
