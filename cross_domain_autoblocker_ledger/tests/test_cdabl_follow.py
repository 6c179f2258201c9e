"""``follow_lines``: tail -F semantics (growth, partial lines, rotation, truncation)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cross_domain_autoblocker_ledger import follow_lines


@pytest.fixture
def tail(tmp_path: Path) -> Iterator[tuple[Path, queue.Queue[tuple[int, str]]]]:
    path = tmp_path / "auth.log"
    stop = threading.Event()
    seen: queue.Queue[tuple[int, str]] = queue.Queue()

    def run() -> None:
        for item in follow_lines(path, stop, poll=0.01):
            seen.put(item)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield path, seen
    finally:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()


def take(seen: queue.Queue[tuple[int, str]], n: int) -> list[str]:
    return [seen.get(timeout=5)[1] for _ in range(n)]


class TestFollow:
    def test_waits_for_the_file_then_reads_growth(
        self, tail: tuple[Path, queue.Queue[tuple[int, str]]]
    ) -> None:
        """A file that appears later is read from its start; appended lines follow."""
        path, seen = tail
        path.write_text("one\ntwo\n")
        assert take(seen, 2) == ["one", "two"]
        with path.open("a") as handle:
            handle.write("three\n")
        assert take(seen, 1) == ["three"]

    def test_partial_line_waits_for_its_newline(
        self, tail: tuple[Path, queue.Queue[tuple[int, str]]]
    ) -> None:
        """Half a line is not yielded until it is complete."""
        path, seen = tail
        with path.open("w") as handle:
            handle.write("first\nsec")
            handle.flush()
            assert take(seen, 1) == ["first"]
            handle.write("ond\n")
        assert take(seen, 1) == ["second"]

    def test_rotation_and_truncation(self, tail: tuple[Path, queue.Queue[tuple[int, str]]]) -> None:
        """A rotated (renamed, recreated) or truncated file is re-read from its start."""
        path, seen = tail
        path.write_text("a\n")
        assert take(seen, 1) == ["a"]
        path.rename(path.with_suffix(".1"))
        path.write_text("b\nc\n")
        assert take(seen, 2) == ["b", "c"]
        path.write_text("")  # truncate in place
        with path.open("a") as handle:
            handle.write("d\n")
        assert take(seen, 1) == ["d"]
