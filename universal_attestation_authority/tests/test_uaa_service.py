"""The HTTP API on a real uvicorn server on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from shared_core.crypto import Checkpoint, verify_consistency, verify_inclusion
from universal_attestation_authority import (
    Authority,
    Bundle,
    LogEntry,
    Policy,
    ServiceConfig,
    TileHashReader,
    TileRef,
    create_app,
    decode_entry_bundle,
    verify_bundle,
)
from universal_attestation_authority.testing import ServerThread, policy_for, sample_statement

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Authority, str]]:
    authority = Authority.init(tmp_path_factory.mktemp("svc") / "auth", "attest.example/log")
    config = ServiceConfig(
        api_tokens=(TOKEN,), max_request_bytes=64 * 1024, rate_limit=1000, rate_burst=1000
    )
    with ServerThread(create_app(authority, config)) as server:
        yield authority, server.url
    authority.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def statement_json(content: bytes, name: str = "dist/app.whl") -> dict[str, object]:
    return sample_statement(name=name, content=content).to_json_dict()


class TestIssuing:
    def test_create_get_verify(self, service: tuple[Authority, str]) -> None:
        """POST issues and returns a bundle that verifies; GET returns it; /verify agrees."""
        authority, url = service
        created = httpx.post(
            f"{url}/api/v1/attestations", json={"statement": statement_json(b"one")}, headers=AUTH
        )
        assert created.status_code == 201, created.text
        body = created.json()
        bundle = Bundle.from_dict(body["bundle"])
        assert bundle.log is not None
        assert verify_bundle(bundle, Policy.loads(policy_for(authority))).ok
        fetched = httpx.get(f"{url}/api/v1/attestations/{body['id']}").json()
        assert fetched["dsseEnvelope"] == body["bundle"]["dsseEnvelope"]
        verdict = httpx.post(
            f"{url}/api/v1/verify", json={"bundle": fetched, "policy": policy_for(authority)}
        ).json()
        assert verdict["ok"] is True
        assert verdict["rule"] == "provenance"
        digest = statement_json(b"one")["subject"][0]["digest"]["sha256"]  # type: ignore[index]
        found = httpx.get(
            f"{url}/api/v1/attestations", params={"digest": f"sha256:{digest}"}
        ).json()
        assert body["id"] in found["attestations"]

    def test_concurrent_issuers_are_batched(self, service: tuple[Authority, str]) -> None:
        """Concurrent POSTs all get distinct log indexes, a covering checkpoint and valid bundles."""
        authority, url = service
        with httpx.Client(base_url=url, headers=AUTH) as client, ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(
                    lambda i: client.post(
                        "/api/v1/attestations",
                        json={"statement": statement_json(b"concurrent" + bytes([i]))},
                    ).json(),
                    range(24),
                )
            )
        assert len({r["log_index"] for r in results}) == 24
        assert all(r["published"] for r in results)
        policy = Policy.loads(policy_for(authority))
        assert all(verify_bundle(Bundle.from_dict(r["bundle"]), policy).ok for r in results)

    def test_verify_failure_names_rule(self, service: tuple[Authority, str]) -> None:
        """/verify of a subject outside the rule reports the subjects check."""
        authority, url = service
        created = httpx.post(
            f"{url}/api/v1/attestations",
            json={"statement": statement_json(b"two", name="src/x")},
            headers=AUTH,
        ).json()
        verdict = httpx.post(
            f"{url}/api/v1/verify",
            json={"bundle": created["bundle"], "policy": policy_for(authority)},
        ).json()
        assert verdict["ok"] is False
        assert verdict["failures"][0]["check"] == "subjects"

    def test_verify_refuses_file_references(self, service: tuple[Authority, str]) -> None:
        """A policy sent over HTTP cannot make the server read its files."""
        _, url = service
        policy = '[[keys]]\nname = "k"\npublic_key = "/etc/passwd"\n[[rules]]\npredicate_types = ["a:b"]\nkeys = ["k"]\n'
        bundle = {"payload": "", "payloadType": "x", "signatures": []}
        response = httpx.post(f"{url}/api/v1/verify", json={"bundle": bundle, "policy": policy})
        assert response.status_code == 400
        assert "file references are not allowed" in response.json()["error"]
        response = httpx.post(
            f"{url}/api/v1/verify", json={"bundle": bundle, "policy": 'keyring = "/etc/passwd"\n'}
        )
        assert response.status_code == 400

    def test_issuing_needs_a_valid_token(self, service: tuple[Authority, str]) -> None:
        """No token or a wrong one is 401 with a WWW-Authenticate header; nothing is logged."""
        authority, url = service
        before = authority.log.size
        missing = httpx.post(f"{url}/api/v1/attestations", json={"statement": statement_json(b"x")})
        wrong = httpx.post(
            f"{url}/api/v1/attestations",
            json={"statement": statement_json(b"x")},
            headers={"Authorization": "Bearer nope"},
        )
        assert (missing.status_code, wrong.status_code) == (401, 401)
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert authority.log.size == before

    @pytest.mark.parametrize(
        ("payload", "status"),
        [
            ({"statement": {"_type": "nope"}}, 400),
            ({"statement": "text"}, 422),
            ({"nothing": 1}, 422),
        ],
    )
    def test_bad_input_is_4xx_with_message(
        self, service: tuple[Authority, str], payload: dict[str, object], status: int
    ) -> None:
        """Malformed statements are 4xx with an error message, never 500."""
        _, url = service
        response = httpx.post(f"{url}/api/v1/attestations", json=payload, headers=AUTH)
        assert response.status_code == status
        assert response.json()["error"]

    def test_oversized_body_is_413(self, service: tuple[Authority, str]) -> None:
        """A body over the limit is refused before any work."""
        _, url = service
        big = {"statement": statement_json(b"big") | {"predicate": {"blob": "x" * 70000}}}
        response = httpx.post(f"{url}/api/v1/attestations", json=big, headers=AUTH)
        assert response.status_code == 413

    def test_rate_limit_is_429(self, tmp_path: Path) -> None:
        """Past the burst, issuing answers 429 with Retry-After."""
        authority = Authority.init(tmp_path / "auth", "rl.example/log")
        config = ServiceConfig(api_tokens=(TOKEN,), rate_limit=0.01, rate_burst=2)
        with ServerThread(create_app(authority, config)) as server:
            codes = [
                httpx.post(
                    f"{server.url}/api/v1/attestations",
                    json={"statement": statement_json(bytes([i]))},
                    headers=AUTH,
                ).status_code
                for i in range(3)
            ]
            last = httpx.post(
                f"{server.url}/api/v1/attestations",
                json={"statement": statement_json(b"z")},
                headers=AUTH,
            )
        authority.close()
        assert codes == [201, 201, 429]
        assert int(last.headers["retry-after"]) >= 1


class TestLogEndpoints:
    def test_checkpoint_tiles_and_proofs(self, service: tuple[Authority, str]) -> None:
        """A tile client reconstructs the root from /tile and checks /checkpoint and proofs."""
        authority, url = service
        for i in range(3):
            httpx.post(
                f"{url}/api/v1/attestations",
                json={"statement": statement_json(b"log" + bytes([i]))},
                headers=AUTH,
            )
        note = httpx.get(f"{url}/checkpoint").content
        checkpoint, _ = Checkpoint.open(note, [authority.log_verifier])

        def fetch(ref: TileRef) -> bytes:
            response = httpx.get(f"{url}/{ref.path()}")
            assert response.status_code == 200, ref.path()
            return response.content

        reader = TileHashReader(checkpoint.size, fetch)
        assert reader.root() == checkpoint.root_hash
        last = checkpoint.size - 1
        entries = decode_entry_bundle(fetch(TileRef(-1, 0, checkpoint.size)))
        assert LogEntry.from_bytes(entries[last]).predicate_type.startswith("https://slsa.dev/")
        proof = httpx.get(f"{url}/api/v1/log/inclusion", params={"index": last}).json()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(
            reader.leaf_hash(last), last, checkpoint.size, hashes, checkpoint.root_hash
        )
        consistency = httpx.get(f"{url}/api/v1/log/consistency", params={"old": 1}).json()
        verify_consistency(
            1,
            checkpoint.size,
            [base64.b64decode(h) for h in consistency["hashes"]],
            authority.log.tree.root(1),
            checkpoint.root_hash,
        )

    def test_cli_verifies_an_entry_against_the_served_tiles(
        self, service: tuple[Authority, str]
    ) -> None:
        """uaa log verify with --checkpoint URL and --tiles URL: a tile client over HTTP."""
        from shared_core.testing import run_cli
        from universal_attestation_authority.cli import main

        authority, url = service
        created = httpx.post(
            f"{url}/api/v1/attestations",
            json={"statement": statement_json(b"tile client")},
            headers=AUTH,
        ).json()
        result = run_cli(
            main,
            [
                "--json",
                "log",
                "verify",
                "--checkpoint",
                f"{url}/checkpoint",
                "--tiles",
                url,
                "--entry",
                str(created["log_index"]),
                "--log-key",
                authority.log_verifier.encode(),
            ],
        )
        assert result.code == 0, result.err
        assert json.loads(result.out)["entry"]["id"] == created["id"]

    def test_read_errors_are_4xx(self, service: tuple[Authority, str]) -> None:
        """Unknown ids, unpublished tiles, bad tile paths and bad indexes are 4xx."""
        _, url = service
        assert httpx.get(f"{url}/api/v1/attestations/{'0' * 64}").status_code == 404
        assert httpx.get(f"{url}/api/v1/attestations/xyz").status_code == 422
        assert httpx.get(f"{url}/tile/0/x001/000").status_code == 404
        assert httpx.get(f"{url}/tile/0/1").status_code == 400
        assert httpx.get(f"{url}/api/v1/log/inclusion", params={"index": 10**9}).status_code == 404
        assert httpx.get(f"{url}/api/v1/log/inclusion", params={"index": -1}).status_code == 422

    def test_keys_health_metrics_openapi(self, service: tuple[Authority, str]) -> None:
        """Keys publish the keyring and log key; health, metrics and the OpenAPI schema answer."""
        authority, url = service
        keys = httpx.get(f"{url}/api/v1/keys").json()
        assert keys["log"]["verifier_key"] == authority.log_verifier.encode()
        assert keys["keyring"]["format"] == "uaa-keyring/v1"
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        httpx.post(
            f"{url}/api/v1/attestations",
            json={"statement": statement_json(b"metric")},
            headers=AUTH,
        )
        metrics = httpx.get(f"{url}/metrics").text
        assert "universal_attestation_authority_attestations_issued_total" in metrics
        assert (
            f"universal_attestation_authority_log_entries_count {float(authority.log.size)}"
            in metrics
        )
        schema = httpx.get(f"{url}/openapi.json").json()
        assert {
            "/api/v1/attestations",
            "/checkpoint",
            "/tile/{tile_path}",
            "/api/v1/verify",
        } <= set(schema["paths"])


class TestSchemathesis:
    @pytest.mark.slow
    def test_no_5xx_anywhere(self, service: tuple[Authority, str]) -> None:
        """schemathesis, driven by the service's own schema, finds no 5xx on any operation."""
        schemathesis = pytest.importorskip("schemathesis")
        _, url = service
        schema = schemathesis.openapi.from_dict(json.loads(httpx.get(f"{url}/openapi.json").text))

        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 11  # 11 operations x 5 examples
        for operation in operations:  # every operation gets its own share of examples

            @given(case=operation.as_strategy())
            @settings(
                max_examples=8,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: object) -> None:
                response = case.call(base_url=url, headers=AUTH)  # type: ignore[attr-defined]
                assert response.status_code < 500, (case, response.text)  # type: ignore[attr-defined]

            check()
