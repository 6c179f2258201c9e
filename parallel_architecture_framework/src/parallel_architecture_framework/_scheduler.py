"""The scheduler: task states, dependencies, priorities, retries, failures.

The scheduler is the one place that decides what runs next, so every executor
behaves the same.  It keeps a node per task and moves it through::

    WAITING --(deps done)--> READY --(dispatched)--> RUNNING --> DONE
                               ^                       |  \\--> FAILED (after retries)
                               +--- RETRY <-- failed --+   \\--> READY again (worker lost)

Ready nodes wait in a heap ordered by critical-path priority (the largest
estimated cost from the node to the end of the graph runs first).  Tasks that
declare :class:`Resources` are admitted only while the executor has them free;
the others are bounded by the executor's in-flight slots.  When a task fails
for good every task downstream of it is cancelled with a
:class:`ParallelDependencyError` naming the chain.

Concurrency: one lock guards all state.  Methods named ``_locked_*`` run under
it and record side effects (futures to wake, items to submit, results to
cache) in an :class:`_Effects`, which :meth:`Scheduler._apply` performs after
the lock is released, so user callbacks and executor calls never run under it.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from parallel_architecture_framework._cache import ResultStore, cache_key
from parallel_architecture_framework._executor import Executor
from parallel_architecture_framework._future import (
    CANCELLED,
    FAILED,
    FINISHED,
    Future,
    cancelled_error,
)
from parallel_architecture_framework._node import (
    CANCELLED_STATE,
    DONE,
    FAILED_STATE,
    READY,
    RETRY,
    RUNNING,
    STATE_NAMES,
    WAITING,
    Node,
    find_instances,
    substitute,
)
from parallel_architecture_framework._task import Resources, Task
from parallel_architecture_framework._timers import Timers
from parallel_architecture_framework._work import InputsNotReady, Outcome, PendingInput, WorkItem
from parallel_architecture_framework.errors import (
    ParallelCancelledError,
    ParallelDependencyError,
    ParallelExecutorError,
    ParallelInputError,
    ParallelResourceError,
    ParallelTimeoutError,
    ParallelWorkerLostError,
)

__all__ = ["STATE_NAMES", "Node", "Scheduler", "find_instances", "substitute"]

_PROPAGATION_DEPTH = 32
_ATOMS = frozenset({int, float, str, bytes, bool, type(None)})
_NO_DEPS: list[Node] = []  # never appended to: only read when a task has no future arguments


class _Effects:
    __slots__ = ("cache_checks", "callbacks", "cancels", "settled", "submit")

    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[[Future[Any]], None], Future[Any]]] = []
        self.submit: list[WorkItem] = []
        self.cache_checks: list[tuple[Node, WorkItem]] = []
        self.cancels: list[WorkItem] = []
        self.settled: list[Node] = []


class Scheduler:
    """Owns the task states of one client and drives one executor.

    Args:
        executor: where attempts run (started by the scheduler).
        max_in_flight: cap on items handed to the executor at once (backpressure
            towards the executor); ``None`` lets the executor decide.
        max_pending: cap on unsettled tasks; submitting beyond it blocks until
            tasks settle (backpressure towards the producer).
        store: the result store for tasks declared with ``cache=True``.
        on_settle: called (outside the lock) with every node that settles.
        seed: seeds the backoff jitter, for reproducible tests.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        max_in_flight: int | None = None,
        max_pending: int | None = None,
        store: ResultStore | None = None,
        on_settle: Callable[[list[Node]], None] | None = None,
        seed: int | None = None,
    ) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise ParallelInputError(
                f"max_in_flight={max_in_flight} must be at least 1",
                field="max_in_flight",
                hint="omit it for the executor's default",
            )
        if max_pending is not None and max_pending < 1:
            raise ParallelInputError(
                f"max_pending={max_pending} must be at least 1",
                field="max_pending",
                hint="omit it for no bound",
            )
        self.lock = threading.Lock()
        self._settled_cond = threading.Condition(self.lock)
        self._waiters = 0
        self.executor = executor
        self.nodes: dict[str, Node] = {}
        self._heap: list[tuple[float, int, Node]] = []
        self._seq = itertools.count()
        self._keys = itertools.count()
        self._in_flight = 0
        self._unsettled = 0
        self._max_in_flight = max_in_flight
        self._max_pending = max_pending
        self._store = store
        self._on_settle = on_settle
        self._random = random.Random(seed)  # noqa: S311 - backoff jitter, not security
        self._timers = Timers()
        self._closed = False
        self._caching = False  # set once a cached task runs: only then are results stored
        # Executors that resolve dependencies themselves (Dask, Ray) get a
        # task as soon as its inputs are all running there, not done: the
        # engine then moves the values between its workers, with no round
        # trip through this driver between one layer of a graph and the next.
        self._early = executor.carries_dependencies
        executor.start(self.report)
        self._capacity = executor.capacity()
        self._used = Resources(0.0, 0, {})

    # ------------------------------------------------------------------ submission

    def add(
        self,
        specs: Iterable[tuple[Task[Any, Any], tuple[Any, ...], dict[str, Any], float | None]],
        *,
        out: list[Future[Any]] | None = None,
        translate: tuple[type, Callable[[Any], Future[Any]]] | None = None,
    ) -> list[Future[Any]]:
        """Create tasks; each spec is ``(task, args, kwargs, priority or None)``.

        Futures found in ``args``/``kwargs`` become dependencies.  With
        ``max_pending`` set this blocks while too many tasks are unsettled.
        New futures are appended to ``out`` (returned); ``translate`` is
        ``(kind, fn)``: instances of ``kind`` in the arguments are replaced by
        ``fn(instance)`` just before each task is created, so a graph node can
        refer to a node created earlier in the same call.
        """
        futures: list[Future[Any]] = out if out is not None else []
        fx = _Effects()
        specs = list(specs)
        checked: Task[Any, Any] | None = None
        for spec in specs:
            if spec[0] is checked:  # a map: one task for every spec
                continue
            checked = spec[0]
            resources = spec[0].resources
            if resources is not None and not resources.fits(self._capacity):
                raise ParallelResourceError(
                    f"task {spec[0].name!r} needs {resources} but executor "
                    f"{self.executor.describe()} offers at most {self._capacity}",
                    task=spec[0].name,
                    hint="lower the task's resources or give the executor more workers",
                )
        position = 0
        while position < len(specs):
            with self.lock:
                self._check_open()
                room = len(specs) - position
                if self._max_pending is not None:
                    while self._unsettled >= self._max_pending:
                        self._waiters += 1
                        try:
                            self._settled_cond.wait()
                        finally:
                            self._waiters -= 1
                        self._check_open()
                    room = min(room, self._max_pending - self._unsettled)
                for task, call_args, call_kwargs, priority in specs[position : position + room]:
                    args, kwargs = call_args, call_kwargs
                    if translate is not None:
                        args = substitute(args, translate[1], (translate[0],))
                        kwargs = substitute(kwargs, translate[1], (translate[0],))
                    futures.append(self._locked_add(task, args, kwargs, priority, fx))
                position += room
                self._locked_fill(fx)
            self._apply(fx)
            fx = _Effects()
        return futures

    def _check_open(self) -> None:
        if self._closed:
            raise ParallelExecutorError(
                "this client is closed", hint="create a new Client to submit more work"
            )

    def _locked_add(
        self,
        task: Task[Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        priority: float | None,
        fx: _Effects,
    ) -> Future[Any]:
        key = f"{task.name}-{next(self._keys)}"
        node = Node(key, task, args, kwargs)
        future: Future[Any] = Future(key, self)
        node.future = future
        self.nodes[key] = node
        self._unsettled += 1
        dep_futures: list[Any] = []
        for arg in args:
            if type(arg) not in _ATOMS:  # most map arguments are plain values
                find_instances(arg, (Future,), dep_futures)
        for arg in kwargs.values():
            find_instances(arg, (Future,), dep_futures)
        failed_dep: Node | None = None
        deps: list[Node] = [] if dep_futures else _NO_DEPS
        for dep_future in dep_futures:
            dep = self.nodes.get(dep_future.key)
            if dep is None or dep.future is not dep_future:
                self._unsettled -= 1
                del self.nodes[key]
                raise ParallelInputError(
                    f"task {key} depends on future {dep_future.key}, which belongs to another client",
                    hint="pass futures only to the client that made them, or pass their results",
                )
            if dep in deps:
                continue
            deps.append(dep)
            if dep.state == DONE:
                continue
            if dep.state in (FAILED_STATE, CANCELLED_STATE):
                failed_dep = dep
                continue
            node.waiting += 1
            dependants = dep.dependants
            if isinstance(dependants, list):
                dependants.append(node)
            else:
                dep.dependants = [node]
        if deps:
            node.deps = deps
        if priority is not None:
            node.priority = priority
        elif node.deps:  # only ancestors can need a higher priority
            self._locked_propagate(node)
        if failed_dep is not None:
            assert failed_dep.future is not None  # noqa: S101 - every node has a future
            dep_error = failed_dep.future._error
            chain = [*self._chain_of(failed_dep, dep_error), key]
            root_error = (
                dep_error.__cause__ if isinstance(dep_error, ParallelDependencyError) else dep_error
            )
            self._locked_settle(
                node, CANCELLED_STATE, None, self._dependency_error(node, chain, root_error), fx
            )
        elif node.waiting == 0 or (self._early and self._can_start_early(node)):
            node.state = READY
            heapq.heappush(self._heap, (-node.priority, next(self._seq), node))
        return future

    def _can_start_early(self, node: Node) -> bool:
        """Whether ``node`` may go to an executor that carries dependencies now.

        Every input must be done or running there (not in a cache lookup).
        Tasks with a timeout, resources or a cache policy wait for their
        inputs as usual: their clock, their resources and their cache key
        need the inputs in hand.
        """
        task = node.task
        if task.timeout is not None or task.resources is not None or task.cache:
            return False
        for dep in node.deps:
            if dep.state == DONE:
                continue
            if dep.state != RUNNING or dep.item is None or dep.task.cache:
                return False
        return True

    def _chain_of(self, node: Node, error: BaseException | None) -> list[str]:
        if isinstance(error, ParallelDependencyError):
            chain = error.context.get("chain")
            if isinstance(chain, list):
                return [str(k) for k in chain]
        return [node.key]

    def _locked_propagate(self, node: Node) -> None:
        """Raise ancestors' priorities to cover a new dependant (bounded walk)."""
        frontier = [node]
        for _ in range(_PROPAGATION_DEPTH):
            next_frontier: list[Node] = []
            for child in frontier:
                for dep in child.deps:
                    if dep.state not in (WAITING, READY, RETRY):
                        continue
                    wanted = dep.task.cost + child.priority
                    if wanted > dep.priority:
                        dep.priority = wanted
                        if dep.state == READY:
                            heapq.heappush(self._heap, (-wanted, next(self._seq), dep))
                        next_frontier.append(dep)
            if not next_frontier:
                return
            frontier = next_frontier

    # ------------------------------------------------------------------ dispatch

    def _limit(self) -> int:
        limit = self.executor.max_in_flight()
        if self._max_in_flight is not None:
            limit = min(limit, self._max_in_flight)
        return limit

    def _locked_fill(self, fx: _Effects) -> None:
        heap = self._heap
        if not heap:
            return
        limit = self._limit()
        deferred: list[tuple[float, int, Node]] = []
        heappop = heapq.heappop
        submit = fx.submit.append
        early = self._early
        while heap and self._in_flight < limit:
            entry = heappop(heap)
            node = entry[2]
            if node.state != READY or -entry[0] != node.priority:
                continue  # stale heap entry
            if node.waiting and not self._can_start_early(node):
                node.state = WAITING  # an input went back to waiting (a retry): wait for it
                continue
            task = node.task
            resources = task.resources
            if resources is not None:
                if not resources.fits(self._capacity - self._used):
                    deferred.append(entry)
                    if len(deferred) >= 64:
                        break
                    continue
                self._used = self._used + resources
            node.state = RUNNING
            node.attempt += 1
            self._in_flight += 1
            if node.deps:
                item = self._make_item(node)
            else:  # the common case of a map, inline
                item = WorkItem(
                    node.key,
                    node.attempt,
                    task.func,
                    node.args,
                    node.kwargs,
                    task.is_async,
                    task.timeout,
                    node.priority,
                )
            node.item = item
            if early:
                for dependant in node.dependants:
                    if dependant.state == WAITING and self._can_start_early(dependant):
                        dependant.state = READY
                        heapq.heappush(
                            self._heap, (-dependant.priority, next(self._seq), dependant)
                        )
            if task.timeout is not None:
                self._timers.call_later(task.timeout, self._timed_out, node, node.attempt)
            if task.cache and self._store is not None and node.attempt == 1:
                self._caching = True
                fx.cache_checks.append((node, item))
            else:
                submit(item)
        for entry in deferred:
            heapq.heappush(heap, entry)

    def _make_item(self, node: Node) -> WorkItem:
        args, kwargs = node.args, node.kwargs
        remote: tuple[WorkItem, ...] = ()
        if node.waiting:  # started early: some inputs are still running remotely
            remote = tuple(dep.item for dep in node.deps if dep.state != DONE and dep.item)
            pending = {item.key for item in remote}

            def value_or_marker(future: Future[Any]) -> Any:
                return PendingInput(future.key) if future.key in pending else future._value

            args = substitute(args, value_or_marker, (Future,))
            kwargs = substitute(kwargs, value_or_marker, (Future,))
        elif node.deps:
            args = substitute(args, _value_of, (Future,))
            kwargs = substitute(kwargs, _value_of, (Future,))
        task = node.task
        item = WorkItem(
            node.key,
            node.attempt,
            task.func,
            args,
            kwargs,
            task.is_async,
            task.timeout,
            node.priority,
        )
        if remote:
            item.remote = remote
            item.inputs = tuple(
                (dep.key, _value_of(dep.future))
                for dep in node.deps
                if dep.future and dep.state == DONE
            )
        elif node.deps:
            item.inputs = tuple((dep.key, _value_of(dep.future)) for dep in node.deps if dep.future)
        return item

    # ------------------------------------------------------------------ outcomes

    def report(self, outcomes: list[Outcome]) -> None:
        """Executors call this with finished attempts, from any thread."""
        if self._caching:
            self._store_results(outcomes)
        fx = _Effects()
        with self.lock:
            for outcome in outcomes:
                self._locked_outcome(outcome, fx)
            self._locked_fill(fx)
        self._apply(fx)

    def _locked_outcome(self, outcome: Outcome, fx: _Effects) -> None:
        node = self.nodes.get(outcome.key)
        if node is None:
            return
        self._in_flight -= 1
        if node.task.resources is not None:
            self._used = self._used - node.task.resources
        if node.state != RUNNING or node.attempt != outcome.attempt:
            return  # a late report of an attempt that timed out or was cancelled
        if type(outcome.error) is InputsNotReady:
            # Started early, but an input failed, was cancelled or lost: not an
            # attempt of this task.  It waits for that input's next attempt
            # (or is cancelled with it) like any other waiting task.
            node.item = None
            node.attempt -= 1
            if node.waiting:
                node.state = WAITING
            else:
                node.state = READY
                heapq.heappush(self._heap, (-node.priority, next(self._seq), node))
            return
        node.item = None
        node.started = outcome.started
        node.finished = outcome.finished
        node.worker = outcome.worker
        node.cache_hit = outcome.cache_hit
        if outcome.lost:
            node.losses += 1
            if node.losses > node.task.max_worker_losses:
                lost = ParallelWorkerLostError(
                    f"task {node.key} lost its worker {node.losses} times",
                    key=node.key,
                    hint="the task may crash its worker (segfault, out of memory); raise max_worker_losses only if it is innocent",
                )
                self._locked_fail(node, lost, fx)
            else:
                node.state = READY
                heapq.heappush(self._heap, (-node.priority, next(self._seq), node))
        elif outcome.ok:
            self._locked_settle(node, DONE, outcome.value, None, fx)
        else:
            error = outcome.error if outcome.error is not None else RuntimeError("unknown failure")
            if outcome.remote_traceback and error.__traceback__ is None:
                error.add_note("remote traceback:\n" + outcome.remote_traceback.rstrip())
            self._locked_failed_attempt(node, error, fx)

    def _locked_failed_attempt(self, node: Node, error: BaseException, fx: _Effects) -> None:
        policy = node.task.retry
        if node.attempt <= policy.retries and isinstance(error, policy.retry_on):
            delay = policy.delay(node.attempt, self._random.random())
            if delay <= 0:
                node.state = READY
                heapq.heappush(self._heap, (-node.priority, next(self._seq), node))
            else:
                node.state = RETRY
                self._timers.call_later(delay, self._retry_due, node, node.attempt)
        else:
            self._locked_fail(node, error, fx)

    def _retry_due(self, node: Node, attempt: int) -> None:
        fx = _Effects()
        with self.lock:
            if node.state == RETRY and node.attempt == attempt:
                node.state = READY
                heapq.heappush(self._heap, (-node.priority, next(self._seq), node))
                self._locked_fill(fx)
        self._apply(fx)

    def _timed_out(self, node: Node, attempt: int) -> None:
        fx = _Effects()
        with self.lock:
            if node.state == RUNNING and node.attempt == attempt:
                if node.item is not None:
                    fx.cancels.append(node.item)
                    node.item = None
                error = ParallelTimeoutError(
                    f"task {node.key} attempt {attempt} ran longer than its timeout of {node.task.timeout} s",
                    key=node.key,
                    attempt=attempt,
                    hint="raise the task's timeout, or make it check current_task().raise_if_cancelled()",
                )
                self._locked_failed_attempt(node, error, fx)
                self._locked_fill(fx)
        self._apply(fx)

    def _locked_fail(self, node: Node, error: BaseException, fx: _Effects) -> None:
        self._locked_settle(node, FAILED_STATE, None, error, fx)
        self._locked_cascade(node, [node.key], error, fx)

    def _dependency_error(
        self, node: Node, chain: list[str], root: BaseException | None
    ) -> ParallelDependencyError:
        what = "was cancelled" if isinstance(root, ParallelCancelledError) else "failed"
        reason = f"{type(root).__name__}: {root}" if root is not None else "unknown"
        error = ParallelDependencyError(
            f"task {node.key} did not run: {chain[0]} {what} ({reason}); chain: {' -> '.join(chain)}",
            key=node.key,
            chain=chain,
            root=chain[0],
            hint=f"fix {chain[0]} (see the chained cause) and resubmit",
        )
        error.__cause__ = root
        return error

    def _locked_cascade(
        self, root: Node, chain: list[str], error: BaseException, fx: _Effects
    ) -> None:
        stack = [(dependant, [*chain, dependant.key]) for dependant in root.dependants]
        while stack:
            node, node_chain = stack.pop()
            if node.state in (DONE, FAILED_STATE, CANCELLED_STATE):
                continue
            if node.state == RUNNING and node.item is not None:
                fx.cancels.append(node.item)
                node.item = None
            self._locked_settle(
                node, CANCELLED_STATE, None, self._dependency_error(node, node_chain, error), fx
            )
            stack.extend((d, [*node_chain, d.key]) for d in node.dependants)

    def _locked_settle(
        self, node: Node, state: int, value: Any, error: BaseException | None, fx: _Effects
    ) -> None:
        node.state = state
        if not node.finished:
            node.finished = time.time()
        node.args = ()
        node.kwargs = {}
        future = node.future
        assert future is not None  # noqa: S101 - every node has a future
        future_state = (
            FINISHED if state == DONE else CANCELLED if state == CANCELLED_STATE else FAILED
        )
        callbacks = future._settle(future_state, value, error)
        if callbacks:
            for callback in callbacks:
                fx.callbacks.append((callback, future))
        for dependant in node.dependants if state == DONE else ():
            dependant.waiting -= 1
            if dependant.waiting == 0 and dependant.state == WAITING:
                dependant.state = READY
                heapq.heappush(self._heap, (-dependant.priority, next(self._seq), dependant))
        self._unsettled -= 1
        if self._waiters:
            self._settled_cond.notify_all()
        fx.settled.append(node)

    # ------------------------------------------------------------------ effects

    def _apply(self, fx: _Effects) -> None:
        for item in fx.cancels:
            self.executor.cancel(item)
        for node, item in fx.cache_checks:
            self._check_cache(node, item, fx)
        if fx.submit:
            try:
                self.executor.submit(fx.submit)
            except Exception as exc:  # the executor broke: fail the items instead of hanging
                now = time.time()
                self.report(
                    [
                        Outcome(i.key, i.attempt, False, error=exc, started=now, finished=now)
                        for i in fx.submit
                    ]
                )
        for callback, future in fx.callbacks:
            callback(future)
        if self._on_settle is not None and fx.settled:
            self._on_settle(fx.settled)

    def _store_results(self, outcomes: list[Outcome]) -> None:
        """Write fresh results of cached tasks before their futures settle (so a
        caller woken by the future finds the store already filled)."""
        assert self._store is not None  # noqa: S101 - only called with a store
        for outcome in outcomes:
            if not outcome.ok or outcome.cache_hit:
                continue
            node = self.nodes.get(outcome.key)
            if node is not None and node.cache_key and node.attempt == outcome.attempt:
                self._store.put(node.cache_key, outcome.value)

    def _check_cache(self, node: Node, item: WorkItem, fx: _Effects) -> None:
        assert self._store is not None  # noqa: S101 - only queued when a store exists
        try:
            key = cache_key(item.func, item.args, item.kwargs, node.task.cache_version)
        except ParallelInputError as exc:
            now = time.time()
            self.report(
                [Outcome(item.key, item.attempt, False, error=exc, started=now, finished=now)]
            )
            return
        node.cache_key = key
        missing = object()
        value = self._store.get(key, missing)
        if value is missing:
            fx.submit.append(item)
            return
        now = time.time()
        self.report(
            [
                Outcome(
                    item.key,
                    item.attempt,
                    True,
                    value=value,
                    started=now,
                    finished=now,
                    worker="cache",
                    cache_hit=True,
                )
            ]
        )

    # ------------------------------------------------------------------ control

    def cancel(self, futures: Iterable[Future[Any]]) -> int:
        """Cancel unsettled tasks and their dependants; returns how many were cancelled."""
        fx = _Effects()
        count = 0
        with self.lock:
            for future in futures:
                node = self.nodes.get(future.key)
                if node is None or node.future is not future:
                    continue
                if node.state in (DONE, FAILED_STATE, CANCELLED_STATE):
                    continue
                if node.state == RUNNING and node.item is not None:
                    fx.cancels.append(node.item)
                    node.item = None
                error = cancelled_error(node.key, "cancelled by the caller")
                self._locked_settle(node, CANCELLED_STATE, None, error, fx)
                self._locked_cascade(node, [node.key], error, fx)
                count += 1
            self._locked_fill(fx)
        self._apply(fx)
        return count

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every task has settled; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while self._unsettled > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._waiters += 1
                try:
                    self._settled_cond.wait(remaining)
                finally:
                    self._waiters -= 1
        return True

    @property
    def in_flight(self) -> int:
        """Attempts handed to the executor and not yet reported."""
        return self._in_flight

    @property
    def unsettled(self) -> int:
        """Tasks submitted and not yet settled."""
        return self._unsettled

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        with self.lock:
            totals = dict.fromkeys(STATE_NAMES, 0)
            for node in self.nodes.values():
                totals[STATE_NAMES[node.state]] += 1
        return totals

    def close(self, *, cancel: bool) -> None:
        """Cancel or wait for unsettled tasks, then shut the executor down."""
        if self._closed:
            return
        if cancel:
            with self.lock:
                pending = [
                    n.future for n in self.nodes.values() if n.state < DONE and n.future is not None
                ]
            self.cancel(pending)
        else:
            self.wait_idle()
        with self.lock:
            self._closed = True
            if self._waiters:
                self._settled_cond.notify_all()
        self._timers.stop()
        self.executor.shutdown()


def _value_of(future: Future[Any]) -> Any:
    return future._value
