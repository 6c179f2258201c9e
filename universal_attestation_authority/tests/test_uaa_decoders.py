"""Every remaining decoder: arbitrary input raises the system's own error, never a crash."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from universal_attestation_authority import AttestationError, Bundle, Keyring, LogEntry
from universal_attestation_authority._bundle import LogEvidence

JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)


class TestFuzzDecoders:
    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=300))
    def test_bundle_bytes(self, data: bytes) -> None:
        """Bundle.from_json on arbitrary bytes raises only uaa errors."""
        with contextlib.suppress(AttestationError):
            Bundle.from_json(data)

    @settings(max_examples=60, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(
                ["mediaType", "dsseEnvelope", "logEntry", "payload", "payloadType", "signatures"]
            ),
            JSONISH,
            max_size=4,
        )
    )
    def test_bundle_shapes(self, data: dict[str, object]) -> None:
        """Bundle-shaped JSON noise raises only uaa errors."""
        with contextlib.suppress(AttestationError):
            Bundle.from_dict(json.loads(json.dumps(data)))

    @settings(max_examples=60, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["logIndex", "entry", "treeSize", "inclusionProof", "checkpoint"]),
            JSONISH,
            max_size=5,
        )
    )
    def test_log_evidence_shapes(self, data: dict[str, object]) -> None:
        """logEntry noise raises only uaa errors."""
        with contextlib.suppress(AttestationError):
            LogEvidence.from_dict(data)

    @settings(max_examples=60, deadline=None)
    @given(
        st.binary(max_size=300)
        | st.dictionaries(
            st.sampled_from(
                ["id", "integratedTime", "payloadType", "predicateType", "signatures", "v"]
            ),
            JSONISH,
            max_size=6,
        ).map(lambda d: json.dumps(d).encode())
    )
    def test_log_entry(self, data: bytes) -> None:
        """LogEntry.from_bytes raises only uaa errors."""
        with contextlib.suppress(AttestationError):
            LogEntry.from_bytes(data)

    @settings(max_examples=60, deadline=None)
    @given(
        JSONISH
        | st.fixed_dictionaries(
            {
                "format": st.just("uaa-keyring/v1"),
                "keys": st.lists(
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "keyid",
                                "name",
                                "public_key",
                                "valid_from",
                                "valid_until",
                                "revoked_at",
                            ]
                        ),
                        JSONISH,
                        max_size=6,
                    ),
                    max_size=3,
                ),
            }
        )
    )
    def test_keyring(self, data: object) -> None:
        """Keyring.from_dict raises only uaa errors."""
        with contextlib.suppress(AttestationError):
            Keyring.from_dict(data)


class TestLimits:
    def test_too_many_signatures(self) -> None:
        """Envelopes with more than 64 signatures are refused before any verification."""
        import pytest

        from universal_attestation_authority import AttestationEnvelopeError

        envelope = {"payload": "", "payloadType": "x", "signatures": [{"sig": "AA=="}] * 65}
        with pytest.raises(AttestationEnvelopeError, match="65 signatures"):
            Bundle.from_dict(envelope)


class TestEntryEncoding:
    @given(
        st.text(max_size=20),
        st.text(max_size=30),
        st.text(max_size=30),
        st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3),
        st.datetimes(timezones=st.just(__import__("datetime").UTC)),
    )
    def test_to_bytes_is_canonical_json(
        self,
        ident: str,
        payload_type: str,
        predicate_type: str,
        sigs: list[tuple[str, str]],
        when: object,
    ) -> None:
        """The hand-written entry encoding equals sorted compact json.dumps, and parses back."""
        entry = LogEntry(ident, when, payload_type, predicate_type, tuple(sigs))  # type: ignore[arg-type]
        expected = json.dumps(
            entry.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        assert entry.to_bytes() == expected
        assert LogEntry.from_bytes(entry.to_bytes()) == entry
