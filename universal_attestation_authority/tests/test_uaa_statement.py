"""in-toto Statement v1 parsing and validation."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from universal_attestation_authority import (
    AttestationError,
    AttestationStatementError,
    ResourceDescriptor,
    Statement,
    digest_file,
)

GOOD = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.whl", "digest": {"sha256": "a" * 64}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {"buildDefinition": {"buildType": "x"}},
}


class TestParse:
    def test_valid_statement_round_trips(self) -> None:
        """A valid statement parses and re-serialises to the same JSON object."""
        statement = Statement.parse(json.dumps(GOOD).encode())
        assert statement.predicate_type == "https://slsa.dev/provenance/v1"
        assert statement.subject_names() == ["app.whl"]
        assert json.loads(statement.canonical_bytes()) == GOOD

    def test_canonical_bytes_are_sorted_and_compact(self) -> None:
        """The signed payload is key-sorted compact JSON, independent of input order."""
        reordered = dict(reversed(list(GOOD.items())))
        assert (
            Statement.parse(reordered).canonical_bytes() == Statement.parse(GOOD).canonical_bytes()
        )
        assert b" " not in Statement.parse(GOOD).canonical_bytes()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"_type": "https://in-toto.io/Statement/v0.1"}, "_type"),
            ({"subject": []}, "subject"),
            ({"subject": [{"name": "x", "digest": {}}]}, "subject"),
            ({"subject": [{"name": "x", "digest": {"sha256": "abc"}}]}, "subject"),
            ({"subject": [{"name": "x", "digest": {"sha256": "A" * 64}}]}, "subject"),
            ({"predicateType": "not a uri"}, "predicateType"),
            ({"extra": 1}, "extra"),
        ],
    )
    def test_invalid_statements_name_the_field(self, change: dict[str, object], field: str) -> None:
        """Each violated rule raises AttestationStatementError naming the field."""
        with pytest.raises(AttestationStatementError) as info:
            Statement.parse({**GOOD, **change})
        assert field in info.value.message
        assert info.value.exit_code == 2

    def test_duplicate_keys_are_refused(self) -> None:
        """Duplicate JSON keys could make two parsers see two statements; refused."""
        text = '{"_type": "https://in-toto.io/Statement/v1", "_type": "x"}'
        with pytest.raises(AttestationStatementError, match="twice"):
            Statement.parse(text)

    def test_unknown_digest_algorithms_are_opaque(self) -> None:
        """Custom digest algorithms are accepted as opaque strings (digest-set spec)."""
        data = {**GOOD, "subject": [{"name": "m", "digest": {"goModuleH1": "abc+/="}}]}
        assert Statement.parse(data).subject[0].digest == {"goModuleH1": "abc+/="}

    def test_git_commit_accepts_sha256_repositories(self) -> None:
        """gitCommit may be 40 or 64 hex digits."""
        ResourceDescriptor(name="r", digest={"gitCommit": "b" * 64})
        ResourceDescriptor(name="r", digest={"gitCommit": "b" * 40})

    def test_digest_file_hashes_contents(self, tmp_path: Path) -> None:
        """digest_file gives the SHA-256 of the file's bytes."""
        path = tmp_path / "f.bin"
        path.write_bytes(b"hello")
        descriptor = digest_file(path)
        assert (
            descriptor.digest["sha256"]
            == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        )
        assert descriptor.name == "f.bin"

    def test_digest_file_missing_is_input_error(self, tmp_path: Path) -> None:
        """A missing subject file is a clear input error with the path."""
        with pytest.raises(AttestationStatementError, match="cannot read subject file"):
            digest_file(tmp_path / "missing")


class TestFuzz:
    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300))
    def test_arbitrary_bytes_raise_only_our_error(self, data: bytes) -> None:
        """Arbitrary bytes either parse or raise AttestationStatementError."""
        with contextlib.suppress(AttestationError):
            Statement.parse(data)

    @settings(max_examples=100, deadline=None)
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=10), children, max_size=4)
            ),
            max_leaves=20,
        )
    )
    def test_arbitrary_json_raises_only_our_error(self, value: object) -> None:
        """Arbitrary JSON values either parse or raise AttestationStatementError."""
        with contextlib.suppress(AttestationError):
            Statement.parse(json.dumps(value))

    @settings(max_examples=100, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["_type", "subject", "predicateType", "predicate", "x"]),
            st.text(max_size=10)
            | st.lists(
                st.dictionaries(
                    st.sampled_from(["name", "digest"]),
                    st.text(max_size=5)
                    | st.dictionaries(st.text(max_size=8), st.text(max_size=70), max_size=2),
                    max_size=2,
                ),
                max_size=2,
            ),
            max_size=5,
        )
    )
    def test_statement_shaped_noise(self, value: dict[str, object]) -> None:
        """Statement-shaped noise never escapes as a non-uaa exception."""
        with contextlib.suppress(AttestationError):
            Statement.parse({**GOOD, **value})
