"""Reading log files into events: format detection, batch reads and ``--follow``.

:func:`open_parser` builds the parser for a format; ``auto`` looks at the
first non-empty lines of a file (JSON object, access-log line, or syslog).
:func:`read_events` streams a whole file; :func:`follow_lines` keeps
reading a growing file the way ``tail -F`` does (it notices truncation and
rotation by inode) until asked to stop.  Undecodable bytes are replaced, so a
corrupt line is refused by its parser instead of stopping the read.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

from cross_domain_autoblocker_ledger._access import AccessLogParser
from cross_domain_autoblocker_ledger._authlog import AuthLogParser
from cross_domain_autoblocker_ledger._event import Event, ParseStats
from cross_domain_autoblocker_ledger._jsonlines import JsonLinesParser, JsonMapping
from cross_domain_autoblocker_ledger._sshd import SshdMode
from cross_domain_autoblocker_ledger._syslog import TimestampResolver
from cross_domain_autoblocker_ledger.errors import LedgerIngestError, LedgerInputError

__all__ = [
    "LOG_FORMATS",
    "LineParser",
    "LogFormat",
    "detect_format",
    "follow_lines",
    "open_parser",
    "read_events",
]

LogFormat = Literal["auto", "auth", "access", "jsonl"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "auth", "access", "jsonl")

_ACCESS_HINT = re.compile(r"^\S+ \S+ \S+ \[\d{2}/[A-Z][a-z]{2}/\d{4}:")


class LineParser(Protocol):
    """What every parser offers: ``feed`` one line, and its ``stats``."""

    stats: ParseStats

    def feed(self, line: str, lineno: int = 0) -> Event | None: ...


def detect_format(sample: list[str]) -> LogFormat:
    """Guess a file's format from its first non-empty lines (``auth`` when unsure)."""
    for line in sample:
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            return "jsonl"
        if _ACCESS_HINT.match(text) or _ACCESS_HINT.match(text.split(" ", 1)[-1]):
            return "access"
        return "auth"
    return "auth"


def open_parser(
    fmt: LogFormat,
    origin: str = "",
    *,
    mode: SshdMode = "normal",
    times: TimestampResolver | None = None,
    mapping: JsonMapping | None = None,
) -> LineParser:
    """The parser for ``fmt`` (not ``auto``: detect first)."""
    if fmt == "auth":
        return AuthLogParser(origin, mode=mode, times=times)
    if fmt == "access":
        return AccessLogParser(origin)
    if fmt == "jsonl":
        return JsonLinesParser(origin, mapping=mapping, mode=mode)
    raise LedgerInputError(
        f"unknown log format {fmt!r}", hint=f"use one of {', '.join(LOG_FORMATS)}", field="format"
    )


def _open(path: Path) -> Iterator[str]:
    try:
        handle = path.open("r", encoding="utf-8", errors="replace", newline="")
    except FileNotFoundError:
        raise LedgerInputError(
            f"log file {str(path)!r} does not exist", path=str(path), hint="check the path"
        ) from None
    except IsADirectoryError:
        raise LedgerInputError(
            f"{str(path)!r} is a directory, not a log file",
            path=str(path),
            hint="name the files inside it",
        ) from None
    except OSError as exc:
        raise LedgerIngestError(
            f"cannot read {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check the file's permissions",
        ) from exc
    with handle:
        yield from handle


def read_events(
    path: Path,
    fmt: LogFormat = "auto",
    *,
    mode: SshdMode = "normal",
    times: TimestampResolver | None = None,
    mapping: JsonMapping | None = None,
) -> tuple[Iterator[Event], LineParser]:
    """Stream the events of one file; the parser's ``stats`` fill as it is consumed."""
    if fmt == "auto":
        sample: list[str] = []
        for line in _open(path):
            sample.append(line)
            if line.strip() or len(sample) > 50:
                break
        fmt = detect_format(sample)
    parser = open_parser(fmt, str(path), mode=mode, times=times, mapping=mapping)

    def events() -> Iterator[Event]:
        if isinstance(parser, AuthLogParser):  # the busiest format reads a whole file at once
            yield from parser.read(_open(path))
            return
        feed = parser.feed
        for lineno, line in enumerate(_open(path), 1):
            event = feed(line.rstrip("\r\n"), lineno)
            if event is not None:
                yield event

    return events(), parser


def follow_lines(
    path: Path, stop: threading.Event, *, from_start: bool = True, poll: float = 0.2
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` from a growing file until ``stop`` is set.

    Like ``tail -F``: waits for the file to appear, re-opens it when it is
    replaced (rotation: a new inode) or truncated, and only yields complete
    lines (a partial last line waits for its newline).
    """
    handle = None
    inode = None
    buffer = ""
    lineno = 0
    try:
        while not stop.is_set():
            if handle is None:
                try:
                    handle = path.open("r", encoding="utf-8", errors="replace", newline="")
                except FileNotFoundError:
                    stop.wait(poll)
                    continue
                inode = os.fstat(handle.fileno()).st_ino
                if not from_start:
                    handle.seek(0, os.SEEK_END)
                from_start = True  # a rotated file is read from its start
            chunk = handle.read(65536)
            if chunk:
                buffer += chunk
                *complete, buffer = buffer.split("\n")
                for line in complete:
                    lineno += 1
                    yield lineno, line.rstrip("\r")
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is None or st.st_ino != inode or st.st_size < handle.tell():
                handle.close()
                handle = None
                buffer = ""
                continue
            stop.wait(poll)
    finally:
        if handle is not None:
            handle.close()
