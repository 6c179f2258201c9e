"""The shared_core command line, end to end through main()."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shared_core
from shared_core._app import main
from shared_core.cli import InputFileError, read_input, read_input_text
from shared_core.crypto import Checkpoint, NoteVerifier
from shared_core.errors import ConfigError
from shared_core.testing import run_cli


class TestKeysAndEnvelopes:
    def test_keygen_sign_verify_and_tamper(self, tmp_path: Path) -> None:
        """A key made by keygen signs an envelope that verifies; a changed payload fails with exit 1."""
        key = tmp_path / "k.pem"
        assert run_cli(main, ["keygen", str(key)]).code == 0
        payload = tmp_path / "statement.json"
        payload.write_text('{"_type": "https://in-toto.io/Statement/v1"}')
        signed = run_cli(main, ["sign", str(payload), "--key", str(key)])
        assert signed.code == 0, signed.err
        env_path = tmp_path / "env.json"
        env_path.write_text(signed.out)
        ok = run_cli(main, ["--json", "verify", str(env_path), "--pub", f"{key}.pub"])
        assert ok.code == 0, ok.err
        assert json.loads(ok.out)["verified"] is True
        envelope = json.loads(signed.out)
        envelope["payload"] = "eyJ4IjoxfQ=="
        env_path.write_text(json.dumps(envelope))
        bad = run_cli(main, ["verify", str(env_path), "--pub", f"{key}.pub"])
        assert bad.code == 1
        assert bad.err.startswith("shared_core: error: DSSE envelope has 0 valid signature")

    def test_keygen_refuses_to_overwrite(self, tmp_path: Path) -> None:
        """keygen never replaces an existing key without --force; the key is unchanged."""
        key = tmp_path / "k.pem"
        run_cli(main, ["keygen", str(key)])
        before = key.read_bytes()
        again = run_cli(main, ["keygen", str(key)])
        assert again.code == 1
        assert "already exists" in again.err
        assert key.read_bytes() == before

    def test_garbage_envelope_is_exit_2(self, tmp_path: Path) -> None:
        """A file that is not an envelope gives one line and exit 2."""
        run_cli(main, ["keygen", str(tmp_path / "k")])
        junk = tmp_path / "junk.json"
        junk.write_text("not json")
        result = run_cli(main, ["verify", str(junk), "--pub", str(tmp_path / "k.pub")])
        assert result.code == 2
        assert result.err.count("\n") == 1


class TestMerkleCommands:
    def test_prove_and_verify_offline(self, tmp_path: Path) -> None:
        """`merkle --prove --consistency` output verifies with `verify-proof`; a wrong root fails."""
        leaves = tmp_path / "leaves.txt"
        leaves.write_text("\n".join(f"line {i}" for i in range(100)) + "\n")
        proof = run_cli(
            main, ["--json", "merkle", str(leaves), "--prove", "42", "--consistency", "30"]
        )
        assert proof.code == 0, proof.err
        data = json.loads(proof.out)
        assert data["tree_size"] == 100
        path = tmp_path / "proof.json"
        path.write_text(proof.out)
        ok = run_cli(main, ["--json", "verify-proof", str(path)])
        assert json.loads(ok.out) == {"verified": ["inclusion", "consistency"]}
        data["root"] = data["consistency"]["root1"]
        path.write_text(json.dumps(data))
        assert run_cli(main, ["verify-proof", str(path)]).code == 1

    @given(st.binary(max_size=200))
    @settings(max_examples=100)
    def test_arbitrary_proof_files_never_crash(self, data: bytes) -> None:
        """Any bytes as a proof file: exit 1 or 2 with one line, never a traceback."""
        import tempfile

        with tempfile.NamedTemporaryFile() as handle:
            handle.write(data)
            handle.flush()
            result = run_cli(main, ["verify-proof", handle.name])
        assert result.code in (1, 2)
        assert "Traceback" not in result.err
        assert result.err.count("\n") == 1

    def test_signed_checkpoint(self, tmp_path: Path) -> None:
        """checkpoint signs a C2SP checkpoint that opens with the printed verifier key."""
        key_file = tmp_path / "log.key"
        made = run_cli(main, ["note-keygen", "example.com/log", "--out", str(key_file)])
        verifier = NoteVerifier.parse(made.out.strip())
        leaves = tmp_path / "leaves.txt"
        leaves.write_text("a\nb\nc\n")
        signed = run_cli(
            main,
            [
                "checkpoint",
                str(leaves),
                "--origin",
                "example.com/log",
                "--signer-key",
                str(key_file),
            ],
        )
        checkpoint, _ = Checkpoint.open(signed.out, [verifier], origin="example.com/log")
        assert checkpoint.size == 3


class TestTour:
    def test_tour_exercises_every_piece(self) -> None:
        """The tour signs, logs, proves, checkpoints, cosigns and rejects a tampered checkpoint."""
        result = run_cli(main, ["--json", "tour"])
        assert result.code == 0, result.err
        report = json.loads(result.out)
        assert report["dsse_signed_by"] == 1
        assert report["log"] == {"size": 1001, "entry_index": 1000, "proof_length": 6}
        assert report["tampered_checkpoint_rejected"] is True
        assert report["spans"] == ["keys", "dsse", "merkle", "checkpoint"]
        assert report["metrics_lines"] == 4

    def test_python_dash_m_version(self) -> None:
        """`python -m shared_core --version` answers with the package version."""
        proc = subprocess.run(
            [sys.executable, "-m", "shared_core", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.stdout.strip() == f"shared_core {shared_core.__version__}"


class TestPublicApi:
    def test_all_names_importable(self) -> None:
        """Every name in each public module's __all__ exists."""
        import importlib

        for module_name in (
            "shared_core",
            "shared_core.errors",
            "shared_core.config",
            "shared_core.cli",
            "shared_core.logging",
            "shared_core.telemetry",
            "shared_core.concurrency",
            "shared_core.crypto",
            "shared_core.testing",
        ):
            module = importlib.import_module(module_name)
            for name in module.__all__:
                assert hasattr(module, name), f"{module_name}.{name}"

    def test_crypto_exports_are_complete(self) -> None:
        """shared_core.crypto re-exports every public name of its private modules."""
        import importlib

        from shared_core import crypto

        for private in (
            "_aead",
            "_dsse",
            "_hashing",
            "_keyfiles",
            "_merkle",
            "_note",
            "_secret",
            "_signing",
        ):
            module = importlib.import_module(f"shared_core.crypto.{private}")
            missing = set(module.__all__) - set(crypto.__all__)
            assert not missing, f"{private}: {missing}"


class TestExamples:
    def test_sign_and_prove_example(self) -> None:
        """The example signs, logs and proves an entry in an 11-leaf tree."""
        import runpy
        from pathlib import Path

        example = Path(__file__).parent.parent / "examples" / "sign_and_prove.py"
        namespace = runpy.run_path(str(example))
        assert namespace["main"]() == {"index": 10, "tree_size": 11, "proof_length": 2}


class TestReadInput:
    """The file readers every CLI shares: one error line with the path, exit code 2, no crash."""

    def test_reads_bytes_and_text(self, tmp_path: Path) -> None:
        f = tmp_path / "in.txt"
        f.write_bytes("héllo\n".encode())
        assert read_input(f) == "héllo\n".encode()
        assert read_input_text(str(f)) == "héllo\n"

    @pytest.mark.parametrize(("name", "why"), [("missing", "no such file"), ("", "is a directory")])
    def test_each_failure_names_the_path_and_why(self, tmp_path: Path, name: str, why: str) -> None:
        path = tmp_path / name if name else tmp_path
        with pytest.raises(InputFileError) as caught:
            read_input(path, what="policy")
        assert caught.value.message == f"policy {path}: {why}"
        assert caught.value.exit_code == 2
        assert caught.value.context["path"] == str(path)

    def test_undecodable_bytes_name_their_offset(self, tmp_path: Path) -> None:
        (tmp_path / "bin").write_bytes(b"ok\xff\xfe")
        with pytest.raises(InputFileError, match=r"not UTF-8 text \(byte 0xff at offset 2\)"):
            read_input_text(tmp_path / "bin")

    def test_a_system_error_class_is_raised_as_given(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            read_input(tmp_path / "nope", error=ConfigError, hint="run init first")
        assert caught.value.hint == "run init first"

    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_decode_or_raise_input_error(self, data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "f"
            f.write_bytes(data)
            try:
                expected: str | None = data.decode("utf-8")
            except UnicodeDecodeError:
                expected = None
            if expected is None:
                with pytest.raises(InputFileError, match="not UTF-8 text"):
                    read_input_text(f)
            else:
                assert read_input_text(f) == expected
