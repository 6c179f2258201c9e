"""Serve node metrics over HTTP, as node_exporter does on :9100."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from linux_scalable_cloud_kernel._node_metrics import NodeCollector
from linux_scalable_cloud_kernel._procfs import NodeFiles
from linux_scalable_cloud_kernel.errors import KernelToolkitInputError

__all__ = ["parse_listen_address", "serve_metrics"]


def parse_listen_address(text: str) -> tuple[str, int]:
    """``:9100`` or ``127.0.0.1:9100`` -> (host, port); a bare ``:port`` means loopback."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise KernelToolkitInputError(
            f"invalid listen address {text!r}",
            hint="use HOST:PORT or :PORT, e.g. 127.0.0.1:9100",
        )
    return (host.strip("[]") or "127.0.0.1"), int(port_text)


def serve_metrics(
    host: str, port: int, files: NodeFiles | None = None
) -> tuple[WSGIServer, threading.Thread]:
    """Start ``/metrics`` in a daemon thread; every request scrapes the node afresh."""
    registry = CollectorRegistry()
    registry.register(NodeCollector(files))
    try:
        return start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise KernelToolkitInputError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose a free port or another address",
        ) from exc
