"""structlog, configured once, with the standard library routed through it.

Every system calls :func:`configure_logging` at its CLI boundary (the shared
CLI does it for them) and then uses :func:`get_logger`.  Libraries that log
through :mod:`logging` end up in the same stream with the same renderer, so a
``--log-format json`` run produces nothing but JSON lines on stderr.
"""

from __future__ import annotations

import logging as _stdlib_logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any, Literal

import structlog

from shared_core.errors import ConfigError

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "LogFormat",
    "bind_context",
    "bound_context",
    "clear_context",
    "configure_logging",
    "get_logger",
]

LogFormat = Literal["pretty", "json"]
LOG_FORMATS: tuple[str, ...] = ("pretty", "json")
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")


def _level_number(level: str) -> int:
    name = level.strip().upper()
    if name.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"unknown log level {level!r}",
            key="log_level",
            hint=f"use one of: {', '.join(LOG_LEVELS)}",
        )
    number: int = _stdlib_logging.getLevelNamesMapping()[name]
    return number


def _drop_color_message(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # uvicorn adds a colourised copy of the message; JSON consumers do not want it.
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(
    level: str = "info",
    fmt: str = "pretty",
    *,
    stream: IO[str] | None = None,
) -> None:
    """Configure structlog and the stdlib root logger in one go.

    Calling it again replaces the previous configuration, so a CLI can apply
    the level and format it read from its settings after parsing arguments.

    Args:
        level: one of :data:`LOG_LEVELS`.
        fmt: ``pretty`` for people (colours only on a terminal) or ``json``
            for machines (one object per line).
        stream: where log lines go; stderr by default so stdout stays data.
    """
    if fmt not in LOG_FORMATS:
        raise ConfigError(
            f"unknown log format {fmt!r}",
            key="log_format",
            hint="use 'pretty' or 'json'",
        )
    number = _level_number(level)
    out = stream if stream is not None else sys.stderr

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        _drop_color_message,
    ]
    renderer: Any
    if fmt == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _stdlib_logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = _stdlib_logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_shared_core", False):
            root.removeHandler(old)
    handler._shared_core = True  # type: ignore[attr-defined]  # marks our handler for replacement
    root.addHandler(handler)
    root.setLevel(number)


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A bound logger; ``initial`` key/values appear on every line it writes.

    When nothing has configured logging yet (a library used from someone's
    script), warnings and errors go to stderr: structlog's own default would
    print every level to stdout and mix log lines into a program's data.
    """
    if not structlog.is_configured():
        configure_logging("warning", "pretty")
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**initial) if initial else logger


def bind_context(**values: Any) -> None:
    """Bind values to every log line in this context (thread or task)."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    """Forget every value bound with :func:`bind_context`."""
    structlog.contextvars.clear_contextvars()


@contextmanager
def bound_context(**values: Any) -> Iterator[None]:
    """Bind values for the duration of a ``with`` block only."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
