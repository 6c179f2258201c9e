"""A guard that JSON-LD input must pass before rdflib sees it.

rdflib's JSON-LD parser dereferences every context given by reference: an
``"@context": "https://..."`` (alone or in a list, at the top, in any node
or in a scoped term definition) and an ``"@import"`` inside a context are
fetched with ``urllib`` while the document is parsed, and a relative
reference is resolved against the document's own location and read from
disk.  A document from an untrusted source could thereby make the loader
issue requests to internal addresses (server-side request forgery) or read
local files.

So loading refuses, by default, any JSON-LD document that references a
context instead of embedding it; the caller opts in for sources it trusts
(``allow_remote_contexts=True``, ``dsle load --allow-remote-contexts``).
The check walks the parsed JSON before rdflib is called, so nothing is
fetched for a refused document.  A document that is not JSON at all gets
the same error type, :class:`LatticeRdfError`.
"""

from __future__ import annotations

import json
from typing import Any

from dynamic_semantic_lattice_engine.errors import LatticeRdfError

__all__ = ["JSONLD_FORMATS", "check_jsonld", "context_references"]

JSONLD_FORMATS = frozenset({"json-ld", "jsonld", "application/ld+json"})


def context_references(document: Any) -> list[str]:
    """Every context the document references rather than embeds, in document order.

    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    found: list[str] = []
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(reversed(node))
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    refs = value if isinstance(value, list) else [value]
                    found.extend(ref for ref in refs if isinstance(ref, str))
                elif key == "@import" and isinstance(value, str):
                    found.append(value)
            pending.extend(reversed(list(node.values())))
    return found


def check_jsonld(text: str | bytes, where: str, *, allow_remote_contexts: bool) -> Any:
    """Parse ``text`` as JSON and refuse context references unless allowed.

    Returns:
        The parsed document.

    Raises:
        LatticeRdfError: the text is not JSON, or it references a context
            and ``allow_remote_contexts`` is false.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LatticeRdfError(
            f"cannot parse {where} as json-ld: not JSON: {first}",
            hint="check the file and pass --format turtle|nt|xml|json-ld",
        ) from exc
    if not allow_remote_contexts:
        refs = context_references(document)
        if refs:
            raise LatticeRdfError(
                f"{where} references the JSON-LD context {refs[0]!r}; "
                "remote and file contexts are not fetched by default",
                hint="embed the context in the document, or pass "
                "--allow-remote-contexts (allow_remote_contexts=True) for a trusted source",
            )
    return document
