"""Timestamps: timezone-aware UTC everywhere, RFC 3339 on the wire.

Validity windows, rotations and revocations are all comparisons of instants;
mixing naive and aware datetimes (or local time) silently shifts them, so
every time that enters the system goes through :func:`parse_time`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from universal_attestation_authority.errors import AttestationInputError

__all__ = ["format_time", "parse_time", "utcnow"]


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def parse_time(value: str | datetime, *, field: str = "time") -> datetime:
    """An aware UTC datetime from RFC 3339 text (``Z`` or an offset) or a datetime.

    Raises:
        AttestationInputError: the text is not an RFC 3339 timestamp with a zone.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise AttestationInputError(
                f"{field} {value[:40]!r} is not an RFC 3339 timestamp",
                hint="write e.g. 2026-01-31T12:00:00Z",
                field=field,
            ) from None
    else:
        raise AttestationInputError(
            f"{field} must be an RFC 3339 string, got {type(value).__name__}",
            hint="write e.g. 2026-01-31T12:00:00Z",
            field=field,
        )
    if parsed.tzinfo is None:
        raise AttestationInputError(
            f"{field} {str(value)[:40]!r} has no time zone",
            hint="append Z for UTC, e.g. 2026-01-31T12:00:00Z",
            field=field,
        )
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (microseconds only when non-zero)."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
