"""Helpers for tests of universal_attestation_authority and of systems that integrate it.

* :func:`sample_statement` builds a valid Statement about some bytes;
* :func:`policy_for` writes the policy text that trusts an :class:`Authority`;
* :class:`ServerThread` runs an ASGI app on a real uvicorn server on loopback,
  on a socket bound *before* the thread starts, so clients can connect at once
  (the kernel queues them) and no test waits or polls for readiness.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from universal_attestation_authority._authority import Authority
from universal_attestation_authority._statement import ResourceDescriptor, Statement

__all__ = ["SLSA_PROVENANCE", "ServerThread", "listening_socket", "policy_for", "sample_statement"]

SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"


def sample_statement(
    name: str = "dist/app-1.0.whl",
    content: bytes = b"artifact",
    predicate_type: str = SLSA_PROVENANCE,
    predicate: dict[str, Any] | None = None,
) -> Statement:
    """A Statement about one subject whose digest is SHA-256 of ``content``."""
    subject = ResourceDescriptor(name=name, digest={"sha256": hashlib.sha256(content).hexdigest()})
    return Statement.build(
        [subject], predicate_type, predicate if predicate is not None else {"builder": {"id": "ci"}}
    )


def policy_for(
    authority: Authority,
    *,
    keys: Sequence[str] = (),
    predicate_types: Sequence[str] = (SLSA_PROVENANCE,),
    subjects: Sequence[str] = ("dist/*",),
    threshold: int = 1,
    log_required: bool = True,
    witnesses: Sequence[str] = (),
    witness_threshold: int | None = None,
    extra: str = "",
) -> str:
    """A TOML policy trusting ``authority``'s keys (inline PEM) and log."""
    lines = []
    for record in authority.keyring:
        lines += [
            "[[keys]]",
            f'name = "{record.name}"',
            f'public_key = """{record.public_pem}"""',
            f'valid_from = "{record.to_dict()["valid_from"]}"',
        ]
        if record.valid_until is not None:
            lines.append(f'valid_until = "{record.to_dict()["valid_until"]}"')
    names = list(keys) or [r.name for r in authority.keyring]
    quoted = ", ".join(f'"{n}"' for n in names)
    lines += [
        "[[rules]]",
        'name = "provenance"',
        "predicate_types = [" + ", ".join(f'"{p}"' for p in predicate_types) + "]",
        "subjects = [" + ", ".join(f'"{s}"' for s in subjects) + "]",
        f"keys = [{quoted}]",
        f"threshold = {threshold}",
        "[log]",
        f"required = {'true' if log_required else 'false'}",
        f'verifier_keys = ["{authority.log_verifier.encode()}"]',
        "witnesses = [" + ", ".join(f'"{w}"' for w in witnesses) + "]",
        f"witness_threshold = {witness_threshold if witness_threshold is not None else len(witnesses)}",
    ]
    return "\n".join(lines) + "\n" + extra


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free loopback port and already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


class ServerThread:
    """A real uvicorn server for ``app`` on loopback, in a thread; a context manager.

    Extra keyword arguments go to ``uvicorn.Config`` (e.g. TLS options).

    Attributes:
        url: ``http://127.0.0.1:PORT`` once entered.
    """

    def __init__(self, app: Any, **config: Any) -> None:
        import uvicorn

        self._sock = listening_socket()
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        scheme = "https" if "ssl_certfile" in config else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        settings = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", **config
        )
        self._server = uvicorn.Server(settings)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()
