"""A process pool that batches tiny tasks, keeps data where it was made, and steals work.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: it has one shared
call queue, so it cannot send a task to the worker that already holds the
task's inputs, and every message crosses two extra threads (a queue feeder
and a result manager).  Here each worker owns a pipe, and one driver thread
("paf-pool") multiplexes all of them:

* **Batching.**  Sending one task per message costs a pickle round trip
  (about 150 µs), which dwarfs a task that runs for 5 µs.  The pool measures
  how long tasks take (an exponentially weighted mean) and packs as many into
  one message as fit in ``target_batch_seconds`` of work, so tiny tasks run at
  near-loop speed and long ones still spread one per worker.  Once tasks are
  measured to be short, a worker may have a second message waiting in its
  pipe while it runs the first, which hides the round trip.
  Tasks with a timeout travel alone, so their deadline is not spent waiting
  behind others.
* **Locality.**  A worker keeps results of at least ``keep_bytes`` (an
  estimate: ``nbytes`` or ``sys.getsizeof``) in a local store and says so in
  its reply; the driver mirrors each store (LRU, ``store_bytes`` per worker,
  evictions piggybacked on the next message).  A task whose inputs a worker
  holds is queued on that worker, and those inputs travel as references
  (pickle persistent ids), not bytes.  Results still come back to the driver,
  since futures hand them to the caller; what locality saves is sending them
  out again.
* **Work stealing.**  Tasks without a preference wait in a shared queue that
  any free worker takes from; a worker with nothing of its own and an empty
  shared queue steals the newer half of the longest other queue, so locality
  never leaves a core idle while work waits.

Functions travel by cloudpickle: functions of importable modules by reference,
functions of ``__main__`` or of modules a fresh interpreter cannot import
(scripts, test files) by value.  Workers start with ``forkserver`` where the
platform has it (safe with threads in the parent), else ``spawn``.

A worker that dies (killed, segfault, out of memory) is noticed through its
process sentinel: every attempt in flight on it is reported *lost*, what was
queued for it moves to the shared queue, a replacement starts, and the
scheduler re-runs the lost attempts.

Cancellation is cooperative through a marker file per attempt (see
:class:`~parallel_architecture_framework._executor.CancelFiles`): a task that
polls ``current_task().cancelled`` stops soon after ``future.cancel()`` or its
timeout; one that never polls runs to completion and its result is discarded.
An attempt cancelled before it was sent is reported without being sent.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import itertools
import math
import multiprocessing
import os
import pickle
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from parallel_architecture_framework._executor import (
    CancelFiles,
    Executor,
    ReportFn,
    SendableFunctions,
)
from parallel_architecture_framework._task import Resources
from parallel_architecture_framework._work import Outcome, WorkItem, run_item, skipped, worker_name
from parallel_architecture_framework.errors import (
    ParallelExecutorError,
    ParallelInputError,
    ParallelTaskError,
)

__all__ = ["ProcessExecutor"]

_PIPELINE = 2  # messages outstanding per worker once tasks are known to be short
_SOCKET_BUFFER = 4 * 1024 * 1024
_READ_CHUNK = 256 * 1024
_SHORT_TASK = 0.001  # seconds: below this mean, a second message may wait in a worker's pipe


class _Channel:
    """The driver's end of a worker's socket: ``multiprocessing.Connection`` framing, never blocking.

    The driver must never block on one worker: a blocking send of a large
    message to a worker that is itself blocked sending a large reply would
    deadlock both, and a send that waits for a busy worker to read stalls
    every other worker's replies.  So writes that do not fit are buffered and
    finished when the socket is writable, and reads take what is there and
    cut it into frames.  The worker keeps the plain blocking ``Connection``:
    the frames are the same (a 4-byte big-endian length, or -1 and an 8-byte
    length past 2 GiB).
    """

    __slots__ = ("body", "conn", "fd", "filled", "inbox", "outbox")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        _widen(self.fd)
        self.inbox = bytearray()
        self.body: bytearray | None = None  # a large frame being read in place
        self.filled = 0
        # What the socket did not take yet, as views: a large message written
        # in many partial writes is never copied or shifted.
        self.outbox: collections.deque[memoryview] = collections.deque()

    def send(self, payload: bytes) -> None:
        """Queue one frame and write as much as the socket takes now (OSError: the peer is gone)."""
        size = len(payload)
        header = struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)
        if self.outbox:
            self.outbox.append(memoryview(header))
            self.outbox.append(memoryview(payload))
            return
        try:
            written = os.writev(self.fd, [header, payload])
        except BlockingIOError:
            written = 0
        if written < len(header):
            self.outbox.append(memoryview(header)[written:])
            self.outbox.append(memoryview(payload))
        elif written < len(header) + size:
            self.outbox.append(memoryview(payload)[written - len(header) :])

    def flush(self) -> None:
        """Write what is buffered, as far as the socket takes it (OSError: the peer is gone)."""
        outbox = self.outbox
        while outbox:
            try:
                written = os.writev(self.fd, list(itertools.islice(outbox, 64)))
            except BlockingIOError:
                return
            while written and outbox:
                head = outbox[0]
                if written >= len(head):
                    written -= len(head)
                    outbox.popleft()
                else:
                    outbox[0] = head[written:]
                    written = 0

    def receive(self) -> list[bytes | bytearray] | None:
        """Complete frames read so far; ``None`` once the worker closed its end.

        Small frames are cut out of a read buffer; a large one is read
        straight into a buffer of its final size, so a result of many
        megabytes is copied once on the way in, not once per chunk.
        """
        frames: list[bytes | bytearray] = []
        while True:
            body = self.body
            try:
                if body is not None:
                    count = os.readv(self.fd, [memoryview(body)[self.filled :]])
                else:
                    chunk = os.read(self.fd, _READ_CHUNK)
                    count = len(chunk)
            except BlockingIOError:
                return frames
            except OSError:
                return None
            if count == 0:
                return None
            if body is not None:
                self.filled += count
                if self.filled == len(body):
                    frames.append(body)
                    self.body = None
                continue
            self.inbox += chunk
            self._cut(frames)

    def _cut(self, frames: list[bytes | bytearray]) -> None:
        inbox = self.inbox
        start = 0
        while len(inbox) - start >= 4:
            (size,) = struct.unpack_from("!i", inbox, start)
            header = 4
            if size == -1:
                if len(inbox) - start < 12:
                    break
                (size,) = struct.unpack_from("!Q", inbox, start + 4)
                header = 12
            have = len(inbox) - start - header
            if have >= size:
                frames.append(bytes(inbox[start + header : start + header + size]))
                start += header + size
                continue
            if size > _READ_CHUNK:  # read the rest straight into its final buffer
                body = bytearray(size)
                body[:have] = inbox[start + header :]
                self.body, self.filled = body, have
                start = len(inbox)
            break
        if start:
            del inbox[:start]

    def close(self) -> None:
        self.conn.close()


def _widen(fd: int) -> None:
    """Ask for socket buffers of a few MB, so a large message takes few wake-ups.

    The kernel caps the request (``net.core.wmem_max``/``rmem_max``) unless
    the process may force it; either way this only tunes, never fails.
    """
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)


class _Worker:
    """The driver's view of one worker process."""

    __slots__ = (
        "channel",
        "drops",
        "held",
        "held_bytes",
        "in_flight",
        "index",
        "process",
        "queue",
        "ready",
    )

    def __init__(self, index: int, process: Any, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.channel = _Channel(conn)
        self.queue: collections.deque[WorkItem] = collections.deque()
        self.in_flight: collections.deque[list[WorkItem]] = collections.deque()
        self.held: collections.OrderedDict[str, int] = collections.OrderedDict()
        self.held_bytes = 0
        self.drops: list[str] = []
        self.ready = False  # it said hello: its interpreter started and imported us


class ProcessExecutor(Executor):
    """Run tasks in ``workers`` processes, batching tiny ones.

    Args:
        workers: process count (default: available cores).
        start_method: ``forkserver`` (default where available), ``spawn`` or ``fork``.
        target_batch_seconds: work packed into one message once task times are known.
        max_batch: upper bound of tasks per message.
        locality: queue a task on the worker holding its inputs and send them by reference.
        stealing: let a worker with nothing to do take queued work from another.
        keep_bytes: results at least this large (estimated) stay in their worker's store.
        store_bytes: per-worker budget of that store; the least recently used go first.
        preload: modules the ``forkserver`` imports once, so every worker starts with
            them (e.g. ``["polars", "pyarrow"]``); effective only for the first
            process pool of this interpreter, since the server outlives pools.
    """

    name = "processes"

    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str | None = None,
        target_batch_seconds: float = 0.02,
        max_batch: int = 2048,
        resources: Resources | None = None,
        locality: bool = True,
        stealing: bool = True,
        keep_bytes: int = 32 * 1024,
        store_bytes: int = 256 * 1024 * 1024,
        preload: Sequence[str] = (),
    ) -> None:
        super().__init__(workers, resources=resources)
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        if start_method not in methods:
            raise ParallelInputError(
                f"start method {start_method!r} is not available here",
                field="start_method",
                hint=f"use one of {', '.join(methods)}",
            )
        if target_batch_seconds <= 0 or max_batch < 1:
            raise ParallelInputError(
                "target_batch_seconds must be > 0 and max_batch >= 1",
                field="batching",
                hint="the defaults (0.02 s, 2048) suit most workloads",
            )
        if keep_bytes < 0 or store_bytes < 0:
            raise ParallelInputError(
                "keep_bytes and store_bytes must not be negative",
                field="store",
                hint="store_bytes=0 turns the worker stores (and so locality) off",
            )
        self.start_method = start_method
        self.target_batch_seconds = target_batch_seconds
        self.max_batch = max_batch
        self.locality = locality and store_bytes > 0
        self.stealing = stealing
        self.keep_bytes = keep_bytes
        self.store_bytes = store_bytes
        self.preload = tuple(preload)
        self._context: Any = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._incoming: list[WorkItem] = []
        self._shared: collections.deque[WorkItem] = collections.deque()
        self._workers: list[_Worker] = []
        self._holder: dict[str, int] = {}
        self._mean_seconds: float | None = None
        self._sendable = SendableFunctions()
        self._cancel_files: CancelFiles | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r = -1
        self._wake_w = -1
        self._woken = False
        self._broken: ParallelExecutorError | None = None
        self._deaths_in_a_row = 0
        self._dead: set[int] = set()
        # Counters, for monitoring, benchmarks and tests.
        self.workers_started = 0
        self.messages_sent = 0
        self.bytes_sent = 0
        self.steals = 0
        self.local_inputs = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self, report: ReportFn) -> None:
        if self._thread is not None:
            raise ParallelExecutorError(
                "this process executor is already started", hint="use one executor per client"
            )
        self._report = report
        self._cancel_files = CancelFiles()
        if self.start_method == "forkserver":
            _preload_worker_module(self._context, self.preload)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._workers = [self._spawn(index) for index in range(self.workers)]
        self._thread = threading.Thread(target=self._loop, name="paf-pool", daemon=True)
        self._thread.start()

    def _spawn(self, index: int) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, self.keep_bytes if self.locality else -1),
            name=f"paf-worker-{index}",
            daemon=True,
        )
        process.start()
        theirs.close()
        self.workers_started += 1
        worker = _Worker(index, process, ours)
        self._selector.register(worker.channel.fd, selectors.EVENT_READ, (worker, True))
        self._selector.register(process.sentinel, selectors.EVENT_READ, (worker, False))
        return worker

    def shutdown(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            self._stopping = True
        self._wake()
        if thread is not threading.current_thread():
            thread.join()
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                continue
        if self._cancel_files is not None:
            self._cancel_files.close()
            self._cancel_files = None

    def ready_workers(self) -> int:
        """How many workers have started and can take work now."""
        return sum(1 for w in list(self._workers) if w.ready and w.index not in self._dead)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return sorted(
            w.process.pid for w in list(self._workers) if w.process.is_alive() and w.process.pid
        )

    # ------------------------------------------------------------------ scheduler side

    def batch_size(self) -> int:
        """Tasks per message given the measured mean task time (1 until measured)."""
        mean = self._mean_seconds
        if mean is None:
            return 1
        return max(1, min(self.max_batch, int(self.target_batch_seconds / max(mean, 1e-7))))

    def max_in_flight(self) -> int:
        return _PIPELINE * self.workers * self.batch_size()

    def submit(self, items: list[WorkItem]) -> None:
        if self._thread is None:
            raise ParallelExecutorError(
                "the process executor is not running", hint="submit through a Client"
            )
        prepared = None
        for item in items:
            if item.func is not prepared:  # runs of one function are common (map)
                self._sendable.prepare(item.func)
                prepared = item.func
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._stopping:
                raise ParallelExecutorError(
                    "the process executor was shut down", hint="create a new Client"
                )
            self._incoming.extend(items)
        if threading.current_thread() is not self._thread:
            self._wake()  # the pool thread dispatches after every reply anyway

    def cancel(self, item: WorkItem) -> None:
        """Ask a running attempt to stop through its cancellation file (cooperative)."""
        if self._cancel_files is not None:
            self._cancel_files.cancel(item)
        else:
            item.cancelled = True

    def _emit(self, outcomes: list[Outcome]) -> None:
        assert self._report is not None  # noqa: S101 - set by start()
        self._report(outcomes)

    def _wake(self) -> None:
        if self._woken:
            return
        self._woken = True
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            return

    # ------------------------------------------------------------------ the pool thread

    def _loop(self) -> None:
        try:
            while True:
                self._place()
                self._dispatch()
                with self._lock:
                    stopping = self._stopping
                if stopping:
                    break
                for key, events in self._selector.select():
                    if key.data is None:
                        # Drain, then re-arm: re-arming first would let a byte
                        # written meanwhile be drained with the flag still set,
                        # and the next submit would skip its wake-up.
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                        self._woken = False
                        continue
                    worker, is_channel = key.data
                    if not self._is_live(worker):
                        continue  # replaced or dead since select() returned
                    if not is_channel:  # its sentinel: the process ended
                        self._died(worker)
                        continue
                    if events & selectors.EVENT_WRITE:
                        self._flush(worker)
                    if events & selectors.EVENT_READ and self._is_live(worker):
                        self._receive(worker)
        finally:
            self._close_workers()

    def _live(self) -> list[_Worker]:
        return [w for w in self._workers if w.index not in self._dead]

    def _is_live(self, worker: _Worker) -> bool:
        return worker.index not in self._dead and self._workers[worker.index] is worker

    def _fail_pending(self, error: ParallelExecutorError) -> None:
        """Fail everything queued (not in flight): no worker will ever take it."""
        with self._lock:
            pending, self._incoming = self._incoming, []
        pending += list(self._shared)
        self._shared.clear()
        for worker in self._workers:
            pending += worker.queue
            worker.queue.clear()
        if pending:
            self._emit([Outcome(i.key, i.attempt, False, error=error) for i in pending])

    def _place(self) -> None:
        """Queue new items: on the worker holding most of their inputs, else in the shared queue."""
        with self._lock:
            items, self._incoming = self._incoming, []
        if not items:
            return
        if self._broken is not None:
            self._emit([Outcome(i.key, i.attempt, False, error=self._broken) for i in items])
            return
        holder = self._holder
        if not (self.locality and holder):
            self._shared.extend(items)
            return
        for item in items:
            best = -1
            if item.inputs:
                votes: dict[int, int] = {}
                for key, _ in item.inputs:
                    index = holder.get(key)
                    if index is not None:
                        votes[index] = votes.get(index, 0) + 1
                if votes:
                    best = max(votes, key=votes.__getitem__)
            if best >= 0 and best not in self._dead:
                self._workers[best].queue.append(item)
            else:
                self._shared.append(item)

    def _dispatch(self) -> None:
        """Fill every worker's pipeline: its own queue, then the shared queue, then steal."""
        progress = True
        while progress:
            progress = False
            live = self._live()
            depth = self._depth()
            free = sum(depth - len(w.in_flight) for w in live if w.ready)
            for worker in live:
                if len(worker.in_flight) >= depth or not worker.ready:
                    continue
                if worker.queue:
                    batch = _take(worker.queue, self.batch_size(), depth)
                elif self._shared:
                    batch = _take(self._shared, self.batch_size(), max(free, 1))
                else:
                    continue
                free -= 1
                progress = True
                self._send(worker, batch)
            if not progress and self.stealing and not self._shared:
                progress = self._steal()

    def _depth(self) -> int:
        """Messages a worker may have outstanding.

        A second message waiting in a worker's pipe hides the round trip for
        tiny tasks, but it is stuck behind whatever that worker runs: a quick
        task queued behind a ten-second one while another worker idles.  So
        the pipeline deepens only once tasks are measured to be short.
        """
        mean = self._mean_seconds
        return _PIPELINE if mean is not None and mean < _SHORT_TASK else 1

    def _steal(self) -> bool:
        live = self._live()
        depth = self._depth()
        idle = [w for w in live if w.ready and not w.queue and len(w.in_flight) < depth]
        stolen = False
        for thief in idle:
            victim = max(live, key=lambda w: len(w.queue))
            count = len(victim.queue) // 2
            if count == 0 or victim is thief:
                break
            moved = [victim.queue.pop() for _ in range(count)]
            moved.reverse()
            thief.queue.extend(moved)
            self.steals += count
            stolen = True
        return stolen

    def _send(self, worker: _Worker, batch: list[WorkItem]) -> None:
        live = [item for item in batch if not item.cancelled]
        if len(live) < len(batch):
            name = f"{worker_name()}:pool"
            self._emit([skipped(item, name) for item in batch if item.cancelled])
        if not live:
            return
        cancel_root = self._cancel_files.root if self._cancel_files is not None else None
        refs: dict[int, str] = {}
        if self.locality and worker.held:
            held = worker.held
            for item in live:
                for key, value in item.inputs:
                    if key in held:
                        refs[id(value)] = key
                        held.move_to_end(key)
        drops, worker.drops = worker.drops, []
        calls = [(i.key, i.attempt, i.func, i.args, i.kwargs, i.is_async, i.timeout) for i in live]
        try:
            payload = _dumps((drops, cancel_root, calls), refs)
        except Exception as exc:
            worker.drops = drops + worker.drops
            self._unsendable(worker, live, exc)
            return
        if refs:
            self.local_inputs += len(refs)
        try:
            worker.channel.send(payload)
        except OSError:  # the worker is gone: these never reached it
            self._shared.extendleft(reversed(live))
            self._died(worker)
            return
        if worker.channel.outbox:
            self._want_write(worker, True)
        worker.in_flight.append(live)
        self.messages_sent += 1
        self.bytes_sent += len(payload)

    def _unsendable(self, worker: _Worker, batch: list[WorkItem], exc: Exception) -> None:
        if len(batch) > 1:  # find the culprit; the others still run
            for item in batch:
                self._send(worker, [item])
            return
        self._emit(
            [
                Outcome(
                    batch[0].key,
                    batch[0].attempt,
                    False,
                    error=ParallelTaskError(
                        f"cannot send task {batch[0].key} to a worker process: {exc}",
                        key=batch[0].key,
                        hint="pass picklable arguments, or use the threads executor",
                    ),
                )
            ]
        )

    def _want_write(self, worker: _Worker, wanted: bool) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if wanted else 0)
        self._selector.modify(worker.channel.fd, events, (worker, True))

    def _flush(self, worker: _Worker) -> None:
        try:
            worker.channel.flush()
        except OSError:  # the worker is gone
            self._died(worker)
            return
        if not worker.channel.outbox:
            self._want_write(worker, False)

    def _receive(self, worker: _Worker) -> None:
        frames = worker.channel.receive()
        if frames is None:
            self._died(worker)
            return
        for payload in frames:
            if not self._is_live(worker):
                return
            self._handle(worker, payload)

    def _handle(self, worker: _Worker, payload: bytes | bytearray) -> None:
        if not worker.ready:  # the hello every worker sends first
            worker.ready = True
            self._deaths_in_a_row = 0
            return
        batch = worker.in_flight.popleft()
        try:
            rows, kept, busy = pickle.loads(payload)  # noqa: S301 - our own workers' replies
        except Exception as exc:  # the reply could not be decoded: fail these items visibly
            self._emit(
                [
                    Outcome(
                        item.key,
                        item.attempt,
                        False,
                        error=ParallelTaskError(
                            f"worker reply for {len(batch)} task(s) could not be decoded: {exc}",
                            hint="return picklable values from tasks",
                        ),
                    )
                    for item in batch
                ]
            )
            return
        # Rows are whole outcomes in field order: tuple.__new__ makes each an
        # Outcome in C (Outcome._make would be a Python call per task).
        outcomes = list(map(_as_outcome, rows))
        for index, size in kept:
            self._hold(worker, rows[index][0], size)
        mean = busy / max(len(outcomes), 1)
        previous = self._mean_seconds
        self._mean_seconds = mean if previous is None else 0.8 * previous + 0.2 * mean
        self._emit(outcomes)

    def _hold(self, worker: _Worker, key: str, size: int) -> None:
        """Mirror a result the worker kept; evict the least recently used past the budget."""
        previous = self._holder.get(key)
        if previous is not None:  # a re-run kept it again: forget the older copy
            owner = self._workers[previous]
            owner.held_bytes -= owner.held.pop(key, 0)
            owner.drops.append(key)
        worker.held[key] = size
        worker.held_bytes += size
        self._holder[key] = worker.index
        while worker.held_bytes > self.store_bytes and worker.held:
            old, old_size = worker.held.popitem(last=False)
            worker.held_bytes -= old_size
            worker.drops.append(old)
            if self._holder.get(old) == worker.index:
                del self._holder[old]

    def _died(self, worker: _Worker) -> None:
        """A worker ended: its attempts in flight are lost, its queue goes to the others."""
        index = worker.index
        lost = [item for batch in worker.in_flight for item in batch]
        worker.in_flight.clear()
        self._shared.extendleft(reversed(worker.queue))
        worker.queue.clear()
        for key in worker.held:
            if self._holder.get(key) == index:
                del self._holder[key]
        self._forget(worker)
        worker.process.join(timeout=5)
        exitcode = worker.process.exitcode
        if not worker.ready:
            self._deaths_in_a_row += 1
        with self._lock:
            stopping = self._stopping
        if self._deaths_in_a_row > 3 * self.workers and self._broken is None:
            # Workers die before finishing anything: respawning would loop forever.
            self._broken = ParallelExecutorError(
                f"worker processes die while starting ({self._deaths_in_a_row} in a row; "
                f"last exit code {exitcode})",
                hint="a worker cannot start here: in a script, start clients under "
                "`if __name__ == '__main__':`, or check memory limits",
            )
        if not stopping and self._broken is None:
            self._workers[index] = self._spawn(index)
        else:
            self._dead.add(index)
        if self._broken is not None:
            self._fail_pending(self._broken)
        if lost:
            self._emit([Outcome(item.key, item.attempt, False, lost=True) for item in lost])

    def _forget(self, worker: _Worker) -> None:
        """Stop watching a worker and close our end of its socket (it then reads end-of-file)."""
        for fd in (worker.channel.fd, worker.process.sentinel):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        worker.channel.close()

    def _close_workers(self) -> None:
        """Stop every worker (end-of-file on its socket, then by force) and fail what never ran."""
        for worker in self._live():
            self._forget(worker)
        leftover = [item for w in self._workers for batch in w.in_flight for item in batch]
        leftover += [item for w in self._workers for item in w.queue]
        leftover += list(self._shared)
        with self._lock:
            leftover += self._incoming
            self._incoming = []
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.process.close()
        self._selector.close()
        self._dead.clear()
        self._workers = []
        self._shared.clear()
        if leftover:
            error = ParallelExecutorError(
                "the process executor was shut down", hint="create a new Client"
            )
            self._emit([Outcome(i.key, i.attempt, False, error=error) for i in leftover])


def _take(source: collections.deque[WorkItem], batch_size: int, share: int) -> list[WorkItem]:
    """The next message's items: an equal share of ``source``, at most ``batch_size``.

    An item with a timeout travels alone, and ends the batch before it.
    """
    if source[0].timeout is not None:
        return [source.popleft()]
    size = max(1, min(batch_size, math.ceil(len(source) / share)))
    batch: list[WorkItem] = []
    while source and len(batch) < size and source[0].timeout is None:
        batch.append(source.popleft())
    return batch


def _dumps(message: Any, refs: dict[int, str]) -> bytes:
    """Pickle a message for a worker; objects in ``refs`` travel as their key."""
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

    if not refs:
        return bytes(cloudpickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    class _RefPickler(cloudpickle.Pickler):  # type: ignore[misc,unused-ignore]
        def persistent_id(self, obj: Any) -> str | None:
            return refs.get(id(obj))

    buffer = io.BytesIO()
    _RefPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    return buffer.getvalue()


def _preload_worker_module(context: Any, extra: tuple[str, ...] = ()) -> None:
    """Have the forkserver import our worker code once, before it starts.

    Every worker is forked from the server, so each then starts with this
    module (and cloudpickle) already imported instead of importing it on its
    first task.  The default preload (``__main__``) is kept.  Once the server
    runs, its preload list can no longer change, so this is a no-op then.
    """
    from multiprocessing import forkserver

    if getattr(forkserver._forkserver, "_forkserver_pid", None) is None:
        context.set_forkserver_preload(["__main__", "cloudpickle", __name__, *extra])


def _size_of(value: Any) -> int:
    """A cheap estimate of a value's size: ``nbytes`` (arrays) or ``sys.getsizeof``."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    try:
        return sys.getsizeof(value)
    except TypeError:
        return 0


def _worker_main(conn: Connection, keep_bytes: int) -> None:
    """A worker process: say hello, then read a message, run it, reply, until end-of-file.

    Plain blocking I/O is safe here because the driver never blocks on this
    worker (see :class:`_Channel`): it always reads our reply.
    """
    _widen(conn.fileno())
    try:
        conn.send_bytes(b"hello")
    except OSError:  # the pool closed before we started
        return
    store: dict[str, Any] = {}
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply = _run_batch(payload, store, keep_bytes)
        try:
            conn.send_bytes(reply)
        except OSError:
            return


class _StoreUnpickler(pickle.Unpickler):
    def __init__(self, payload: bytes, store: dict[str, Any]) -> None:
        super().__init__(io.BytesIO(payload))
        self._store = store

    def persistent_load(self, pid: Any) -> Any:
        try:
            return self._store[pid]
        except KeyError:
            raise pickle.UnpicklingError(f"input {pid} is not in this worker's store") from None


def _run_batch(payload: bytes, store: dict[str, Any], keep_bytes: int) -> bytes:
    """Run one message; reply ``(rows, kept, busy)``: one plain tuple per outcome.

    Calls and outcomes travel as tuples of plain values, not objects: the
    pickler then runs at C speed instead of calling back into Python for every
    item, which is what makes thousands of tiny tasks per message cheap.  A
    row is an :class:`Outcome`'s fields in order (the worker's name pickled
    once, by memo).  ``kept`` lists ``(row index, size)`` of the results this
    worker kept; ``busy`` is the seconds the tasks ran, for the batch size.
    Values or errors that cannot be pickled are degraded one by one.
    """
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

    worker = worker_name()
    rows: list[tuple[Any, ...]] = []
    kept: list[tuple[int, int]] = []
    busy = 0.0
    drops, cancel_root, calls = _StoreUnpickler(payload, store).load()
    for key in drops:
        store.pop(key, None)
    # Attempts cancelled before they start are skipped.  The markers are
    # listed at most once a millisecond rather than looked up once per task
    # (a stat per task was a fifth of a no-op's cost); a running task that
    # polls current_task().cancelled still checks its own marker.
    prefix = cancel_root + os.sep if cancel_root is not None else None
    markers: set[str] = set()
    listed = -math.inf
    for call in calls:
        item = WorkItem(call[0], call[1], call[2], call[3], call[4], call[5], call[6], 0.0)
        if prefix is not None:
            marker = f"{call[0]}.{call[1]}"
            item.cancel_path = prefix + marker
            now = time.monotonic()
            if now - listed > _MARKER_LISTING:
                markers = _list_markers(cancel_root)
                listed = now
            if marker in markers:
                item.cancelled = True
        outcome = skipped(item, worker) if item.cancelled else run_item(item, worker)
        busy += outcome.finished - outcome.started
        value = outcome.value
        if outcome.ok and keep_bytes >= 0 and type(value) not in _NEVER_KEPT:
            size = _size_of(value)
            if size >= keep_bytes:
                store[outcome.key] = value
                kept.append((len(rows), size))
        rows.append(tuple(outcome))
    try:
        return bytes(cloudpickle.dumps((rows, kept, busy), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # one value or error cannot travel: degrade just those
        safe = []
        degraded = set()
        for index, row in enumerate(rows):
            try:
                cloudpickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
                safe.append(row)
            except Exception as exc:
                key, _, ok, _, error = row[:5]
                store.pop(key, None)
                degraded.add(index)
                what = "result" if ok else f"error {type(error).__name__}: {error}"
                replacement = ParallelTaskError(
                    f"task {key}'s {what} cannot be sent back from its worker: {exc}",
                    key=key,
                    hint="return picklable values, or use the threads executor",
                )
                safe.append((row[0], row[1], False, None, replacement, *row[5:]))
        kept = [entry for entry in kept if entry[0] not in degraded]
        return bytes(cloudpickle.dumps((safe, kept, busy), protocol=pickle.HIGHEST_PROTOCOL))


def _list_markers(root: str | None) -> set[str]:
    """The cancellation markers present in ``root`` (none if it is gone)."""
    if root is None:
        return set()
    try:
        return set(os.listdir(root))
    except OSError:
        return set()


# Seconds between two listings of the cancellation markers in a worker.
_MARKER_LISTING = 0.001

# Results of these types are never large enough to keep on the worker.
_NEVER_KEPT = frozenset({type(None), bool, float})
_as_outcome = functools.partial(tuple.__new__, Outcome)
