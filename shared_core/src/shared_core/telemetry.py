"""Tracing and metrics, offline unless asked otherwise.

Tracing uses the OpenTelemetry SDK with a parent-based ratio sampler.  Spans
are recorded in-process always (so tests and ``--debug`` runs can inspect
them) and exported over OTLP/HTTP only when an endpoint is configured: with no
endpoint, nothing leaves the process.

Metrics use prometheus-client.  :class:`Metrics` keeps one registry per
system, enforces the ``<system>_<thing>_<unit>`` naming convention, and can
serve ``/metrics`` on loopback.
"""

from __future__ import annotations

import functools
import inspect
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Status, StatusCode
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    generate_latest,
    start_http_server,
)
from prometheus_client.registry import Collector

from shared_core.errors import ConfigError, CoreError

if TYPE_CHECKING:
    from shared_core.config import CoreSettings

__all__ = [
    "Metrics",
    "TelemetryHandle",
    "get_tracer",
    "serve_all_metrics",
    "setup_from_settings",
    "setup_tracing",
    "span",
    "traced",
]

P = ParamSpec("P")
R = TypeVar("R")

_LIVE: weakref.WeakSet[Metrics] = weakref.WeakSet()
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNITS = ("seconds", "bytes", "total", "ratio", "count", "info", "celsius", "percent", "items")


class TelemetryHandle:
    """What :func:`setup_tracing` built: the provider and an in-memory copy of spans."""

    def __init__(self, provider: TracerProvider, memory: InMemorySpanExporter) -> None:
        self.provider = provider
        self.memory = memory

    def finished_spans(self) -> Sequence[ReadableSpan]:
        """Spans ended so far in this process (kept in memory, never sent anywhere)."""
        return self.memory.get_finished_spans()

    def shutdown(self) -> None:
        self.provider.shutdown()


def setup_tracing(
    service_name: str,
    *,
    service_version: str = "0",
    sampling_ratio: float = 1.0,
    otlp_endpoint: str | None = None,
    exporter: SpanExporter | None = None,
) -> TelemetryHandle:
    """Build a tracer provider and make it the global one.

    Args:
        service_name: ``service.name`` resource attribute.
        sampling_ratio: fraction of root traces sampled; children follow their parent.
        otlp_endpoint: OTLP/HTTP traces URL; when ``None`` no exporter touches the network.
        exporter: an extra exporter (tests pass one).
    """
    if not 0.0 <= sampling_ratio <= 1.0:
        raise ConfigError(
            f"sampling ratio {sampling_ratio} is outside [0, 1]",
            key="trace_sampling_ratio",
            hint="use a fraction such as 0.1",
        )
    resource = Resource.create({"service.name": service_name, "service.version": service_version})
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(sampling_ratio))
    )
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if otlp_endpoint:
        if not otlp_endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                f"OTLP endpoint {otlp_endpoint!r} is not an http(s) URL",
                key="otlp_endpoint",
                hint="use e.g. http://127.0.0.1:4318/v1/traces",
            )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    _set_global_provider(provider)
    return TelemetryHandle(provider, memory)


def _set_global_provider(provider: TracerProvider) -> None:
    # The API refuses a second set_tracer_provider; a CLI run in tests calls us
    # many times, so swap the proxy's delegate directly (documented pattern in
    # opentelemetry's own test utilities).
    trace._TRACER_PROVIDER_SET_ONCE._done = False  # see above
    trace.set_tracer_provider(provider)


def get_tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


@contextmanager
def span(name: str, tracer: str = "shared_core", **attributes: Any) -> Iterator[trace.Span]:
    """Run a block inside a span; an escaping exception marks the span as an error."""
    with get_tracer(tracer).start_as_current_span(
        name, attributes=_attributes(attributes), record_exception=True
    ) as current:
        try:
            yield current
        except CoreError as exc:
            current.set_attribute("error.kind", exc.kind.value)
            current.set_status(Status(StatusCode.ERROR, exc.message))
            raise


def traced(
    name: str | None = None, tracer: str = "shared_core"
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of :func:`span`, for sync and async functions alike."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        span_name = name or func.__qualname__
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with span(span_name, tracer):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]  # same signature, async

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with span(span_name, tracer):
                return func(*args, **kwargs)

        return wrapper

    return decorate


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str | bool | int | float):
            clean[key] = value
        elif value is not None:
            clean[key] = str(value)
    return clean


class Metrics:
    """A system's Prometheus registry with names checked against the convention.

    ``Metrics("chaos_engine").counter("faults_injected_total", "...")`` registers
    ``chaos_engine_faults_injected_total``.
    """

    def __init__(self, system: str, registry: CollectorRegistry | None = None) -> None:
        self.system = system
        self.registry = registry if registry is not None else CollectorRegistry()
        self._made: dict[str, Any] = {}
        if registry is None:
            _LIVE.add(self)  # scraped by serve_all_metrics while this object lives

    def _name(self, name: str) -> str:
        full = name if name.startswith(self.system + "_") else f"{self.system}_{name}"
        if not _METRIC_NAME.match(full) or not full.endswith(_UNITS):
            raise ConfigError(
                f"metric name {full!r} does not follow <system>_<thing>_<unit>",
                key="metric",
                hint=f"end the name with a unit: {', '.join(_UNITS)}",
            )
        return full

    def _get(self, kind: type[Any], name: str, doc: str, labels: Sequence[str], **kw: Any) -> Any:
        full = self._name(name)
        existing = self._made.get(full)
        if existing is not None:
            return existing
        metric_name = full.removesuffix("_total") if kind is Counter else full
        made = kind(metric_name, doc, labelnames=tuple(labels), registry=self.registry, **kw)
        self._made[full] = made
        return made

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        result: Counter = self._get(Counter, name, doc, labels)
        return result

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        result: Gauge = self._get(Gauge, name, doc, labels)
        return result

    def histogram(
        self,
        name: str,
        doc: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        result: Histogram = self._get(Histogram, name, doc, labels, buckets=tuple(buckets))
        return result

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> tuple[Any, Any]:
        """Serve ``/metrics`` on ``addr:port`` in a daemon thread; returns (server, thread)."""
        try:
            server, thread = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {addr}:{port}: {exc.strerror}",
                key="metrics_port",
                hint="choose a free port, or 0 for any",
            ) from exc
        return server, thread


_HANDLES: dict[str, TelemetryHandle] = {}


def setup_from_settings(service: str, version: str, settings: CoreSettings) -> TelemetryHandle:
    """Tracing (and the metrics endpoint when ``metrics_port`` is set) from settings."""
    handle = setup_tracing(
        service,
        service_version=version,
        sampling_ratio=settings.trace_sampling_ratio,
        otlp_endpoint=settings.otlp_endpoint,
    )
    if settings.metrics_port is not None:
        serve_all_metrics(settings.metrics_port)
    _HANDLES[service] = handle
    return handle


class _LiveMetrics(Collector):
    """Everything every live :class:`Metrics` registry holds, collected on each scrape."""

    def collect(self) -> Iterator[Metric]:
        for metrics in list(_LIVE):
            yield from metrics.registry.collect()


def serve_all_metrics(port: int, addr: str = "127.0.0.1") -> tuple[Any, Any]:
    """Serve ``/metrics`` with the default registry plus every :class:`Metrics` in this process.

    Systems keep one registry per object (a client, a server) so two of them in
    one process never clash; this endpoint is where all of them are scraped.
    """
    from prometheus_client import REGISTRY

    served = CollectorRegistry()
    served.register(_LiveMetrics())
    served.register(_DefaultRegistry(REGISTRY))
    try:
        return start_http_server(port, addr=addr, registry=served)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {addr}:{port}: {exc.strerror}",
            key="metrics_port",
            hint="choose a free port, or 0 for any",
        ) from exc


class _DefaultRegistry(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
