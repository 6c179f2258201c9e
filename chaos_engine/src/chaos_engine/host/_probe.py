"""Measuring a lab's network: how many UDP datagrams from one host reach another."""

from __future__ import annotations

import subprocess
import sys
import time

from chaos_engine.errors import ChaosFaultError
from chaos_engine.host._network import _lab
from chaos_engine.host._run import need_tool

__all__ = ["udp_delivery"]

_RECV = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
print("ready", flush=True)
seen = set()
try:
    while True:
        data = s.recv(64)
        if data == b"end":
            break
        seen.add(data)
except OSError:
    pass
print(len(seen), flush=True)
"""
_SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = (sys.argv[1], int(sys.argv[2]))
def send(data):
    try:
        s.sendto(data, dst)
    except OSError:
        pass  # a local drop rule answers EPERM: the datagram is lost, as intended
for i in range(int(sys.argv[3])):
    send(str(i).encode())
    if i % 50 == 49:
        time.sleep(0.001)
time.sleep(0.05)
for _ in range(20):
    send(b"end")
    time.sleep(0.01)
"""


def udp_delivery(
    lab: str, source: str, target: str, count: int = 1000, *, port: int = 9999, timeout: float = 2.0
) -> float:
    """The share (0..1) of ``count`` datagrams sent from ``source`` that ``target`` received."""
    the_lab = _lab(lab)
    ip = need_tool("ip")
    src_ns, dst_ns = the_lab.namespace(source), the_lab.namespace(target)
    receiver = subprocess.Popen(
        [ip, "netns", "exec", dst_ns, sys.executable, "-c", _RECV, str(port), str(timeout)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if receiver.stdout is None or receiver.stdout.readline().strip() != "ready":
            raise ChaosFaultError("the UDP receiver did not start")
        started = time.monotonic()
        subprocess.run(
            [
                ip,
                "netns",
                "exec",
                src_ns,
                sys.executable,
                "-c",
                _SEND,
                the_lab.hosts[target],
                str(port),
                str(count),
            ],
            check=True,
            timeout=60,
        )
        out, _ = receiver.communicate(timeout=timeout + 60 + time.monotonic() - started)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.communicate()
    return int(out.strip().splitlines()[-1]) / count
