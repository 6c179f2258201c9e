"""Witnesses: C2SP tlog-witness add-checkpoint, quorum publishing, split views."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteSigner,
    generate_note_key,
    open_note,
)
from universal_attestation_authority import (
    AttestationInputError,
    AttestationWitnessError,
    Authority,
    Bundle,
    Policy,
    Witness,
    WitnessEndpoint,
    WitnessPool,
    create_witness_app,
    verify_bundle,
)
from universal_attestation_authority._service import publish_pending
from universal_attestation_authority._witness import encode_add_checkpoint, parse_add_checkpoint
from universal_attestation_authority.testing import (
    ServerThread,
    listening_socket,
    policy_for,
    sample_statement,
)

ORIGIN = "attest.example/log"


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    auth = Authority.init(tmp_path / "auth", ORIGIN)
    yield auth
    auth.close()


def witness_for(tmp_path: Path, authority: Authority, name: str = "w1.example") -> Witness:
    return Witness(
        tmp_path / f"{name}.sqlite3",
        generate_note_key(name, ALG_COSIGNATURE_V1),
        [authority.log_verifier],
        clock=lambda: 1_700_000_000,
    )


def signed(authority: Authority, size: int) -> bytes:
    return Checkpoint(ORIGIN, size, authority.log.tree.root(size)).sign([authority.log_signer])


class TestWitnessProtocol:
    def test_first_checkpoint_is_cosigned(self, tmp_path: Path, authority: Authority) -> None:
        """The first checkpoint (old 0) is cosigned with a verifiable cosignature/v1 line."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(5)])
        witness = witness_for(tmp_path, authority)
        note = signed(authority, 5)
        answer = witness.add_checkpoint(encode_add_checkpoint(0, [], note))
        assert answer.status == 200
        verified = open_note(note + answer.body, [witness.signer.verifier])
        assert verified.cosignature_times == {"w1.example": 1_700_000_000}

    def test_consistent_growth_is_cosigned(self, tmp_path: Path, authority: Authority) -> None:
        """A larger checkpoint with a valid consistency proof is cosigned."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(9)])
        witness = witness_for(tmp_path, authority)
        assert (
            witness.add_checkpoint(encode_add_checkpoint(0, [], signed(authority, 4))).status == 200
        )
        proof = authority.log.tree.consistency_proof(4, 9)
        assert (
            witness.add_checkpoint(encode_add_checkpoint(4, proof, signed(authority, 9))).status
            == 200
        )
        assert witness.latest(ORIGIN) is not None
        assert witness.latest(ORIGIN)[0] == 9  # type: ignore[index]

    def test_wrong_old_size_is_409_with_size(self, tmp_path: Path, authority: Authority) -> None:
        """An old size the witness does not hold gets 409 text/x.tlog.size with its size."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(6)])
        witness = witness_for(tmp_path, authority)
        witness.add_checkpoint(encode_add_checkpoint(0, [], signed(authority, 3)))
        answer = witness.add_checkpoint(encode_add_checkpoint(0, [], signed(authority, 6)))
        assert (answer.status, answer.content_type, answer.body) == (
            409,
            "text/x.tlog.size",
            b"3\n",
        )

    def test_bad_signature_unknown_log_malformed(
        self, tmp_path: Path, authority: Authority
    ) -> None:
        """403 for a checkpoint the log did not sign, 404 for an unknown origin, 400 for junk."""
        authority.issue(sample_statement())
        witness = witness_for(tmp_path, authority)
        impostor = NoteSigner(ORIGIN, generate_note_key(ORIGIN).key)
        forged = Checkpoint(ORIGIN, 1, authority.log.tree.root(1)).sign([impostor])
        assert witness.add_checkpoint(encode_add_checkpoint(0, [], forged)).status == 403
        other = generate_note_key("other.example/log")
        unknown = Checkpoint("other.example/log", 1, authority.log.tree.root(1)).sign([other])
        assert witness.add_checkpoint(encode_add_checkpoint(0, [], unknown)).status == 404
        assert witness.add_checkpoint(b"hello").status == 400

    def test_forked_log_is_detected_and_never_cosigned(self, tmp_path: Path) -> None:
        """Feeding a witness two forks: same size other root (409) and inconsistent growth (422)."""
        data = tmp_path / "a"
        with Authority.init(data, ORIGIN) as honest:
            honest.issue_many([sample_statement(content=bytes([i])) for i in range(4)])
        shutil.copytree(data, tmp_path / "fork")
        with Authority(data) as honest, Authority(tmp_path / "fork") as fork:
            honest.issue_many([sample_statement(content=b"honest" + bytes([i])) for i in range(4)])
            fork.issue_many([sample_statement(content=b"forked" + bytes([i])) for i in range(6)])
            witness = witness_for(tmp_path, honest)
            assert (
                witness.add_checkpoint(encode_add_checkpoint(0, [], signed(honest, 4))).status
                == 200
            )
            assert (
                witness.add_checkpoint(
                    encode_add_checkpoint(
                        4, honest.log.tree.consistency_proof(4, 8), signed(honest, 8)
                    )
                ).status
                == 200
            )
            same_size = witness.add_checkpoint(encode_add_checkpoint(8, [], signed(fork, 8)))
            assert same_size.status == 409
            grown = witness.add_checkpoint(
                encode_add_checkpoint(8, fork.log.tree.consistency_proof(8, 10), signed(fork, 10))
            )
            assert grown.status == 422
            kinds = [e.kind for e in witness.split_views()]
            assert kinds == ["same-size-different-root", "inconsistent-extension"]
            assert witness.latest(ORIGIN)[1] == honest.log.tree.root(8)  # type: ignore[index]
            evidence = witness.split_views()[0]
            assert evidence.seen_note.splitlines()[2] != evidence.offered_note.splitlines()[2]

    @settings(max_examples=100, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_requests_never_crash(self, body: bytes) -> None:
        """Arbitrary bodies parse or raise AttestationInputError."""
        with contextlib.suppress(AttestationInputError):
            parse_add_checkpoint(body)


def spawn_witness(
    tmp_path: Path, name: str, log_key: str
) -> tuple[subprocess.Popen[bytes], str, str]:
    """A witness as a separate process (``uaa witness serve``) on a pre-bound socket."""
    key_file = tmp_path / f"{name}.key"
    signer = generate_note_key(name, ALG_COSIGNATURE_V1)
    with signer.encode() as secret:
        key_file.write_bytes(secret.reveal() + b"\n")
    key_file.chmod(0o600)
    verifier = signer.verifier.encode()
    sock = listening_socket()
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "universal_attestation_authority",
            "witness",
            "serve",
            "--key",
            str(key_file),
            "--log-key",
            log_key,
            "--state",
            str(tmp_path / f"{name}.sqlite3"),
            "--fd",
            str(sock.fileno()),
        ],
        pass_fds=[sock.fileno()],
    )
    sock.close()
    return proc, f"http://127.0.0.1:{port}", verifier


class TestQuorum:
    @pytest.mark.slow
    def test_two_witnesses_cosign_one_a_separate_process(
        self, tmp_path: Path, authority: Authority
    ) -> None:
        """A witness process (uaa witness serve) and an in-process one: checkpoints carry both cosignatures."""
        proc, url, verifier = spawn_witness(tmp_path, "w1.example", authority.log_verifier.encode())
        local = witness_for(tmp_path, authority, "w2.example")
        try:
            with ServerThread(create_witness_app(local)) as server:
                endpoints = [
                    WitnessEndpoint.parse(url, verifier),
                    WitnessEndpoint(server.url, local.signer.verifier),
                ]
                pool = WitnessPool(endpoints, authority.store, timeout=30)
                authority.log.cosigner = pool
                authority.log.witness_quorum = 2
                first = authority.issue(sample_statement(content=b"1"))
                authority.publish()
                authority.issue_many([sample_statement(content=bytes([i, 2])) for i in range(5)])
                row = authority.publish()
                pool.close()
            assert row.size == 6
            verified = open_note(row.note, [e.verifier for e in endpoints])
            assert sorted(verified.cosignature_times) == ["w1.example", "w2.example"]
            witnesses = [e.verifier.encode() for e in endpoints]
            policy = Policy.loads(policy_for(authority, witnesses=witnesses, witness_threshold=2))
            assert verify_bundle(authority.bundle(first.id), policy).ok
            one_witness = Policy.loads(
                policy_for(authority, witnesses=witnesses[:1], witness_threshold=1)
            )
            assert verify_bundle(authority.bundle(first.id), one_witness).ok
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def test_quorum_not_met_publishes_nothing(self, tmp_path: Path, authority: Authority) -> None:
        """One reachable witness of a quorum of two: the checkpoint is not published."""
        witness = witness_for(tmp_path, authority)
        dead = listening_socket()
        dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
        dead.close()
        with ServerThread(create_witness_app(witness)) as server:
            endpoints = [
                WitnessEndpoint(server.url, witness.signer.verifier),
                WitnessEndpoint(
                    dead_url, generate_note_key("w2.example", ALG_COSIGNATURE_V1).verifier
                ),
            ]
            pool = WitnessPool(endpoints, authority.store, timeout=5)
            authority.log.cosigner = pool
            authority.log.witness_quorum = 2
            authority.issue(sample_statement())
            with pytest.raises(AttestationWitnessError, match="1 cosignature"):
                authority.publish()
            assert authority.log.latest() is None
            assert Bundle(authority.issue(sample_statement()).envelope).log is None
            assert publish_pending(authority) is False  # still short of the quorum
            authority.log.witness_quorum = 1
            assert publish_pending(authority) is True  # what the service's retry loop does
            assert authority.log.latest().size == 1  # type: ignore[union-attr]
            assert publish_pending(authority) is False  # nothing pending
            pool.close()

    def test_witness_http_split_view_endpoint(self, tmp_path: Path, authority: Authority) -> None:
        """The witness's HTTP API reports recorded split views."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(2)])
        witness = witness_for(tmp_path, authority)
        witness.add_checkpoint(encode_add_checkpoint(0, [], signed(authority, 2)))
        other_root = Checkpoint(ORIGIN, 2, b"\x07" * 32).sign([authority.log_signer])
        with ServerThread(create_witness_app(witness)) as server:
            answer = httpx.post(
                f"{server.url}/add-checkpoint", content=encode_add_checkpoint(2, [], other_root)
            )
            assert answer.status_code == 409
            views = httpx.get(f"{server.url}/split-views").json()["split_views"]
        assert [v["kind"] for v in views] == ["same-size-different-root"]
