"""A small JSONPath evaluator for ``jsonpath`` tolerances.

Covers what tolerance paths use: ``$``, ``.name``, ``['name']``, ``..name``,
``*``, ``[n]``, ``[start:end]`` and filters ``[?(@.a.b OP value)]`` with
``=``/``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` or a bare ``[?(@.a)]``
existence test.  Matches come back in document order, as jsonpath2 gives them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["JsonPathError", "compile_path", "find"]


class JsonPathError(ValueError):
    """The path is not valid JSONPath."""


Step = Callable[[Any], Iterator[Any]]

_NAME = re.compile(r"[A-Za-z_][\w-]*")
_FILTER = re.compile(
    r"\?\(\s*@((?:\.[A-Za-z_][\w-]*|\[\s*(?:'[^']*'|\"[^\"]*\"|\d+)\s*\])*)\s*"
    r"(?:(==|=|!=|<=|>=|<|>)\s*(.+?))?\s*\)$"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, list):
        yield from node


def _descendants(node: Any) -> Iterator[Any]:
    yield node
    for child in _children(node):
        yield from _descendants(child)


def _member(name: str) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, dict) and name in node:
            yield node[name]

    return step


def _index(i: int) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, list) and -len(node) <= i < len(node):
            yield node[i]

    return step


def _slice(start: int | None, end: int | None) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, list):
            yield from node[start:end]

    return step


def _subpath(text: str) -> list[str | int]:
    keys: list[str | int] = []
    for m in re.finditer(r"\.([A-Za-z_][\w-]*)|\[\s*(?:'([^']*)'|\"([^\"]*)\"|(\d+))\s*\]", text):
        name, sq, dq, num = m.groups()
        keys.append(int(num) if num is not None else (name or sq or dq or ""))
    return keys


def _filter(expr: str) -> Step:
    m = _FILTER.match(expr)
    if m is None:
        raise JsonPathError(f"unsupported filter [{expr}]")
    keys, op, raw = _subpath(m.group(1)), m.group(2), m.group(3)
    expected: Any = None
    if op is not None:
        text = raw.strip()
        if text.startswith("'") and text.endswith("'"):
            text = json.dumps(text[1:-1])
        try:
            expected = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JsonPathError(f"filter value {raw!r} is not a JSON literal") from exc

    def resolve(node: Any) -> tuple[bool, Any]:
        for key in keys:
            if isinstance(key, int):
                if not (isinstance(node, list) and key < len(node)):
                    return False, None
                node = node[key]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                return False, None
        return True, node

    def step(node: Any) -> Iterator[Any]:
        for child in _children(node):
            found, value = resolve(child)
            if not found:
                continue
            if op is None:
                yield child
                continue
            try:
                if _OPS[op](value, expected):
                    yield child
            except TypeError:
                continue

    return step


def _bracket(inner: str) -> Step:
    text = inner.strip()
    if text == "*":
        return _children
    if text.startswith("?"):
        return _filter(text)
    if (text.startswith("'") and text.endswith("'")) or (
        text.startswith('"') and text.endswith('"')
    ):
        return _member(text[1:-1])
    if re.fullmatch(r"-?\d+", text):
        return _index(int(text))
    m = re.fullmatch(r"(-?\d*)\s*:\s*(-?\d*)", text)
    if m:
        return _slice(
            int(m.group(1)) if m.group(1) else None, int(m.group(2)) if m.group(2) else None
        )
    raise JsonPathError(f"unsupported selector [{inner}]")


def _closing(path: str, start: int) -> int:
    depth, quote = 0, ""
    for i in range(start, len(path)):
        ch = path[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JsonPathError("unbalanced '['")


def compile_path(path: str) -> list[tuple[bool, Step]]:
    """Parse ``path`` into steps ``(recursive, step)``; raises :class:`JsonPathError`."""
    if not isinstance(path, str):
        raise JsonPathError("a JSON path must be a string")
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError("a JSON path starts with '$'")
    steps: list[tuple[bool, Step]] = []
    i = 1
    while i < len(text):
        recursive = False
        if text.startswith("..", i):
            recursive, i = True, i + 2
        elif text[i] == ".":
            i += 1
        if i < len(text) and text[i] == "[":
            end = _closing(text, i)
            steps.append((recursive, _bracket(text[i + 1 : end])))
            i = end + 1
            continue
        if i < len(text) and text[i] == "*":
            steps.append((recursive, _children))
            i += 1
            continue
        m = _NAME.match(text, i)
        if m is None:
            raise JsonPathError(f"unexpected {text[i:]!r} in JSON path {path!r}")
        steps.append((recursive, _member(m.group(0))))
        i = m.end()
    return steps


def find(path: str, document: Any) -> list[Any]:
    """Every value ``path`` selects in ``document``, in document order."""
    nodes = [document]
    for recursive, step in compile_path(path):
        out: list[Any] = []
        for node in nodes:
            for target in _descendants(node) if recursive else (node,):
                out.extend(step(target))
        nodes = out
    return nodes
