"""Helpers for tests of chaos_engine and of what it is pointed at (loopback servers, the reference tools).

Tests never import each other; what they share lives here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["REFERENCE_VENV", "echo", "reference_python", "tcp_server"]

# The same default and override as tools/reference_venv.sh, which makes it.
REFERENCE_VENV = Path(
    os.environ.get("CHAOS_ENGINE_REFERENCE_VENV")
    or Path.home() / ".cache" / "chaos_engine" / "reference-venv"
)


def echo(conn: socket.socket) -> None:
    """A connection handler that echoes until the peer closes (resets are ignored)."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn, contextlib.suppress(OSError):
        while data := conn.recv(65536):
            conn.sendall(data)


def tcp_server(handler: Callable[[socket.socket], None] = echo) -> tuple[socket.socket, int]:
    """A loopback TCP server running ``handler`` in a thread per connection; (listener, port).

    Close the listener to stop accepting.
    """
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, int(srv.getsockname()[1])


def reference_python(*modules: str) -> str | None:
    """A Python interpreter that can import ``modules`` (the reference tools), or ``None``.

    Looks at ``$CHAOS_ENGINE_REFERENCE_PYTHON``, then the venv that
    ``chaos_engine/tools/reference_venv.sh`` makes, then this interpreter.
    """
    candidates = [
        os.environ.get("CHAOS_ENGINE_REFERENCE_PYTHON"),
        str(REFERENCE_VENV / "bin" / "python"),
        sys.executable,
    ]
    code = "import " + ", ".join(modules)
    for candidate in candidates:
        if (
            candidate
            and Path(candidate).exists()
            and subprocess.run([candidate, "-c", code], capture_output=True, check=False).returncode
            == 0
        ):
            return candidate
    return None
