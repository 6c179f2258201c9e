"""Signing and verifying bytecode with DSSE envelopes (shared_core.crypto keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract_executable_compiler import ContractInputError, compile_contract, compile_expression
from contract_executable_compiler._attestation import sign_bytecode, verify_bytecode
from contract_executable_compiler.cli import main
from shared_core.crypto import generate_signing_key, write_private_key, write_public_key
from shared_core.errors import CryptoError
from shared_core.testing import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples"


class TestLibrary:
    def test_sign_and_verify(self) -> None:
        """A signature verifies with the right key and names the contract and digest."""
        data = compile_contract((EXAMPLES / "escrow.cec").read_text()).to_bytes()
        key = generate_signing_key()
        envelope = sign_bytecode(data, key)
        statement = verify_bytecode(data, envelope, {key.verify_key.key_id: key.verify_key})
        assert statement["contract"] == "Escrow"
        assert statement["version"] == 2
        assert len(statement["sha256"]) == 64

    def test_other_file_is_refused(self) -> None:
        """An envelope for one program does not vouch for another."""
        key = generate_signing_key()
        envelope = sign_bytecode(compile_expression("1 + 1").to_bytes(), key)
        with pytest.raises(ContractInputError, match="different bytecode"):
            verify_bytecode(
                compile_expression("1 + 2").to_bytes(),
                envelope,
                {key.verify_key.key_id: key.verify_key},
            )

    def test_untrusted_key_is_refused(self) -> None:
        """A signature by a key that is not trusted fails."""
        data = compile_expression("true").to_bytes()
        signer, other = generate_signing_key(), generate_signing_key()
        with pytest.raises(CryptoError):
            verify_bytecode(
                data, sign_bytecode(data, signer), {other.verify_key.key_id: other.verify_key}
            )


def test_cli_sign_verify(tmp_path: Path) -> None:
    """cec sign then cec verify; a modified envelope fails verification."""
    key = generate_signing_key()
    write_private_key(tmp_path / "k.key", key)
    write_public_key(tmp_path / "k.pub", key.verify_key)
    out = tmp_path / "e.cecb"
    assert run_cli(main, ["compile", str(EXAMPLES / "escrow.cec"), "-o", str(out)]).code == 0
    env = tmp_path / "e.dsse.json"
    signed = run_cli(main, ["sign", str(out), "--key", str(tmp_path / "k.key"), "-o", str(env)])
    assert signed.code == 0, signed.err
    ok = run_cli(
        main,
        [
            "--json",
            "verify",
            str(out),
            "--envelope",
            str(env),
            "--public-key",
            str(tmp_path / "k.pub"),
        ],
    )
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["contract"] == "Escrow"
    doc = json.loads(env.read_text())
    doc["signatures"][0]["sig"] = doc["signatures"][0]["sig"][:-8] + "AAAAAAA="
    env.write_text(json.dumps(doc))
    bad = run_cli(
        main, ["verify", str(out), "--envelope", str(env), "--public-key", str(tmp_path / "k.pub")]
    )
    assert bad.code == 1
    assert bad.err.count("\n") == 1
