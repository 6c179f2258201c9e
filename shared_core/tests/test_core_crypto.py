"""Signatures, key files, AES-GCM, secrets and DSSE (with the DSSE vectors)."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import (
    Algorithm,
    EcdsaP256SigningKey,
    Ed25519SigningKey,
    Ed25519VerifyKey,
    Envelope,
    SecretBytes,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    blake3_digest,
    blake3_file,
    generate_aes_key,
    generate_signing_key,
    load_private_pem,
    load_public_pem,
    pae,
    read_private_key,
    read_public_key,
    sha256,
    sha256_file,
    sign_envelope,
    verify_envelope,
    write_private_key,
    write_public_key,
)
from shared_core.errors import CryptoError, IoError, ValidationError
from shared_core.testing import corpus_path

# RFC 8032 section 7.1, TEST 1 and TEST 2: the keys the DSSE vectors call A and B.
RFC8032_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")


class TestSignatures:
    def test_rfc8032_test1_signature(self) -> None:
        """Ed25519 reproduces RFC 8032 TEST 1 (empty message) byte for byte."""
        key = Ed25519SigningKey(RFC8032_A)
        assert key.verify_key.public_bytes_raw().hex() == (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        )
        assert key.sign(b"").hex().startswith("e5564300c360ac729086e2cc806e828a")

    @pytest.mark.parametrize("algorithm", list(Algorithm))
    def test_sign_verify_and_tamper(self, algorithm: Algorithm) -> None:
        """Both algorithms verify their own signatures and reject a changed message."""
        key = generate_signing_key(algorithm)
        sig = key.sign(b"message")
        key.verify_key.verify(b"message", sig)
        with pytest.raises(CryptoError):
            key.verify_key.verify(b"messagE", sig)
        assert not key.verify_key.is_valid(b"message", sig[:-1] + bytes([sig[-1] ^ 1]))

    @pytest.mark.parametrize("algorithm", list(Algorithm))
    def test_pem_round_trip_keeps_key_id(self, algorithm: Algorithm) -> None:
        """PEM export and import give the same key and key ID."""
        key = generate_signing_key(algorithm)
        again = load_private_pem(key.to_pem())
        assert again.verify_key == key.verify_key
        assert load_public_pem(key.verify_key.to_pem()).key_id == key.verify_key.key_id
        assert len(key.verify_key.key_id) == 64

    def test_closed_key_cannot_sign(self) -> None:
        """Closing a key wipes it; signing afterwards is an error, not a crash."""
        key = EcdsaP256SigningKey.generate()
        key.close()
        with pytest.raises(CryptoError):
            key.sign(b"x")

    def test_wrong_sizes_are_crypto_errors(self) -> None:
        """Malformed key material is reported, never a library exception."""
        with pytest.raises(CryptoError):
            Ed25519VerifyKey(b"short")
        with pytest.raises(CryptoError):
            Ed25519SigningKey(b"short")
        with pytest.raises(CryptoError):
            load_private_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


class TestKeyFiles:
    def test_private_key_written_0600_and_read_back(self, tmp_path: Path) -> None:
        """Private keys are written owner-only and read back identical."""
        key = generate_signing_key()
        path = write_private_key(tmp_path / "k.pem", key)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert read_private_key(path).verify_key == key.verify_key

    def test_refuses_group_readable_private_key(self, tmp_path: Path) -> None:
        """A private key others can read is refused with a chmod hint."""
        path = write_private_key(tmp_path / "k.pem", generate_signing_key())
        os.chmod(path, 0o640)
        with pytest.raises(CryptoError) as info:
            read_private_key(path)
        assert "chmod 600" in (info.value.hint or "")

    def test_does_not_overwrite_existing_key(self, tmp_path: Path) -> None:
        """Writing over an existing private key needs overwrite=True; the old key survives."""
        first = generate_signing_key()
        path = write_private_key(tmp_path / "k.pem", first)
        with pytest.raises(IoError):
            write_private_key(path, generate_signing_key())
        assert read_private_key(path).verify_key == first.verify_key

    def test_raw_and_hex_seed_files(self, tmp_path: Path) -> None:
        """Raw and hex Ed25519 seeds load as the same key."""
        raw = tmp_path / "raw"
        raw.write_bytes(RFC8032_A)
        raw.chmod(0o600)
        hexed = tmp_path / "hex"
        hexed.write_text(RFC8032_A.hex() + "\n")
        hexed.chmod(0o600)
        assert read_private_key(raw).verify_key == read_private_key(hexed).verify_key

    def test_public_key_files(self, tmp_path: Path) -> None:
        """Public keys round-trip through PEM files."""
        key = generate_signing_key(Algorithm.ECDSA_P256)
        path = write_public_key(tmp_path / "k.pub", key.verify_key)
        assert read_public_key(path) == key.verify_key

    def test_garbage_key_file(self, tmp_path: Path) -> None:
        """A file that is no key is a CryptoError naming the path."""
        path = tmp_path / "junk"
        path.write_bytes(b"\x00" * 7)
        path.chmod(0o600)
        with pytest.raises(CryptoError) as info:
            read_private_key(path)
        assert info.value.context["path"] == str(path)


class TestSymmetricAndHashing:
    @given(st.binary(max_size=512), st.binary(max_size=32))
    @settings(max_examples=50)
    def test_aes_gcm_round_trip(self, plaintext: bytes, aad: bytes) -> None:
        """Encryption round-trips and a fresh nonce makes ciphertexts differ."""
        key = generate_aes_key()
        sealed = aes_gcm_encrypt(key, plaintext, aad)
        assert aes_gcm_decrypt(key, sealed, aad) == plaintext
        assert aes_gcm_encrypt(key, plaintext, aad) != sealed

    def test_aes_gcm_detects_tampering(self) -> None:
        """A flipped bit or wrong associated data fails authentication."""
        key = generate_aes_key()
        sealed = bytearray(aes_gcm_encrypt(key, b"secret", b"ctx"))
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, bytes(sealed), b"other")
        sealed[15] ^= 1
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, bytes(sealed), b"ctx")
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, b"short", b"ctx")

    def test_secret_bytes_wipe(self) -> None:
        """Closing a secret zeroes it and hides it from repr."""
        secret = SecretBytes(b"key material")
        assert "key material" not in repr(secret)
        buffer = secret._buf
        secret.close()
        assert bytes(buffer) == b"\x00" * len(b"key material")
        with pytest.raises(CryptoError):
            secret.reveal()

    def test_hashes_match_known_digests(self, tmp_path: Path) -> None:
        """SHA-256 and BLAKE3 give the published digests of 'abc', in memory and on disk."""
        assert sha256(b"abc").hex().startswith("ba7816bf8f01cfea")
        assert blake3_digest(b"abc").hex().startswith("6437b3ac38465133")
        path = tmp_path / "abc"
        path.write_bytes(b"abc")
        assert sha256_file(path) == sha256(b"abc")
        assert blake3_file(path) == blake3_digest(b"abc")
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        assert blake3_file(empty) == blake3_digest(b"")


def _dsse_vectors() -> list[dict[str, Any]]:
    from shared_core.testing import corpora_dir

    base = corpora_dir()
    if base is None or not (base / "dsse" / "vectors.json").is_file():
        return []
    vectors: list[dict[str, Any]] = json.loads((base / "dsse" / "vectors.json").read_text())[
        "vectors"
    ]
    return vectors


@pytest.mark.corpus
class TestDsse:
    def test_corpus_has_nine_vectors(self) -> None:
        """The DSSE corpus holds its 9 vectors."""
        corpus_path("dsse", "vectors.json")
        assert len(_dsse_vectors()) == 9

    @pytest.mark.parametrize("vector", _dsse_vectors(), ids=lambda v: v["id"])
    def test_vector(self, vector: dict[str, Any]) -> None:
        """Each DSSE vector is accepted or rejected as specified, with the right PAE."""
        keys = {
            "A": Ed25519SigningKey(RFC8032_A).verify_key,
            "B": Ed25519SigningKey(RFC8032_B).verify_key,
        }
        envelope = Envelope.from_dict(vector["envelope"])
        trusted = {k: keys[k] for k in vector["trustedKeys"]}
        if vector["expect"] == "accept":
            assert envelope.pae().hex() == vector["pae"]
            signed = verify_envelope(
                envelope,
                trusted,
                threshold=vector["threshold"],
                payload_types=vector["supportedPayloadTypes"],
            )
            assert len(signed) >= vector["threshold"]
        else:
            with pytest.raises(CryptoError):
                verify_envelope(
                    envelope,
                    trusted,
                    threshold=vector["threshold"],
                    payload_types=vector["supportedPayloadTypes"],
                )

    def test_pae_spec_example(self) -> None:
        """PAE matches the DSSE specification's worked example."""
        assert pae("http://example.com/HelloWorld", b"hello world") == (
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        )

    def test_sign_and_verify_mixed_algorithms_with_threshold(self) -> None:
        """An Ed25519 and a P-256 signature together meet a threshold of two."""
        ed, ec = generate_signing_key(), generate_signing_key(Algorithm.ECDSA_P256)
        envelope = sign_envelope(b"{}", "application/vnd.in-toto+json", [ed, ec])
        parsed = Envelope.from_json(envelope.to_json())
        trusted = {k.verify_key.key_id: k.verify_key for k in (ed, ec)}
        assert sorted(verify_envelope(parsed, trusted, threshold=2)) == sorted(trusted)
        with pytest.raises(CryptoError):
            verify_envelope(parsed, trusted, threshold=3)

    @given(st.binary(max_size=200))
    @settings(max_examples=200)
    def test_arbitrary_bytes_never_crash_the_parser(self, data: bytes) -> None:
        """Any input either parses or raises ValidationError."""
        with contextlib.suppress(ValidationError):
            Envelope.from_json(data)

    @given(
        st.dictionaries(
            st.sampled_from(["payload", "payloadType", "signatures", "x"]),
            st.one_of(
                st.text(max_size=12),
                st.integers(),
                st.none(),
                st.lists(
                    st.dictionaries(
                        st.sampled_from(["sig", "keyid"]),
                        st.one_of(st.text(max_size=12), st.integers(), st.none()),
                    ),
                    max_size=3,
                ),
            ),
        )
    )
    @settings(max_examples=300)
    def test_arbitrary_structures_never_crash_the_parser(self, data: dict[str, Any]) -> None:
        """Structured garbage either parses or raises ValidationError."""
        with contextlib.suppress(ValidationError):
            Envelope.from_dict(data)
