"""Start the fault proxy in-process, put it in front of an echo server, add latency, measure it.

uv run python chaos_engine/examples/proxy_latency.py
"""

import socket
import statistics
import threading
import time

from chaos_engine.proxy import ProxyServer


def echo_server() -> int:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return int(srv.getsockname()[1])


def main() -> None:
    with ProxyServer(port=0) as server:
        proxy = server.collection.create({"name": "echo", "upstream": f"127.0.0.1:{echo_server()}"})
        proxy.add_toxic({"type": "latency", "attributes": {"latency": 20, "jitter": 2}})
        host, port = proxy.listen.rsplit(":", 1)
        samples = []
        with socket.create_connection((host, int(port))) as sock:
            for _ in range(20):
                start = time.perf_counter()
                sock.sendall(b"ping")
                sock.recv(16)
                samples.append((time.perf_counter() - start) * 1000)
        print(
            f"API {server.url}; median round trip with a 20±2 ms latency toxic: {statistics.median(samples):.1f} ms"
        )


if __name__ == "__main__":
    main()
