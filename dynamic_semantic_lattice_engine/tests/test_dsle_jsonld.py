"""JSON-LD loading never fetches a referenced @context unless the caller opts in.

A loopback HTTP server stands in for a remote host: it serves a valid
context and records every request.  Refused documents must leave it
untouched; the opt-in test shows the same setup does see a fetch.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamic_semantic_lattice_engine import KnowledgeBase, LatticeRdfError
from dynamic_semantic_lattice_engine._jsonldguard import context_references
from dynamic_semantic_lattice_engine._store import load_store

NAME = "<http://xmlns.com/foaf/0.1/name>"
CONTEXT = {"@context": {"name": "http://xmlns.com/foaf/0.1/name"}}


class _Recorder(HTTPServer):
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Recorder)
        server.requests.append(self.path)
        body = json.dumps(CONTEXT).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def context_server() -> Iterator[_Recorder]:
    """A loopback server on a port the kernel picks, stopped however the test ends."""
    server = _Recorder(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _url(server: _Recorder) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/context.jsonld"


def _doc(context: object) -> str:
    return json.dumps({"@context": context, "@id": "http://ex/a", "name": "Alice"})


class TestRemoteContextsRefused:
    @pytest.mark.parametrize(
        "shape",
        ["string", "list", "import", "scoped", "nested-node"],
    )
    def test_reference_is_refused_and_nothing_is_fetched(
        self, context_server: _Recorder, shape: str
    ) -> None:
        url = _url(context_server)
        embedded = {"name": "http://xmlns.com/foaf/0.1/name"}
        docs = {
            "string": _doc(url),
            "list": _doc([embedded, url]),
            "import": _doc({"@import": url, **embedded}),
            "scoped": _doc({**embedded, "knows": {"@id": "http://ex/knows", "@context": url}}),
            "nested-node": json.dumps(
                {"@context": embedded, "@id": "http://ex/a", "http://ex/p": {"@context": url}}
            ),
        }
        kb = KnowledgeBase()
        with pytest.raises(LatticeRdfError, match="references the JSON-LD context") as caught:
            kb.load_rdf(data=docs[shape], format="json-ld")
        assert url in str(caught.value)
        assert caught.value.hint is not None
        assert "allow-remote-contexts" in caught.value.hint
        assert context_server.requests == []
        assert len(kb.relation("triple")) == 0

    def test_relative_file_context_is_refused(self, tmp_path: Path) -> None:
        """A relative reference would be read from disk next to the document: refused too."""
        (tmp_path / "ctx.jsonld").write_text(json.dumps(CONTEXT))
        doc = tmp_path / "doc.jsonld"
        doc.write_text(_doc("ctx.jsonld"))
        with pytest.raises(LatticeRdfError, match=r"'ctx\.jsonld'"):
            KnowledgeBase().load_rdf(doc)

    def test_embedded_context_loads(self) -> None:
        kb = KnowledgeBase()
        assert kb.load_rdf(data=_doc(CONTEXT["@context"]), format="json-ld") == 1
        assert kb.facts("triple") == [("<http://ex/a>", NAME, '"Alice"')]

    def test_opt_in_fetches_the_context(
        self, context_server: _Recorder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same server does see a request when the caller allows remote contexts."""
        for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("no_proxy", "*")
        kb = KnowledgeBase()
        added = kb.load_rdf(
            data=_doc(_url(context_server)), format="json-ld", allow_remote_contexts=True
        )
        assert added == 1
        assert kb.facts("triple") == [("<http://ex/a>", NAME, '"Alice"')]
        assert context_server.requests == ["/context.jsonld"]

    def test_cli_refuses_with_exit_2_and_keeps_the_store(
        self, tmp_path: Path, context_server: _Recorder
    ) -> None:
        from dynamic_semantic_lattice_engine.cli import main
        from shared_core.testing import run_cli

        store = tmp_path / "kb.sqlite"
        good = tmp_path / "good.ttl"
        good.write_text("<http://ex/a> <http://ex/p> <http://ex/b> .\n")
        assert run_cli(main, ["--store", str(store), "load", str(good)]).code == 0
        doc = tmp_path / "remote.jsonld"
        doc.write_text(_doc(_url(context_server)))
        result = run_cli(main, ["--store", str(store), "load", str(doc)])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "--allow-remote-contexts" in result.err
        assert context_server.requests == []
        assert len(load_store(store).relation("triple")) == 1


class TestJsonLdDecoding:
    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes(self, data: bytes) -> None:
        """Any bytes load as JSON-LD or raise LatticeRdfError."""
        with contextlib.suppress(LatticeRdfError):
            KnowledgeBase().load_rdf(data=data.decode("utf-8", "replace"), format="json-ld")

    @settings(max_examples=150, deadline=None)
    @given(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.sampled_from(["@id", "@type", "http://ex/a", "@context", "x", "@vocab"]),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        ["@context", "@id", "@type", "@graph", "@import", "@value", "http://ex/p"]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        )
    )
    def test_arbitrary_json_ld_shapes(self, doc: object) -> None:
        """JSON-LD-shaped documents load or raise LatticeRdfError, and never fetch anything."""
        with contextlib.suppress(LatticeRdfError):
            KnowledgeBase().load_rdf(data=json.dumps(doc), format="json-ld")

    def test_deep_nesting_is_an_error_not_a_crash(self) -> None:
        with pytest.raises(LatticeRdfError):
            KnowledgeBase().load_rdf(data="[" * 100_000, format="json-ld")

    def test_references_found_everywhere(self) -> None:
        doc = {
            "@context": ["a.jsonld", {"@import": "b.jsonld", "t": {"@context": "c.jsonld"}}],
            "@graph": [{"@context": {"x": "http://ex/x"}}, {"@context": ["d.jsonld"]}],
        }
        assert context_references(doc) == ["a.jsonld", "b.jsonld", "c.jsonld", "d.jsonld"]
