"""Witness cosigning of ledger checkpoints, against a real C2SP witness on loopback.

The witness is universal_attestation_authority's ``uaa witness serve`` run as
a separate process (the ledger never imports it); the test is skipped when
that package is not installed.  Cosignatures are kept, checked on every
open, and a tampered one is detected.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cross_domain_autoblocker_ledger import (
    Decision,
    Ledger,
    LedgerInputError,
    LedgerIntegrityError,
    WitnessEndpoint,
    request_cosignatures,
)
from cross_domain_autoblocker_ledger.cli import main
from shared_core.crypto import ALG_COSIGNATURE_V1, Note, generate_note_key, open_note
from shared_core.testing import free_port, run_cli

HAVE_UAA = importlib.util.find_spec("universal_attestation_authority") is not None
ORIGIN = "cdabl.test/ledger"

needs_witness = pytest.mark.skipif(
    not HAVE_UAA,
    reason="universal_attestation_authority (the C2SP witness used here) is not installed",
)


@dataclass
class RunningWitness:
    url: str
    key: str  # its cosignature/v1 verifier key
    proc: subprocess.Popen[bytes]

    @property
    def spec(self) -> str:
        return f"{self.url} {self.key}"


def _uaa(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "universal_attestation_authority", *args], **kwargs
    )


ORIGINS = ("cdabl.test/a", "cdabl.test/b", "cdabl.test/c", "cdabl.test/d")


@pytest.fixture(scope="module")
def ledger_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A signing key per test (one origin each), so one witness serves the whole module."""
    root = tmp_path_factory.mktemp("keys")
    keys: dict[str, Path] = {}
    for origin in ORIGINS:
        key = root / (origin.rsplit("/", 1)[1] + ".key")
        Ledger.open(root / (origin.rsplit("/", 1)[1] + ".db"), key, origin=origin).close()
        keys[origin] = key
    return keys


@pytest.fixture(scope="module")
def witness(
    tmp_path_factory: pytest.TempPathFactory, ledger_keys: dict[str, Path]
) -> Iterator[RunningWitness]:
    if not HAVE_UAA:
        pytest.skip("universal_attestation_authority is not installed")
    tmp_path = tmp_path_factory.mktemp("witness")
    init = _uaa(
        "--json",
        "witness",
        "init",
        "--name",
        "w1.test",
        "--out",
        str(tmp_path / "w.key"),
        stdout=subprocess.PIPE,
    )
    out, _ = init.communicate(timeout=60)
    assert init.returncode == 0
    key = json.loads(out)["verifier_key"]
    port = free_port()
    log_keys: list[str] = []
    for origin, path in ledger_keys.items():
        ledger = Ledger.open(path.with_suffix(".db"), path, origin=origin, read_only=True)
        log_keys += ["--log-key", ledger.verifier.encode()]
        ledger.close()
    log = (tmp_path / "witness.log").open("wb")
    proc = _uaa(
        *("--host", "127.0.0.1", "--port", str(port), "witness", "serve"),
        *("--key", str(tmp_path / "w.key"), *log_keys),
        *("--state", str(tmp_path / "witness.db")),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # loopback
                if answer.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the witness did not start: " + (tmp_path / "witness.log").read_text())
        time.sleep(0.1)
    try:
        yield RunningWitness(url, key, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _ban(ledger: Ledger, value: str) -> None:
    ledger.add([Decision(0, str(uuid.uuid4()), "test", "ban", "Ip", value, 0.0, 4e9, "w")])


@needs_witness
def test_cosignatures_kept_grow_with_the_log_and_verify_on_open(
    tmp_path: Path, witness: RunningWitness, ledger_keys: dict[str, Path]
) -> None:
    endpoint = WitnessEndpoint.parse(witness.spec)
    path = tmp_path / "node" / "ledger.db"
    key = ledger_keys["cdabl.test/a"]
    ledger = Ledger.open(path, key)
    try:
        _ban(ledger, "192.0.2.1")
        first = request_cosignatures(ledger, [endpoint])
        assert [(o.cosigned, o.size) for o in first] == [(True, 1)], first
        for i in range(2, 6):
            _ban(ledger, f"192.0.2.{i}")
        # The witness checks the consistency proof from size 1 to 5 before cosigning.
        second = request_cosignatures(ledger, [endpoint])
        assert [(o.cosigned, o.size) for o in second] == [(True, 5)], second
        assert ledger.witnessed_size("w1.test") == 5
        note = ledger.cosigned_checkpoint()
        verified = open_note(note, [ledger.verifier, endpoint.verifier])
        assert set(verified.verified_by) == {"cdabl.test/a", "w1.test"}
        assert "w1.test" in verified.cosignature_times
    finally:
        ledger.close()
    reopened = Ledger.open(path, key, witnesses=[endpoint.verifier])
    try:
        assert reopened.verify_cosignatures() == {"w1.test": 5}
    finally:
        reopened.close()


@needs_witness
def test_tampered_cosignature_is_detected_on_open(
    tmp_path: Path, witness: RunningWitness, ledger_keys: dict[str, Path]
) -> None:
    endpoint = WitnessEndpoint.parse(witness.spec)
    path = tmp_path / "node" / "ledger.db"
    key = ledger_keys["cdabl.test/b"]
    ledger = Ledger.open(path, key)
    try:
        _ban(ledger, "198.51.100.9")
        assert request_cosignatures(ledger, [endpoint])[0].cosigned
    finally:
        ledger.close()
    with sqlite3.connect(path) as db:
        (line,) = db.execute("SELECT line FROM cosignatures").fetchone()
        name, sig = line.rstrip("\n").rsplit(" ", 1)
        forged = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
        db.execute("UPDATE cosignatures SET line = ?", (f"{name} {forged}\n",))
    with pytest.raises(
        LedgerIntegrityError, match=r"cosignature of checkpoint 1 by witness w1\.test"
    ):
        Ledger.open(path, key, witnesses=[endpoint.verifier])
    # A reader that does not know the witness still opens the ledger.
    Ledger.open(path, key, read_only=True).close()


@needs_witness
def test_cli_witness_checkpoint_and_verify(
    tmp_path: Path,
    witness: RunningWitness,
    ledger_keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_KEY_FILE", str(ledger_keys["cdabl.test/c"]))
    added = run_cli(main, ["decisions", "add", "--ip", "203.0.113.5", "--duration", "1h"])
    assert added.code == 0, added.err
    asked = run_cli(main, ["ledger", "witness", "--witness", witness.spec])
    assert asked.code == 0, asked.err
    assert "w1.test: cosigned size 1" in asked.out
    shown = run_cli(main, ["ledger", "checkpoint"])
    assert shown.code == 0
    names = [s.name for s in Note.parse(shown.out.strip() + "\n").signatures]
    assert names == ["cdabl.test/c", "w1.test"]
    verified = run_cli(main, ["ledger", "verify", "--witness-key", witness.key])
    assert verified.code == 0, verified.err
    assert "witness w1.test: cosigned up to size 1" in verified.out


def test_unreachable_witness_is_an_outcome_not_a_crash(tmp_path: Path) -> None:
    key = generate_note_key("w9.test", ALG_COSIGNATURE_V1).verifier.encode()
    endpoint = WitnessEndpoint.parse(f"http://127.0.0.1:{free_port()} {key}")
    ledger = Ledger.open(tmp_path / "l.db", origin=ORIGIN)
    try:
        (outcome,) = request_cosignatures(ledger, [endpoint], timeout=5)
        assert not outcome.cosigned
        assert outcome.detail.startswith("unreachable")
        assert ledger.cosigned_checkpoint() == ledger.checkpoint()
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("http://w.example", "is not 'URL VERIFIER_KEY'"),
        ("w.example w1+00+AA", "is not 'URL VERIFIER_KEY'"),
        ("http://w.example not-a-key", "witness key"),
        (
            f"http://w.example {ORIGIN}+7968b939+AQfM9Fc83J00q7cQs3Gg6oZakGMt+NrUXt0HW0HcqtM3",
            "cosignature/v1",
        ),
    ],
)
def test_bad_witness_specs(spec: str, message: str) -> None:
    with pytest.raises(LedgerInputError, match=message):
        WitnessEndpoint.parse(spec)


def test_cli_witness_without_witnesses_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_DATA_DIR", str(tmp_path / "node"))
    result = run_cli(main, ["ledger", "witness"])
    assert result.code == 2
    assert "no witness to ask" in result.err


@needs_witness
def test_serving_node_asks_witnesses_over_its_api(
    tmp_path: Path, witness: RunningWitness, ledger_keys: dict[str, Path]
) -> None:
    """While `serve` holds the writer lock, POST /v1/ledger/witness runs the round."""
    import httpx

    from cross_domain_autoblocker_ledger import ApiServer, Autoblocker, create_app

    ledger = Ledger.open(tmp_path / "api" / "ledger.db", ledger_keys["cdabl.test/d"])
    endpoint = WitnessEndpoint.parse(witness.spec)
    server = ApiServer(
        create_app(ledger, Autoblocker(ledger, []), "admin-token-0123456789", witnesses=[endpoint]),
        "127.0.0.1",
        0,
    )
    server.start()
    try:
        _ban(ledger, "192.0.2.77")
        base = f"http://127.0.0.1:{server.port}"
        refused = httpx.post(f"{base}/v1/ledger/witness", timeout=30)
        assert refused.status_code == 403
        done = httpx.post(
            f"{base}/v1/ledger/witness",
            headers={"Authorization": "Bearer admin-token-0123456789"},
            timeout=30,
        )
        assert done.status_code == 200, done.text
        assert done.json()["outcomes"][0]["cosigned"] is True
        note = httpx.get(f"{base}/v1/ledger/checkpoint", timeout=30).text
        assert [s.name for s in Note.parse(note).signatures] == ["cdabl.test/d", "w1.test"]
    finally:
        server.stop()
        ledger.close()
