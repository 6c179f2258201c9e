"""CSV and JSON-lines readers and the record encoder: clear errors, never a crash."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_auto_learner import (
    FeatureHasher,
    LearnerInputError,
    OnlineOneHot,
    OnlineScaler,
    RecordEncoder,
    parse_csv,
    parse_jsonl,
    read_records,
    split_target,
)


class TestReaders:
    def test_csv(self, tmp_path: Path) -> None:
        """CSV rows become dicts keyed by the header."""
        p = tmp_path / "d.csv"
        p.write_text('a,b,label\n1,x,yes\n2,"y,z",no\n')
        recs = read_records(p)
        assert recs == [{"a": "1", "b": "x", "label": "yes"}, {"a": "2", "b": "y,z", "label": "no"}]

    def test_jsonl(self, tmp_path: Path) -> None:
        """JSON lines skip blank lines and keep scalar types."""
        p = tmp_path / "d.jsonl"
        p.write_text('{"a": 1.5, "t": "hi there"}\n\n{"a": 2, "t": null}\n')
        assert read_records(p) == [{"a": 1.5, "t": "hi there"}, {"a": 2, "t": None}]

    def test_ragged_csv_names_line(self) -> None:
        """A short row names its line and the expected width."""
        with pytest.raises(LearnerInputError, match="line 3: 1 fields, header has 2"):
            parse_csv("a,b\n1,2\n3\n")

    def test_bad_json_names_line(self) -> None:
        """Broken JSON names its line."""
        with pytest.raises(LearnerInputError, match="line 2: invalid JSON"):
            parse_jsonl('{"a": 1}\n{"a": \n')

    def test_nested_rejected(self) -> None:
        """Nested values are refused with a flattening hint."""
        with pytest.raises(LearnerInputError, match="nested") as info:
            parse_jsonl('{"a": {"b": 1}}\n')
        assert "flatten" in (info.value.hint or "")

    def test_missing_target(self) -> None:
        """A record without the target is named."""
        with pytest.raises(LearnerInputError, match="record 2 has no value for target 'y'"):
            split_target([{"x": 1, "y": 0}, {"x": 2}], "y")

    def test_binary_file(self, tmp_path: Path) -> None:
        """Non-UTF-8 input is refused with a conversion hint."""
        p = tmp_path / "d.csv"
        p.write_bytes(b"\xff\xfe\x00\x81")
        with pytest.raises(LearnerInputError, match="not UTF-8"):
            read_records(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is an input error naming the path."""
        with pytest.raises(LearnerInputError, match="cannot read"):
            read_records(tmp_path / "nope.csv")

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=300))
    def test_csv_arbitrary_text(self, text: str) -> None:
        """Arbitrary text parses or raises the system's input error."""
        try:
            recs = parse_csv(text)
        except LearnerInputError:
            return
        assert all(isinstance(r, dict) for r in recs)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=300))
    def test_jsonl_arbitrary_text(self, text: str) -> None:
        """Arbitrary text parses or raises the system's input error."""
        try:
            recs = parse_jsonl(text)
        except LearnerInputError:
            return
        assert all(isinstance(r, dict) for r in recs)

    @settings(max_examples=100, deadline=None)
    @given(st.binary(max_size=200))
    def test_read_arbitrary_bytes(self, blob: bytes) -> None:
        """Arbitrary file bytes give records or the input error."""
        import tempfile

        for suffix in (".csv", ".jsonl"):
            with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
                handle.write(blob)
                handle.flush()
                with contextlib.suppress(LearnerInputError):
                    read_records(handle.name)


class TestFeatures:
    def test_scaler_batch_equals_one_by_one(self) -> None:
        """Batch and one-row updates give the same running statistics."""
        rng = np.random.default_rng(0)
        X = rng.normal(5, 3, (500, 3))
        a, b = OnlineScaler(), OnlineScaler()
        a.learn_many(X)
        for row in X:
            b.learn_many(row[None, :])
        assert np.allclose(a.mean, X.mean(axis=0))
        assert np.allclose(a.m2, b.m2)
        assert np.allclose(a.transform_many(X).std(axis=0), 1.0)

    def test_onehot_capacity_and_overflow(self) -> None:
        """Slots are assigned in order of appearance; overflow shares the last slot."""
        oh = OnlineOneHot(capacity=3)
        assert [oh.slot(v) for v in ("a", "b", "a", "c", "d")] == [0, 1, 0, 2, 2]

    def test_hashing_stable_and_ngrams(self) -> None:
        """Hashing is deterministic and includes bigrams."""
        h = FeatureHasher(64, (1, 2))
        assert h.tokens("Failed password for root") == [
            "failed",
            "password",
            "for",
            "root",
            "failed password",
            "password for",
            "for root",
        ]
        row1, row2 = np.zeros(64), np.zeros(64)
        h.add_text(row1, 0, "failed password")
        h.add_text(row2, 0, "failed password")
        assert np.array_equal(row1, row2)
        assert np.abs(row1).sum() == 3

    def test_encoder_infers_and_encodes(self) -> None:
        """Numbers, categories and text land in their blocks; the state round-trips."""
        recs = [
            {"bytes": "120", "proto": "tcp", "msg": "failed password for root"},
            {"bytes": "80", "proto": "udp", "msg": "accepted key"},
        ]
        enc = RecordEncoder.infer(recs, target=None, onehot_capacity=4, hash_buckets=32)
        assert (enc.numeric, enc.categorical, enc.text) == (["bytes"], ["proto"], ["msg"])
        X = enc.encode_many(recs)
        assert X.shape == (2, 1 + 4 + 32)
        assert X[0, 0] == 120.0
        assert X[0, 1] == 1.0
        assert X[1, 2] == 1.0
        again = RecordEncoder.from_state(enc.state())
        assert np.array_equal(again.encode_many(recs), X)

    def test_non_numeric_value_in_numeric_field(self) -> None:
        """A word in a numeric column is an input error naming the field."""
        enc = RecordEncoder(numeric=["n"])
        with pytest.raises(LearnerInputError, match="field 'n' should be numeric"):
            enc.encode_many([{"n": "abc"}])
