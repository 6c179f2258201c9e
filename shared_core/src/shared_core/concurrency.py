"""anyio helpers for the patterns every service repeats.

* :func:`run_with_timeout` - a deadline that raises our error, not a bare ``TimeoutError``
* :func:`retry` / :class:`RetryPolicy` - exponential backoff with full jitter
* :class:`RateLimiter` - a token bucket shared by tasks
* :func:`bounded_map` - concurrent map with at most ``limit`` calls in flight,
  results in input order, backpressure on the producer
* :func:`cancel_on_signals` - turn SIGINT/SIGTERM into a cancellation of a task
  group so ``finally`` blocks (rollbacks) run

All of them are plain anyio, so they work on asyncio and trio alike.
"""

from __future__ import annotations

import math
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from shared_core.errors import ConcurrencyError, DeadlineExceededError, ValidationError
from shared_core.logging import get_logger

__all__ = [
    "RateLimiter",
    "RetryPolicy",
    "bounded_map",
    "cancel_on_signals",
    "retry",
    "retry_sync",
    "run_with_timeout",
]

T = TypeVar("T")
R = TypeVar("R")

_log = get_logger("shared_core.concurrency")


async def run_with_timeout(
    seconds: float, func: Callable[..., Awaitable[T]], *args: Any, what: str | None = None
) -> T:
    """Await ``func(*args)``; past ``seconds`` cancel it and raise ``DeadlineExceededError``."""
    if seconds <= 0 or math.isnan(seconds):
        raise ValidationError(f"timeout must be positive, got {seconds}", field="timeout")
    label = what or getattr(func, "__qualname__", "operation")
    try:
        with anyio.fail_after(seconds):
            return await func(*args)
    except TimeoutError:
        raise DeadlineExceededError(
            f"{label} did not finish within {seconds:g} s",
            timeout=seconds,
            hint="raise the timeout or check what the operation waits on",
        ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """How to retry: attempts, exponential backoff with full jitter, which errors.

    The delay before retry ``n`` (1-based) is uniform in
    ``[0, min(max_delay, base_delay * multiplier ** (n - 1))]`` ("full jitter",
    which spreads retrying clients best; AWS architecture blog, 2015).
    """

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 10.0
    multiplier: float = 2.0
    jitter: bool = True
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValidationError("attempts must be at least 1", field="attempts")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValidationError(
                "delays must be non-negative and the multiplier at least 1", field="backoff"
            )

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The pause before retry ``retry_number`` (1 = the first retry)."""
        cap = min(self.max_delay, self.base_delay * self.multiplier ** (retry_number - 1))
        if not self.jitter:
            return cap
        return (rng or random).uniform(0.0, cap)  # jitter, not cryptography


async def retry(
    func: Callable[..., Awaitable[T]],
    *args: Any,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``func(*args)`` until it succeeds or the policy's attempts run out.

    Raises:
        ConcurrencyError: every attempt failed; the last error is its ``__cause__``.
    """
    rule = policy or RetryPolicy()
    for attempt in range(1, rule.attempts + 1):
        try:
            return await func(*args)
        except rule.retry_on as exc:
            if attempt == rule.attempts:
                raise ConcurrencyError(
                    f"{getattr(func, '__qualname__', 'operation')} failed after "
                    f"{rule.attempts} attempt(s): {exc}",
                    attempts=rule.attempts,
                    hint="see the cause below; raise attempts if the failure is transient",
                ) from exc
            pause = rule.delay(attempt)
            _log.debug("retrying", attempt=attempt, delay=round(pause, 4), error=str(exc))
            if on_retry is not None:
                on_retry(attempt, exc, pause)
            await anyio.sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def retry_sync(
    func: Callable[..., T],
    *args: Any,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """:func:`retry` for plain synchronous callables (worker threads, CLIs)."""
    rule = policy or RetryPolicy()
    for attempt in range(1, rule.attempts + 1):
        try:
            return func(*args)
        except rule.retry_on as exc:
            if attempt == rule.attempts:
                raise ConcurrencyError(
                    f"{getattr(func, '__qualname__', 'operation')} failed after "
                    f"{rule.attempts} attempt(s): {exc}",
                    attempts=rule.attempts,
                    hint="see the cause below; raise attempts if the failure is transient",
                ) from exc
            pause = rule.delay(attempt)
            if on_retry is not None:
                on_retry(attempt, exc, pause)
            sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


class RateLimiter:
    """A token bucket: ``rate`` tokens a second, bursts up to ``burst``.

    ``await limiter.acquire()`` waits until a token is free; tasks share one
    limiter.  The clock is injectable so tests need no sleeping.
    """

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValidationError("rate must be positive and burst at least 1", field="rate")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = anyio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take tokens if available now; never waits."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until ``tokens`` are available and take them."""
        if tokens > self.burst:
            raise ValidationError(
                f"cannot take {tokens} tokens from a bucket of {self.burst}", field="tokens"
            )
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= tokens:
                    self._tokens -= tokens
                    return
                await anyio.sleep((tokens - self._tokens) / self.rate)


async def bounded_map(
    func: Callable[[T], Awaitable[R]],
    items: Iterable[T],
    *,
    limit: int,
) -> list[R]:
    """``[await func(x) for x in items]`` with at most ``limit`` calls in flight.

    Items are pulled from ``items`` only when a slot is free (backpressure: a
    generator of work is never drained ahead of capacity).  Results keep the
    input order.  The first failure cancels the calls still running and is
    raised (inside an ``ExceptionGroup`` only if several failed at once).
    """
    if limit < 1:
        raise ValidationError("limit must be at least 1", field="limit")
    results: dict[int, R] = {}
    slots = anyio.Semaphore(limit)

    async def one(index: int, item: T) -> None:
        try:
            results[index] = await func(item)
        finally:
            slots.release()

    count = 0
    iterator = iter(items)
    try:
        async with anyio.create_task_group() as group:
            while True:
                await slots.acquire()  # take the slot first, then pull the next item
                try:
                    item = next(iterator)
                except StopIteration:
                    slots.release()
                    break
                group.start_soon(one, count, item)
                count += 1
    except BaseExceptionGroup as group_error:
        errors = group_error.exceptions
        if len(errors) == 1:
            raise errors[0] from None
        raise
    return [results[i] for i in range(count)]


@asynccontextmanager
async def cancel_on_signals(
    *signums: signal.Signals,
) -> AsyncIterator[anyio.CancelScope]:
    """Cancel the body when one of ``signums`` arrives (SIGINT and SIGTERM by default).

    The body's ``finally`` blocks run, so rollbacks registered there happen on
    a polite kill.  The scope's ``cancelled_caught`` tells whether a signal came.
    """
    wanted = signums or (signal.SIGINT, signal.SIGTERM)
    async with anyio.create_task_group() as group:
        with anyio.open_signal_receiver(*wanted) as receiver:
            scope = anyio.CancelScope()

            async def watch() -> None:
                async for signum in receiver:
                    _log.info("signal received, cancelling", signal=signal.Signals(signum).name)
                    scope.cancel()
                    return

            group.start_soon(watch)
            with scope:
                yield scope
            group.cancel_scope.cancel()
