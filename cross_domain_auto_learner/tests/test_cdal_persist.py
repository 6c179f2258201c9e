"""Model files: round trip, content hash, signatures, and refusal of anything corrupted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cross_domain_auto_learner import (
    HoeffdingTree,
    LearnerModelFormatError,
    LearnerModelSignatureError,
    LogisticRegression,
    dumps_model,
    load_model,
    loads_model,
    save_model,
    sea,
)
from cross_domain_auto_learner._persist import MAGIC
from shared_core.crypto import generate_signing_key


def _trained() -> LogisticRegression:
    model = LogisticRegression()
    s = sea(500, seed=1)
    model.learn_many(s.X, s.y)
    return model


class TestRoundTrip:
    def test_predictions_survive(self, tmp_path: Path) -> None:
        """A saved and loaded model predicts exactly as before."""
        model = HoeffdingTree(grace_period=50)
        s = sea(2000, seed=2)
        model.learn_many(s.X, s.y)
        header = save_model(tmp_path / "m.cdal", model, metadata={"note": "x"})
        loaded, read_header = load_model(tmp_path / "m.cdal")
        assert np.array_equal(loaded.predict_many(s.X), model.predict_many(s.X))
        assert read_header["payload_sha256"] == header["payload_sha256"]
        assert read_header["metadata"] == {"note": "x"}
        assert read_header["kind"] == "HoeffdingTree"

    def test_signed_model_verifies(self) -> None:
        """A signed model loads with the matching key and is refused with another."""
        key, other = generate_signing_key(), generate_signing_key()
        data = dumps_model(_trained(), signing_key=key)
        model, header = loads_model(data, verify_key=key.verify_key)
        assert header["signature"]["key_id"] == key.verify_key.key_id
        assert isinstance(model, LogisticRegression)
        with pytest.raises(LearnerModelSignatureError, match="does not verify"):
            loads_model(data, verify_key=other.verify_key)

    def test_unsigned_refused_when_key_required(self) -> None:
        """Requiring a signature refuses an unsigned model."""
        with pytest.raises(LearnerModelSignatureError, match="not signed"):
            loads_model(dumps_model(_trained()), verify_key=generate_signing_key().verify_key)

    def test_tampered_metadata_breaks_signature(self) -> None:
        """Editing the signed header (even metadata) breaks the signature."""
        key = generate_signing_key()
        data = dumps_model(_trained(), metadata={"owner": "a"}, signing_key=key)
        tampered = data.replace(b'"owner":"a"', b'"owner":"b"')
        with pytest.raises(LearnerModelSignatureError):
            loads_model(tampered, verify_key=key.verify_key)


class TestRefusal:
    def test_flipped_payload_byte(self) -> None:
        """One flipped payload byte fails the content hash."""
        data = bytearray(dumps_model(_trained()))
        data[-10] ^= 0xFF
        with pytest.raises(LearnerModelFormatError, match="hash mismatch"):
            loads_model(bytes(data))

    def test_truncated(self) -> None:
        """A truncated file is refused."""
        data = dumps_model(_trained())
        with pytest.raises(LearnerModelFormatError, match="header says"):
            loads_model(data[:-5])

    def test_future_version(self) -> None:
        """A newer format version is refused with a retrain hint."""
        data = dumps_model(_trained()).replace(b'"format":1', b'"format":9', 1)
        with pytest.raises(LearnerModelFormatError, match="format 9") as info:
            loads_model(data)
        assert "retrain" in (info.value.hint or "")

    def test_foreign_pickle_refused(self) -> None:
        """A payload naming a callable outside the allow-list is refused, hash or not."""
        import json
        import pickle

        from shared_core.crypto import sha256

        payload = pickle.dumps(Path("/etc/passwd"))
        header = {
            "format": 1,
            "payload_sha256": sha256(payload).hex(),
            "payload_size": len(payload),
        }
        data = MAGIC + json.dumps(header).encode() + b"\n" + payload
        with pytest.raises(LearnerModelFormatError, match="never contains"):
            loads_model(data)

    def test_failed_save_keeps_old_file(self, tmp_path: Path) -> None:
        """Saving into a missing directory under a file fails cleanly; the old model stays intact."""
        target = tmp_path / "m.cdal"
        save_model(target, _trained())
        before = target.read_bytes()
        with pytest.raises(Exception, match="cannot write"):
            save_model(target / "sub" / "x.cdal", _trained())
        assert target.read_bytes() == before

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(st.binary(max_size=400))
    def test_arbitrary_bytes(self, blob: bytes) -> None:
        """Arbitrary bytes (with or without the magic) raise the format error, never anything else."""
        for data in (blob, MAGIC + blob):
            with pytest.raises(LearnerModelFormatError):
                loads_model(data)
