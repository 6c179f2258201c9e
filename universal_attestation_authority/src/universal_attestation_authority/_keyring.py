"""The key registry: which public keys were valid when, and which are revoked.

A key's life is a half-open interval ``[valid_from, valid_until)``.  Rotating
closes the old key's interval at the rotation instant and opens the new one's
there, and the old key stays published: an attestation signed while it was
current keeps verifying forever after.  Revocation is different: it says the
key must not be trusted *from* ``revoked_at`` on (backdate it to the suspected
compromise), so signatures made at or after that instant fail while earlier
ones, proven earlier by the transparency log, still hold.

The registry serialises to a JSON *trust root* (``uaa keys export``) that
policies load; key IDs are the hex SHA-256 of the SubjectPublicKeyInfo DER, so
they are the same in PEM files, DSSE envelopes and securesystemslib.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from shared_core.crypto import VerifyKey, load_public_pem
from shared_core.errors import CryptoError
from universal_attestation_authority._clock import format_time, parse_time, utcnow
from universal_attestation_authority.errors import AttestationInputError, AttestationKeyError

__all__ = ["KEYRING_FORMAT", "KeyRecord", "KeyStatus", "Keyring"]

KEYRING_FORMAT: Final = "uaa-keyring/v1"


@functools.lru_cache(maxsize=4096)
def _parse_public_pem(pem: str) -> VerifyKey:
    # Verification parses the same few keys again and again; keys are immutable.
    return load_public_pem(pem.encode("ascii"))


class KeyStatus(StrEnum):
    """Whether a key may be trusted for a signature made at a given instant."""

    VALID = "valid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class KeyRecord:
    """One public key and its validity period.

    Attributes:
        keyid: hex SHA-256 of the key's SubjectPublicKeyInfo DER.
        name: a human label (``builder-2026``); unique within a keyring.
        public_pem: the SubjectPublicKeyInfo PEM text.
        valid_from: first instant the key may sign.
        valid_until: first instant it may no longer sign (set by rotation), or None.
        revoked_at: from this instant on the key is not trusted, or None.
        revocation_reason: why, for the audit trail.
        replaced_by: keyid of the key that took over at ``valid_until``.
    """

    keyid: str
    name: str
    public_pem: str
    valid_from: datetime
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    replaced_by: str | None = None

    @classmethod
    def from_verify_key(
        cls, key: VerifyKey, name: str, *, valid_from: datetime | None = None
    ) -> KeyRecord:
        return cls(
            keyid=key.key_id,
            name=name,
            public_pem=key.to_pem().decode("ascii"),
            valid_from=valid_from or utcnow(),
        )

    @property
    def algorithm(self) -> str:
        return str(self.verify_key().algorithm)

    def verify_key(self) -> VerifyKey:
        """The key itself, parsed from PEM.

        Raises:
            AttestationKeyError: the stored PEM is not a supported public key.
        """
        try:
            return _parse_public_pem(self.public_pem)
        except (CryptoError, UnicodeEncodeError) as exc:
            raise AttestationKeyError(
                f"key {self.name!r} has an unusable public key: {exc}",
                hint="re-export the key as PEM (uaa keys export)",
                keyid=self.keyid,
            ) from None

    def status_at(self, instant: datetime) -> KeyStatus:
        """The key's status for a signature made at ``instant``."""
        if self.revoked_at is not None and instant >= self.revoked_at:
            return KeyStatus.REVOKED
        if instant < self.valid_from:
            return KeyStatus.NOT_YET_VALID
        if self.valid_until is not None and instant >= self.valid_until:
            return KeyStatus.EXPIRED
        return KeyStatus.VALID

    def describe_status(self, instant: datetime) -> str:
        """``status_at`` as a sentence naming the boundary that applies."""
        status = self.status_at(instant)
        when = format_time(instant)
        if status is KeyStatus.REVOKED and self.revoked_at is not None:
            reason = f" ({self.revocation_reason})" if self.revocation_reason else ""
            return f"key {self.name!r} was revoked at {format_time(self.revoked_at)}{reason}; signature time {when}"
        if status is KeyStatus.NOT_YET_VALID:
            return f"key {self.name!r} is valid from {format_time(self.valid_from)}; signature time {when}"
        if status is KeyStatus.EXPIRED and self.valid_until is not None:
            return f"key {self.name!r} was retired at {format_time(self.valid_until)}; signature time {when}"
        return f"key {self.name!r} is valid at {when}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "keyid": self.keyid,
            "name": self.name,
            "algorithm": self.algorithm,
            "public_key": self.public_pem,
            "valid_from": format_time(self.valid_from),
        }
        if self.valid_until is not None:
            data["valid_until"] = format_time(self.valid_until)
        if self.replaced_by is not None:
            data["replaced_by"] = self.replaced_by
        if self.revoked_at is not None:
            data["revoked_at"] = format_time(self.revoked_at)
            data["revocation_reason"] = self.revocation_reason or ""
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "key") -> KeyRecord:
        """Parse one published key, checking its keyid against its public key.

        Raises:
            AttestationInputError: a field is missing or wrong.
        """
        if not isinstance(data, Mapping):
            raise AttestationInputError(f"{where} must be an object", field=where)
        pem = data.get("public_key")
        name = data.get("name")
        if not isinstance(pem, str) or not isinstance(name, str) or not name:
            raise AttestationInputError(
                f"{where} needs a 'name' and a PEM 'public_key'", field=where
            )
        try:
            # Cached: issuing reads the stored keyring once per batch.
            key = _parse_public_pem(pem) if pem.isascii() else load_public_pem(pem.encode())
        except CryptoError as exc:
            raise AttestationInputError(
                f"{where} ({name!r}): {exc.message}", hint=exc.hint, field=where
            ) from None
        keyid = data.get("keyid", key.key_id)
        if keyid != key.key_id:
            raise AttestationInputError(
                f"{where} ({name!r}): keyid {str(keyid)[:16]}... does not match its public key",
                hint="the keyid is the hex SHA-256 of the key's SubjectPublicKeyInfo DER",
                field=where,
            )

        def when(field: str) -> datetime | None:
            value = data.get(field)
            return None if value is None else parse_time(value, field=f"{where}.{field}")

        valid_from = when("valid_from")
        record = cls(
            keyid=key.key_id,
            name=name,
            public_pem=key.to_pem().decode("ascii"),
            valid_from=valid_from if valid_from is not None else datetime.min.replace(tzinfo=UTC),
            valid_until=when("valid_until"),
            revoked_at=when("revoked_at"),
            revocation_reason=data.get("revocation_reason") or None,
            replaced_by=data.get("replaced_by") or None,
        )
        if record.valid_until is not None and record.valid_until <= record.valid_from:
            raise AttestationInputError(
                f"{where} ({name!r}): valid_until is not after valid_from", field=where
            )
        return record


class Keyring:
    """A set of :class:`KeyRecord` keyed by keyid, with unique names."""

    def __init__(self, records: Mapping[str, KeyRecord] | None = None) -> None:
        self._records: dict[str, KeyRecord] = dict(records or {})

    def __iter__(self) -> Iterator[KeyRecord]:
        return iter(sorted(self._records.values(), key=lambda r: (r.valid_from, r.name)))

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, keyid: object) -> bool:
        return keyid in self._records

    def get(self, keyid: str) -> KeyRecord | None:
        return self._records.get(keyid)

    def resolve(self, ref: str) -> KeyRecord:
        """The record whose keyid or name is ``ref``.

        Raises:
            AttestationKeyError: no such key.
        """
        record = self._records.get(ref)
        if record is not None:
            return record
        for candidate in self._records.values():
            if candidate.name == ref:
                return candidate
        raise AttestationKeyError(
            f"no key named or with keyid {ref!r} in the keyring",
            hint="list keys with 'uaa keys list'",
            key=ref,
        )

    def add(self, record: KeyRecord) -> KeyRecord:
        """Add a key; a keyid or name already present is refused.

        Raises:
            AttestationKeyError: duplicate keyid or name.
        """
        if record.keyid in self._records:
            raise AttestationKeyError(
                f"key {record.keyid[:16]}... is already in the keyring as {self._records[record.keyid].name!r}",
                hint="import each key once",
            )
        if any(r.name == record.name for r in self._records.values()):
            raise AttestationKeyError(
                f"a key named {record.name!r} is already in the keyring", hint="choose another name"
            )
        self._records[record.keyid] = record
        return record

    def rotate(
        self, old: str, new: KeyRecord, *, at: datetime | None = None
    ) -> tuple[KeyRecord, KeyRecord]:
        """Retire ``old`` at ``at`` (default now) and make ``new`` valid from then.

        Returns:
            The updated old record and the added new one.

        Raises:
            AttestationKeyError: ``old`` is unknown, already retired or revoked.
        """
        instant = at or utcnow()
        previous = self.resolve(old)
        if previous.valid_until is not None:
            raise AttestationKeyError(
                f"key {previous.name!r} was already retired at {format_time(previous.valid_until)}",
                hint="rotate the key that replaced it",
            )
        if previous.revoked_at is not None:
            raise AttestationKeyError(
                f"key {previous.name!r} is revoked; add a new key instead of rotating",
                hint="use 'uaa keys add'",
            )
        if instant <= previous.valid_from:
            raise AttestationKeyError(
                f"rotation time {format_time(instant)} is not after key {previous.name!r} became valid",
                hint="rotate at a later time",
            )
        added = self.add(replace(new, valid_from=instant))
        retired = replace(previous, valid_until=instant, replaced_by=added.keyid)
        self._records[retired.keyid] = retired
        return retired, added

    def revoke(self, ref: str, *, at: datetime | None = None, reason: str = "") -> KeyRecord:
        """Distrust the key from ``at`` (default now) on; an earlier revocation wins.

        Raises:
            AttestationKeyError: the key is unknown.
        """
        instant = at or utcnow()
        record = self.resolve(ref)
        if record.revoked_at is not None and record.revoked_at <= instant:
            return record
        revoked = replace(record, revoked_at=instant, revocation_reason=reason or "revoked")
        self._records[record.keyid] = revoked
        return revoked

    def current(self, instant: datetime | None = None) -> list[KeyRecord]:
        """Keys valid at ``instant`` (default now)."""
        when = instant or utcnow()
        return [r for r in self if r.status_at(when) is KeyStatus.VALID]

    def to_dict(self) -> dict[str, Any]:
        return {"format": KEYRING_FORMAT, "keys": [r.to_dict() for r in self]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "keyring") -> Keyring:
        """Parse a published keyring.

        Raises:
            AttestationInputError: not a ``uaa-keyring/v1`` document.
        """
        if not isinstance(data, Mapping) or data.get("format") != KEYRING_FORMAT:
            raise AttestationInputError(
                f"{source} is not a {KEYRING_FORMAT} document",
                hint="export one with 'uaa keys export'",
            )
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise AttestationInputError(f"{source} has no 'keys' list", field="keys")
        ring = cls()
        for index, item in enumerate(keys):
            record = KeyRecord.from_dict(item, where=f"{source} keys[{index}]")
            try:
                ring.add(record)
            except AttestationKeyError as exc:
                raise AttestationInputError(f"{source} keys[{index}]: {exc.message}") from None
        return ring
