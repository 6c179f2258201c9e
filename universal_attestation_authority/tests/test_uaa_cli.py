"""End to end through the CLI: init, attest, verify, keys, log prove/export/verify."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from shared_core.crypto import Checkpoint, NoteVerifier, open_note
from shared_core.testing import run_cli
from universal_attestation_authority.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNIVERSAL_ATTESTATION_AUTHORITY_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "app.whl").write_bytes(b"wheel bytes")
    (tmp_path / "predicate.json").write_text('{"builder": {"id": "https://ci.example"}}')
    assert run_cli(main, ["init", "--origin", "attest.example/log"]).code == 0
    return tmp_path


def uaa(*argv: str) -> tuple[int, str, str]:
    result = run_cli(main, list(argv))
    return result.code, result.out, result.err


def write_policy(workdir: Path, extra: str = "") -> Path:
    code, log_key, _ = uaa("log", "keys")
    assert code == 0
    assert uaa("keys", "export", "--out", "keys.json")[0] == 0
    policy = workdir / "policy.toml"
    policy.write_text(
        'keyring = "keys.json"\n[[rules]]\nname = "wheels"\n'
        'predicate_types = ["https://slsa.dev/provenance/v1"]\nsubjects = ["*.whl"]\n'
        'keys = ["attestation-1"]\n'
        f'[log]\nverifier_keys = ["{log_key.strip()}"]\n' + extra
    )
    return policy


def attest(name: str = "bundle.json") -> None:
    code, _, err = uaa(
        "attest",
        "--subject",
        "app.whl",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--predicate",
        "predicate.json",
        "--out",
        name,
    )
    assert code == 0, err


class TestFlows:
    def test_attest_verify_ok(self, workdir: Path) -> None:
        """attest writes a bundle that verify accepts (exit 0) naming the rule."""
        attest()
        policy = write_policy(workdir)
        code, out, _ = uaa("verify", "bundle.json", "--policy", str(policy))
        assert code == 0
        assert "rule 'wheels' satisfied by attestation-1" in out

    def test_verify_failure_is_exit_1_naming_rule(self, workdir: Path) -> None:
        """A subject outside the rule: exit 1, one line naming rule and check."""
        attest()
        policy = write_policy(workdir)
        policy.write_text(policy.read_text().replace('"*.whl"', '"*.tar.gz"'))
        code, _, err = uaa("verify", "bundle.json", "--policy", str(policy))
        assert code == 1
        assert err.count("\n") == 1
        assert "rule 'wheels': subjects" in err

    def test_verify_json_lists_failures(self, workdir: Path) -> None:
        """--json prints the verdict with every failure."""
        attest()
        policy = write_policy(workdir)
        policy.write_text(policy.read_text().replace('"*.whl"', '"*.tar.gz"'))
        code, out, _ = uaa("--json", "verify", "bundle.json", "--policy", str(policy))
        assert code == 1
        assert json.loads(out)["failures"][0] == {
            "rule": "wheels",
            "check": "subjects",
            "detail": "subject 'app.whl' is not matched by ['*.tar.gz']",
        }

    def test_rotate_then_old_bundle_still_verifies(self, workdir: Path) -> None:
        """After 'keys rotate', the old bundle verifies against the re-exported keyring."""
        attest()
        assert uaa("keys", "rotate", "attestation-1", "attestation-2")[0] == 0
        policy = write_policy(workdir)
        policy.write_text(
            policy.read_text().replace(
                'keys = ["attestation-1"]', 'keys = ["attestation-1", "attestation-2"]'
            )
        )
        assert uaa("verify", "bundle.json", "--policy", str(policy))[0] == 0
        (workdir / "app.whl").write_bytes(b"wheel bytes, release 2")
        attest("second.json")
        code, out, _ = uaa("--json", "verify", "second.json", "--policy", str(policy))
        assert code == 0
        assert json.loads(out)["signers"] == ["attestation-2"]

    def test_log_export_of_an_empty_log(self, workdir: Path) -> None:
        """Nothing published: exit 2, one clear line, nothing written; an empty published
        log exports a valid size-0 checkpoint (and no tiles)."""
        code, _, err = uaa("log", "export", "empty")
        assert code == 2
        assert "no checkpoint is published yet (0 entries committed)" in err
        assert "uaa log checkpoint --publish" in err
        assert len(err.strip().splitlines()) == 1
        assert not (workdir / "empty").exists()
        assert uaa("log", "checkpoint", "--publish")[0] == 0
        code, out, err = uaa("--json", "log", "export", "empty")
        assert code == 0, err
        assert json.loads(out)["size"] == 0
        assert sorted(p.name for p in (workdir / "empty").iterdir()) == ["checkpoint"]
        note = (workdir / "empty" / "checkpoint").read_bytes()
        verifier = NoteVerifier.parse(uaa("log", "keys")[1].strip())
        checkpoint = Checkpoint.from_text(open_note(note, [verifier]).text)
        assert checkpoint.size == 0
        assert checkpoint.root_hash == hashlib.sha256(b"").digest()

    def test_log_prove_export_and_offline_verify(self, workdir: Path) -> None:
        """log export + log verify prove the bundle's entry from files alone."""
        attest()
        log_key = uaa("log", "keys")[1].strip()
        code, out, _ = uaa("--json", "log", "prove", "0")
        assert code == 0
        assert json.loads(out)["tree_size"] == 1
        assert uaa("log", "export", "tiles")[0] == 0
        code, out, err = uaa(
            "log",
            "verify",
            "--checkpoint",
            "tiles/checkpoint",
            "--tiles",
            "tiles",
            "--bundle",
            "bundle.json",
            "--log-key",
            log_key,
        )
        assert code == 0, err
        assert "entry 0 is in attest.example/log" in out
        code, _, err = uaa(
            "log",
            "verify",
            "--checkpoint",
            "tiles/checkpoint",
            "--tiles",
            "tiles",
            "--entry",
            "0",
            "--log-key",
            "x+00000000+AAAA",
        )
        assert code == 2
        assert "--log-key" in err

    def test_several_subjects(self, workdir: Path) -> None:
        """--subject takes several files; each becomes a subject with its digest."""
        (workdir / "b.whl").write_bytes(b"second wheel")
        code, out, err = uaa(
            "--json",
            "attest",
            "--subject",
            "app.whl",
            "b.whl",
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--out",
            "two.json",
        )
        assert code == 0, err
        policy = write_policy(workdir)
        code, out, _ = uaa("--json", "verify", "two.json", "--policy", str(policy))
        assert code == 0
        assert [s["name"] for s in json.loads(out)["subjects"]] == ["app.whl", "b.whl"]

    def test_log_checkpoint(self, workdir: Path) -> None:
        """log checkpoint prints the signed note."""
        attest()
        code, out, _ = uaa("log", "checkpoint")
        assert code == 0
        assert out.splitlines()[:2] == ["attest.example/log", "1"]
        assert out.splitlines()[4].startswith("\u2014 attest.example/log ")

    def test_keygen_writes_private_0600_and_public(self, workdir: Path) -> None:
        """keygen writes a 0600 private key and a public PEM."""
        code, out, _ = uaa("--json", "--algorithm", "ecdsa-p256", "keygen", "--out", "k.pem")
        assert code == 0
        assert json.loads(out)["algorithm"] == "ecdsa-p256"
        assert (workdir / "k.pem").stat().st_mode & 0o777 == 0o600
        assert (workdir / "k.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
        assert uaa("keys", "import", "k.pem", "--name", "imported")[0] == 0
        assert "imported" in uaa("keys", "list")[1]

    def test_private_export_round_trips(self, workdir: Path) -> None:
        """keys export --private writes a 0600 PEM that imports elsewhere with the same keyid."""
        code, out, _ = uaa(
            "--json", "keys", "export", "--private", "attestation-1", "--out", "exported.pem"
        )
        assert code == 0
        assert (workdir / "exported.pem").stat().st_mode & 0o777 == 0o600
        keyid = json.loads(out)["keyid"]
        other = str(workdir / "other")
        assert uaa("--data-dir", other, "init", "--origin", "other.example/log")[0] == 0
        code, out, _ = uaa(
            "--json", "--data-dir", other, "keys", "import", "exported.pem", "--name", "carried"
        )
        assert json.loads(out)["keyid"] == keyid
        code, _, err = uaa("keys", "export", "--private", "attestation-1")
        assert code == 2
        assert "--out" in err


class TestBadInput:
    @pytest.mark.parametrize(
        "argv",
        [
            ["attest", "--subject", "missing.whl", "--predicate-type", "https://x.example/v1"],
            ["attest", "--subject", "app.whl", "--predicate-type", "not a uri"],
            [
                "attest",
                "--subject",
                "app.whl",
                "--predicate-type",
                "https://x.example/v1",
                "--predicate",
                "app.whl",
            ],
            ["verify", "app.whl", "--policy", "policy.toml"],
            ["verify", "bundle.json", "--policy", "missing.toml"],
            ["keys", "revoke", "nobody", "--at", "yesterday"],
            ["log", "prove"],
        ],
    )
    def test_one_line_exit_2_and_store_intact(self, workdir: Path, argv: list[str]) -> None:
        """Bad input: exit 2, one line on stderr, and the stored log is unchanged."""
        attest()
        write_policy(workdir)
        db = workdir / "data" / "uaa.sqlite3"
        before = (
            sqlite3.connect(db)
            .execute("SELECT COUNT(*), MAX(size) FROM entries, checkpoints")
            .fetchone()
        )
        code, _, err = uaa(*argv)
        assert code == 2, err
        assert err.count("\n") == 1
        assert "error:" in err
        after = (
            sqlite3.connect(db)
            .execute("SELECT COUNT(*), MAX(size) FROM entries, checkpoints")
            .fetchone()
        )
        assert before == after
        code, _, _ = uaa("verify", "bundle.json", "--policy", "policy.toml")
        assert code == 0

    def test_quorum_larger_than_witnesses_is_config_error(
        self, workdir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One witness with the default quorum of two is refused up front (exit 2), nothing issued."""
        from shared_core.crypto import ALG_COSIGNATURE_V1, generate_note_key

        key = generate_note_key("w1.example", ALG_COSIGNATURE_V1).verifier.encode()
        monkeypatch.setenv(
            "UNIVERSAL_ATTESTATION_AUTHORITY_WITNESSES", json.dumps([f"http://127.0.0.1:9 {key}"])
        )
        code, _, err = uaa(
            "attest", "--subject", "app.whl", "--predicate-type", "https://slsa.dev/provenance/v1"
        )
        assert code == 2
        assert "witness_quorum is 2 but only 1 witness" in err
        monkeypatch.setenv(
            "UNIVERSAL_ATTESTATION_AUTHORITY_WITNESSES", json.dumps(["http://127.0.0.1:9"])
        )
        code, _, err = uaa(
            "attest", "--subject", "app.whl", "--predicate-type", "https://slsa.dev/provenance/v1"
        )
        assert code == 2
        assert "URL VERIFIER_KEY" in err

    def test_half_tls_configuration_is_refused(self, workdir: Path) -> None:
        """serve with a certificate but no key (or a client CA without HTTPS) exits 2 naming the setting."""
        code, _, err = uaa("--tls-cert", "server.crt", "serve")
        assert code == 2
        assert "tls_cert and tls_key" in err
        code, _, err = uaa("--tls-client-ca", "ca.crt", "serve")
        assert code == 2
        assert "tls_client_ca needs TLS (tls_cert and tls_key, or 'uaa ca init')" in err
        code, _, err = uaa("--mtls", "true", "serve")
        assert code == 2
        assert "mtls needs the authority's CA" in err
        assert "uaa ca init" in err

    def test_uninitialised_data_dir(self, tmp_path: Path) -> None:
        """Using a data dir that was never initialised says to run init."""
        code, _, err = uaa("--data-dir", str(tmp_path / "nowhere"), "log", "keys")
        assert code == 1
        assert "uaa init" in err

    def test_init_twice_refused(self, workdir: Path) -> None:
        """init on an existing authority refuses and keeps it."""
        key = uaa("log", "keys")[1]
        assert uaa("init", "--origin", "other/log")[0] == 1
        assert uaa("log", "keys")[1] == key
