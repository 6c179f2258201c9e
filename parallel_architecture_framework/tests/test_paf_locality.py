"""The process pool keeps large results where they were made, steals work, and fails clearly.

Every assertion here is on what moved (bytes sent, references used, which
worker ran what), never on time.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from parallel_architecture_framework import Client, ProcessExecutor
from parallel_architecture_framework._processes import _Channel

BIG = 200_000


def make(seed: int) -> bytes:
    return bytes([seed % 256]) * BIG


def step(data: bytes) -> bytes:
    """A new large value derived from the input (so each link of a chain is kept too)."""
    return data[1:] + data[:1]


def slow_len(data: bytes) -> int:
    time.sleep(0.05)
    return len(data)


def _workers_of(client: Client, keys: set[str]) -> set[str]:
    return {r.worker for r in client.summary().tasks if r.key in keys}


def _wait_ready(executor: ProcessExecutor, count: int) -> None:
    deadline = time.monotonic() + 60
    while executor.ready_workers() < count:
        assert time.monotonic() < deadline, f"only {executor.ready_workers()} workers started"
        time.sleep(0.01)


class TestLocality:
    def test_a_chain_over_large_values_stays_on_its_worker_and_sends_references(
        self, tmp_path: Path
    ) -> None:
        """Each link runs where its input is; inputs travel as references, not 200 KB each."""
        executor = ProcessExecutor(2)
        with Client(executor, cache_dir=tmp_path) as client:
            links = [client.submit(make, 7)]
            for _ in range(5):
                links.append(client.submit(step, links[-1]))
            assert links[-1].result(timeout=60) == make(7)[5:] + make(7)[:5]
            assert len(_workers_of(client, {f.key for f in links})) == 1
        assert executor.local_inputs == 5
        assert executor.bytes_sent < BIG  # six messages, no payload among them

    def test_without_locality_every_link_carries_its_input(self, tmp_path: Path) -> None:
        """The control: the same chain with locality off sends each 200 KB input."""
        executor = ProcessExecutor(2, locality=False)
        with Client(executor, cache_dir=tmp_path) as client:
            links = [client.submit(make, 7)]
            for _ in range(5):
                links.append(client.submit(step, links[-1]))
            assert links[-1].result(timeout=60) == make(7)[5:] + make(7)[:5]
        assert executor.local_inputs == 0
        assert executor.bytes_sent > 5 * BIG

    def test_evicted_values_travel_by_value_again(self, tmp_path: Path) -> None:
        """Past the store budget the oldest result is dropped there and here, and still works."""
        executor = ProcessExecutor(1, keep_bytes=1_000, store_bytes=int(BIG * 1.5))
        with Client(executor, cache_dir=tmp_path) as client:
            first = client.submit(make, 1)
            first.result(timeout=60)
            second = client.submit(make, 2)
            second.result(timeout=60)  # evicts the first from the worker's store
            assert client.submit(len, first).result(timeout=60) == BIG
            assert executor.local_inputs == 0
            assert client.submit(len, second).result(timeout=60) == BIG
            assert executor.local_inputs == 1

    def test_small_results_are_not_kept(self, tmp_path: Path) -> None:
        """Below keep_bytes a result is cheaper to resend than to track."""
        executor = ProcessExecutor(1)
        with Client(executor, cache_dir=tmp_path) as client:
            small = client.submit(abs, -3)
            assert client.submit(abs, small).result(timeout=60) == 3
        assert executor.local_inputs == 0


class TestStealing:
    def test_an_idle_worker_steals_queued_work_from_a_busy_one(self, tmp_path: Path) -> None:
        """All sixteen readers prefer the producer's worker; the other worker takes a share."""
        executor = ProcessExecutor(2, max_batch=1)
        with Client(executor, cache_dir=tmp_path) as client:
            big = client.submit(make, 3)
            big.result(timeout=60)
            _wait_ready(executor, 2)
            readers = [client.submit(slow_len, big) for _ in range(16)]
            assert client.gather(readers, timeout=120) == [BIG] * 16
            assert len(_workers_of(client, {f.key for f in readers})) == 2
        assert executor.steals >= 1

    def test_without_stealing_located_work_waits_for_its_worker(self, tmp_path: Path) -> None:
        """The control: with stealing off every reader runs on the producer's worker."""
        executor = ProcessExecutor(2, max_batch=1, stealing=False)
        with Client(executor, cache_dir=tmp_path) as client:
            big = client.submit(make, 3)
            big.result(timeout=60)
            readers = [client.submit(len, big) for _ in range(8)]
            assert client.gather(readers, timeout=120) == [BIG] * 8
            assert _workers_of(client, {f.key for f in readers}) == _workers_of(client, {big.key})
        assert executor.steals == 0


def test_workers_that_cannot_start_give_a_clear_error(tmp_path: Path) -> None:
    """A script that starts a client without the ``__main__`` guard fails fast, naming the fix."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from parallel_architecture_framework import Client
            with Client("processes", workers=1, metrics=False, trace=False) as client:
                print(client.gather(client.map(abs, range(-3, 0)), timeout=60))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "worker processes die while starting" in done.stderr
    assert "__name__ == '__main__'" in done.stderr


def test_no_submission_is_left_waiting_for_a_wake_up(tmp_path: Path) -> None:
    """Many rounds of submit-then-gather: each round finishes (a lost wake-up would hang one).

    The pool thread sleeps in ``select`` until a submission wakes it; a race
    there once left a round's tasks queued forever.  A hang shows up here as
    the gather timeout, never as a slow pass.
    """
    with Client(ProcessExecutor(2), cache_dir=tmp_path) as client:
        for round_ in range(60):
            futures = client.map(abs, range(-1000, 0))
            assert sum(client.gather(futures, timeout=60)) == 500_500, round_


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(
        st.one_of(st.integers(0, 300), st.integers(200_000, 700_000)), min_size=1, max_size=5
    ),
    chunk=st.integers(997, 65_536),
)
def test_frames_survive_any_split_of_the_stream(sizes: list[int], chunk: int) -> None:
    """The driver's reader cuts a byte stream into the worker's frames however it arrives.

    Frames are written the way a worker writes them (multiprocessing's framing),
    in pieces of ``chunk`` bytes, with a read after each piece; small frames
    and frames read in place (larger than the read chunk) must both come out
    whole and in order.
    """
    payloads = [bytes([n % 251]) * n for n in sizes]
    stream = b"".join(struct.pack("!i", len(p)) + p for p in payloads)
    ours, theirs = socket.socketpair()
    channel = _Channel(Connection(os.dup(ours.fileno())))
    received: list[bytes] = []
    try:
        for start in range(0, len(stream), chunk):
            theirs.sendall(stream[start : start + chunk])
            frames = channel.receive()
            assert frames is not None
            received.extend(bytes(f) for f in frames)
        theirs.close()
        assert channel.receive() is None  # end of file after the last frame
    finally:
        channel.close()
        ours.close()
    assert received == payloads


def test_preload_puts_modules_in_every_worker(tmp_path: Path) -> None:
    """``preload`` modules are imported by the forkserver, so workers start with them.

    Runs in a fresh interpreter: the forkserver is one per process and, once
    started, keeps the preload list it started with.
    """
    script = tmp_path / "preload.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from parallel_architecture_framework import Client, ProcessExecutor

            def has(name):
                return name in sys.modules

            if __name__ == "__main__":
                assert "xml.dom.minidom" not in sys.modules
                with Client(ProcessExecutor(1, preload=["xml.dom.minidom"]), metrics=False, trace=False) as c:
                    print(c.submit(has, "xml.dom.minidom").result(timeout=60))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
