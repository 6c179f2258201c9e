"""CLI plumbing, logging, telemetry and concurrency helpers."""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import urllib.request
from typing import ClassVar

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from shared_core.cli import CliApp, Context
from shared_core.concurrency import (
    RateLimiter,
    RetryPolicy,
    bounded_map,
    retry,
    retry_sync,
    run_with_timeout,
)
from shared_core.config import CoreSettings, settings_config
from shared_core.errors import (
    ConcurrencyError,
    ConfigError,
    DeadlineExceededError,
    ValidationError,
)
from shared_core.logging import bound_context, configure_logging, get_logger
from shared_core.telemetry import Metrics, setup_tracing, span, traced
from shared_core.testing import free_port, run_cli


class ToySettings(CoreSettings):
    system: ClassVar[str] = "toy"
    model_config = settings_config("toy")
    greeting: str = "hello"


def _toy_app() -> CliApp:
    app = CliApp("toy", "1.2.3", ToySettings, "A toy CLI for tests.")

    @app.command("greet", help="greet someone", setup=lambda p: p.add_argument("who"))
    def greet(ctx: Context, args: argparse.Namespace) -> int:
        assert isinstance(ctx.settings, ToySettings)
        ctx.emit(
            {"text": f"{ctx.settings.greeting} {args.who}"},
            human=f"{ctx.settings.greeting} {args.who}",
        )
        return 0

    @app.command("fail", help="fail on purpose")
    def fail(_ctx: Context, _args: argparse.Namespace) -> int:
        raise ValidationError("widget 7 is malformed", path="in.txt", line=4, hint="fix line 4")

    @app.command("bug", help="crash on purpose")
    def bug(_ctx: Context, _args: argparse.Namespace) -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    return app


class TestCli:
    def test_command_and_settings_flag(self) -> None:
        """A command runs with settings from a derived flag."""
        result = run_cli(_toy_app().main, ["--greeting", "hi", "greet", "ann"])
        assert (result.code, result.out) == (0, "hi ann\n")

    def test_json_output(self) -> None:
        """--json prints the data as JSON."""
        result = run_cli(_toy_app().main, ["--json", "greet", "bob"])
        assert json.loads(result.out) == {"text": "hello bob"}

    def test_validation_error_is_one_line_exit_2(self) -> None:
        """Bad input: one line with what, where and a hint; exit 2; no traceback."""
        result = run_cli(_toy_app().main, ["fail"])
        assert result.code == 2
        assert result.err == "toy: error: widget 7 is malformed (in.txt:4); hint: fix line 4\n"

    def test_internal_error_is_exit_3_with_traceback_only_on_debug(self) -> None:
        """A bug is exit 3; the traceback appears only with --debug."""
        plain = run_cli(_toy_app().main, ["bug"])
        assert plain.code == 3
        assert "Traceback" not in plain.err
        assert "internal error: KeyError" in plain.err
        debug = run_cli(_toy_app().main, ["--debug", "bug"])
        assert "Traceback" in debug.err

    def test_json_after_the_command(self) -> None:
        """--json works after the sub-command as well as before it."""
        result = run_cli(_toy_app().main, ["greet", "bob", "--json"])
        assert json.loads(result.out) == {"text": "hello bob"}

    def test_settings_flags_after_the_command(self) -> None:
        """A setting given after the sub-command works, and before it still does."""
        after = run_cli(_toy_app().main, ["greet", "ann", "--greeting", "hey"])
        before = run_cli(_toy_app().main, ["--greeting", "hey", "greet", "ann"])
        assert after.out == before.out == "hey ann\n"

    def test_config_help_names_the_default_file(self) -> None:
        """--help shows the real default config path, not 'None'."""
        result = run_cli(_toy_app().main, ["--help"])
        flat = " ".join(result.out.split())
        assert "TOML settings file (default: /etc/toy/config.toml if present)" in flat

    def test_json_errors(self) -> None:
        """With --json, errors are JSON on stderr too."""
        result = run_cli(_toy_app().main, ["--json", "fail"])
        assert json.loads(result.err)["context"] == {"path": "in.txt", "line": 4}

    def test_no_command_prints_help_and_exits_2(self) -> None:
        """Running without a command shows usage and exits 2."""
        result = run_cli(_toy_app().main, [])
        assert result.code == 2
        assert "greet" in result.out

    def test_bad_choice_is_usage_error(self) -> None:
        """An invalid --log-level is a one-line usage error."""
        result = run_cli(_toy_app().main, ["--log-level", "loud", "greet", "x"])
        assert result.code == 2
        assert result.err.count("\n") == 1

    def test_progress_is_silent_when_piped(self) -> None:
        """Progress bars draw nothing when stderr is not a terminal."""
        app = _toy_app()
        out, err = io.StringIO(), io.StringIO()
        ctx = Context(app, ToySettings.load(), False, False, stdout=out, stderr=err)
        with ctx.progress("work", total=3) as bar:
            bar.advance(3)
        assert err.getvalue() == ""


class TestLogging:
    def test_json_lines_with_context_and_stdlib(self) -> None:
        """JSON logs carry bound context, and stdlib loggers come out as JSON too."""
        stream = io.StringIO()
        configure_logging("info", "json", stream=stream)
        with bound_context(request_id="r1"):
            get_logger("t").info("hello", n=1)
        logging.getLogger("plain.stdlib").warning("from stdlib %s", "x")
        get_logger("t").debug("hidden")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert lines[0]["event"] == "hello"
        assert lines[0]["request_id"] == "r1"
        assert lines[0]["level"] == "info"
        assert lines[1]["event"] == "from stdlib x"
        assert len(lines) == 2
        configure_logging("warning", "pretty")

    def test_unknown_level_or_format(self) -> None:
        """Unknown levels and formats are config errors."""
        with pytest.raises(ConfigError):
            configure_logging("loud")
        with pytest.raises(ConfigError):
            configure_logging("info", "xml")


class TestTelemetry:
    def test_spans_recorded_in_memory_without_network(self) -> None:
        """Spans are kept in memory; errors mark the span."""
        handle = setup_tracing("svc", sampling_ratio=1.0)

        @traced("decorated")
        def work() -> int:
            return 5

        assert work() == 5
        with pytest.raises(ValidationError), span("failing", key="v"):
            raise ValidationError("nope")
        names = [s.name for s in handle.finished_spans()]
        assert names == ["decorated", "failing"]
        failing = handle.finished_spans()[1]
        assert failing.attributes is not None
        assert failing.attributes["error.kind"] == "validation"
        assert failing.status.is_ok is False

    def test_zero_sampling_records_nothing(self) -> None:
        """A sampling ratio of 0 keeps no root spans."""
        handle = setup_tracing("svc", sampling_ratio=0.0)
        with span("dropped"):
            pass
        assert handle.finished_spans() == ()

    def test_metric_names_follow_convention(self) -> None:
        """Metrics get the system prefix and need a unit suffix."""
        metrics = Metrics("demo")
        metrics.counter("events_total", "events", ["kind"]).labels(kind="a").inc(3)
        assert b'demo_events_total{kind="a"} 3.0' in metrics.exposition()
        with pytest.raises(ConfigError):
            metrics.gauge("Bad-Name", "x")

    def test_metrics_endpoint_on_loopback(self) -> None:
        """/metrics serves the registry over HTTP on loopback."""
        metrics = Metrics("demo")
        metrics.gauge("queue_items", "queued").set(7)
        port = free_port()
        server, _thread = metrics.serve(port)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                body = resp.read()
        finally:
            server.shutdown()
            server.server_close()
        assert b"demo_queue_items 7.0" in body


class TestServeAllMetrics:
    def test_every_live_registry_is_scraped(self) -> None:
        """--metrics-port's endpoint shows every live Metrics object's series."""
        from shared_core.telemetry import serve_all_metrics

        first, second = Metrics("alpha"), Metrics("beta")
        first.counter("jobs_total", "jobs").inc(2)
        second.gauge("queue_items", "queued").set(5)
        port = free_port()
        server, _thread = serve_all_metrics(port)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                body = resp.read()
        finally:
            server.shutdown()
            server.server_close()
        assert b"alpha_jobs_total 2.0" in body
        assert b"beta_queue_items 5.0" in body


class TestConcurrency:
    def test_timeout_raises_our_error(self) -> None:
        """A slow call past its deadline raises DeadlineExceededError."""

        async def slow() -> None:
            await anyio.sleep(10)

        async def main() -> None:
            await run_with_timeout(0.05, slow)

        with pytest.raises(DeadlineExceededError):
            anyio.run(main)

    def test_retry_until_success_and_exhaustion(self) -> None:
        """Retries recover from transient failures and report exhaustion."""
        calls = {"n": 0}

        async def flaky() -> str:
            calls["n"] += 1
            if calls["n"] < 3:
                raise OSError("transient")
            return "ok"

        policy = RetryPolicy(attempts=3, base_delay=0.0)
        assert anyio.run(lambda: retry(flaky, policy=policy)) == "ok"
        calls["n"] = -10
        with pytest.raises(ConcurrencyError) as info:
            anyio.run(lambda: retry(flaky, policy=policy))
        assert isinstance(info.value.__cause__, OSError)

    def test_retry_sync_with_recorded_pauses(self) -> None:
        """The synchronous retry sleeps the policy's delays and reports exhaustion."""
        pauses: list[float] = []
        calls = {"n": 0}

        def flaky() -> int:
            calls["n"] += 1
            if calls["n"] < 3:
                raise OSError("transient")
            return 7

        policy = RetryPolicy(attempts=3, base_delay=0.5, jitter=False)
        assert retry_sync(flaky, policy=policy, sleep=pauses.append) == 7
        assert pauses == [0.5, 1.0]
        with pytest.raises(ConcurrencyError):
            retry_sync(
                lambda: 1 / 0, policy=RetryPolicy(attempts=2, base_delay=0), sleep=pauses.append
            )

    def test_backoff_is_exponential_capped_and_jittered(self) -> None:
        """Delays grow by the multiplier up to the cap; jitter stays within it."""
        policy = RetryPolicy(base_delay=0.1, max_delay=1.0, jitter=False)
        assert [policy.delay(n) for n in (1, 2, 3, 5)] == [0.1, 0.2, 0.4, 1.0]
        jittered = RetryPolicy(base_delay=0.1, max_delay=1.0)
        assert all(0 <= jittered.delay(4) <= 0.8 for _ in range(100))

    def test_rate_limiter_with_fake_clock(self) -> None:
        """The bucket allows a burst, then one token per 1/rate seconds."""
        now = [0.0]
        limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
        assert limiter.try_acquire()
        assert limiter.try_acquire()
        assert not limiter.try_acquire()
        now[0] += 0.5
        assert limiter.try_acquire()
        assert not limiter.try_acquire()

    def test_bounded_map_order_and_limit(self) -> None:
        """Results keep input order and never more than `limit` run at once."""
        running = {"now": 0, "peak": 0}

        async def work(x: int) -> int:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
            await anyio.sleep(0.001 * (5 - x % 5))
            running["now"] -= 1
            return x * x

        result = anyio.run(lambda: bounded_map(work, range(20), limit=3))
        assert result == [x * x for x in range(20)]
        assert running["peak"] == 3

    def test_bounded_map_pulls_lazily(self) -> None:
        """The producer is not drained ahead of free slots (backpressure)."""
        pulled: list[int] = []
        gate = anyio.Event()

        def items() -> object:
            for i in range(10):
                pulled.append(i)
                yield i

        async def work(x: int) -> int:
            if x == 0:
                await gate.wait()
            return x

        async def main() -> list[int]:
            async with anyio.create_task_group() as tg:
                result: list[int] = []

                async def run() -> None:
                    result.extend(await bounded_map(work, items(), limit=1))  # type: ignore[arg-type]

                tg.start_soon(run)
                await wait_all_tasks_blocked()
                assert pulled == [0]
                gate.set()
            return result

        assert anyio.run(main) == list(range(10))

    def test_bounded_map_propagates_first_failure(self) -> None:
        """A failing call surfaces as itself, not wrapped."""

        async def work(x: int) -> int:
            if x == 3:
                raise ValidationError("bad item 3")
            return x

        with pytest.raises(ValidationError):
            anyio.run(lambda: bounded_map(work, range(6), limit=2))

    def test_invalid_arguments(self) -> None:
        """Nonsense limits and timeouts are validation errors."""
        with pytest.raises(ValidationError):
            anyio.run(lambda: bounded_map(lambda x: anyio.sleep(0), [], limit=0))
        with pytest.raises(ValidationError):
            anyio.run(lambda: run_with_timeout(math.nan, anyio.sleep, 0))
        with pytest.raises(ValidationError):
            RetryPolicy(attempts=0)


class TestOtlpExport:
    def test_spans_reach_a_configured_otlp_endpoint_on_loopback(self) -> None:
        """With an endpoint configured, spans are POSTed as OTLP protobuf; without one, nothing is sent."""
        import http.server
        import threading

        received: list[tuple[str, str, bytes]] = []

        class Collector(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"], body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return None

        server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
            handle = setup_tracing("otlp-test", otlp_endpoint=endpoint)
            with span("exported-span"):
                pass
            handle.provider.force_flush()
            handle.shutdown()
        finally:
            # Leave a fresh, export-free provider as the global one: later tests
            # (and other packages' CLIs) must not end spans on a shut-down provider.
            setup_tracing("after-otlp-test")
            server.shutdown()
            server.server_close()
        assert len(received) == 1
        path, content_type, body = received[0]
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        assert b"exported-span" in body
        assert b"otlp-test" in body

    def test_bad_endpoint_is_config_error(self) -> None:
        """An endpoint that is not an http(s) URL is refused before any export."""
        with pytest.raises(ConfigError):
            setup_tracing("x", otlp_endpoint="localhost:4317")
