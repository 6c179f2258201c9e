"""Diagnostics in the rustc/Elm tradition: a stable code, a span, labels, notes, help.

A :class:`Diagnostic` points into a :class:`Source` by character offsets; the
renderer prints ``file:line:col``, the source line and a caret span under it.
Codes are stable: once published a code keeps its meaning, and ``cec explain
CODE`` prints the long explanation kept in :data:`EXPLANATIONS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "EXPLANATIONS",
    "Diagnostic",
    "Label",
    "Source",
    "render_diagnostics",
]


@dataclass(frozen=True, slots=True)
class Source:
    """A named source text; ``line_col`` maps an offset to 1-based line and column."""

    text: str
    name: str = "<expr>"

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of character ``offset`` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - start + 1

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` without its newline."""
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Label:
    """A secondary span with a short message."""

    start: int
    end: int
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a source, with a stable ``code`` (``E0001``...)."""

    code: str
    message: str
    start: int
    end: int
    label: str = ""
    notes: tuple[str, ...] = ()
    help: str | None = None
    suggestion: str | None = None
    labels: tuple[Label, ...] = field(default=())
    severity: str = "error"

    def to_dict(self, source: Source) -> dict[str, Any]:
        """A JSON-ready form for ``--format json``."""
        line, col = source.line_col(self.start)
        end_line, end_col = source.line_col(self.end)
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": source.name,
            "line": line,
            "column": col,
            "end_line": end_line,
            "end_column": end_col,
            "label": self.label,
            "notes": list(self.notes),
            "help": self.help,
            "suggestion": self.suggestion,
            "labels": [
                {"start": lb.start, "end": lb.end, "message": lb.message} for lb in self.labels
            ],
        }


def _caret_block(source: Source, start: int, end: int, label: str, mark: str) -> list[str]:
    line, col = source.line_col(start)
    text = source.line_text(line)
    end_line, end_col = source.line_col(max(end, start))
    width = (end_col - col) if end_line == line else (len(text) - col + 1)
    width = max(1, width)
    gutter = " " * len(str(line))
    return [
        f"{gutter} |",
        f"{line} | {text}",
        f"{gutter} | {' ' * (col - 1)}{mark * width}{(' ' + label) if label else ''}",
    ]


def render_diagnostic(diag: Diagnostic, source: Source) -> str:
    """Human text: header, location, source line with carets, labels, notes and help."""
    line, col = source.line_col(diag.start)
    gutter = " " * len(str(line))
    out = [
        f"{diag.severity}[{diag.code}]: {diag.message}",
        f"{gutter}--> {source.name}:{line}:{col}",
    ]
    out.extend(_caret_block(source, diag.start, diag.end, diag.label, "^"))
    for extra in diag.labels:
        out.extend(_caret_block(source, extra.start, extra.end, extra.message, "-")[1:])
    out.extend(f"{gutter} = note: {note}" for note in diag.notes)
    if diag.help:
        out.append(f"{gutter} = help: {diag.help}")
    if diag.suggestion is not None:
        out.append(f"{gutter} = suggestion: {diag.suggestion}")
    return "\n".join(out)


def render_diagnostics(diags: list[Diagnostic], source: Source, fmt: str = "human") -> str:
    """All diagnostics as human text (blank-line separated) or a JSON array."""
    if fmt == "json":
        return json.dumps([d.to_dict(source) for d in diags], indent=2, sort_keys=True)
    return "\n\n".join(render_diagnostic(d, source) for d in diags)


EXPLANATIONS: Final[dict[str, tuple[str, str]]] = {
    "E0001": (
        "unexpected character",
        "The lexer met a character that cannot start any token of the language.\n\n"
        "Example:\n\n    1 # 2\n\nCEL has no `#` operator. Remove the character or quote it inside a string.",
    ),
    "E0002": (
        "unterminated string or bytes literal",
        "A string opened with ', \", ''' or \"\"\" was not closed before the end of the line\n"
        "(single-quoted forms) or of the input (triple-quoted forms).\n\n"
        "Example:\n\n    'abc\n\nClose the literal with the same quote that opened it: 'abc'.",
    ),
    "E0003": (
        "invalid escape sequence",
        "Inside a string or bytes literal a backslash must start one of the escapes\n"
        "\\a \\b \\f \\n \\r \\t \\v \\\\ \\' \\\" \\` \\? \\xHH \\ooo \\uHHHH \\UHHHHHHHH.\n"
        "Use a raw literal (r'...') to keep backslashes as they are.",
    ),
    "E0004": (
        "invalid numeric literal",
        "An integer literal must fit int64 (or uint64 with a `u` suffix), and a double\n"
        "literal must be a finite number.\n\nExample:\n\n    9223372036854775808\n\n"
        "is one more than the largest int; write 9223372036854775808u for a uint.",
    ),
    "E0005": (
        "syntax error",
        "The parser expected a different token here. The message names what it expected;\n"
        "the parser then skips ahead to the next `,` `)` `]` `}` or line and keeps going, so\n"
        "several independent syntax errors are reported at once.",
    ),
    "E0006": (
        "reserved word used as an identifier",
        "CEL reserves `as break const continue else for function if import let loop\n"
        "package namespace return var void while` (and `in`, `true`, `false`, `null`).\n"
        "They may be used as field names after `.` but not as variable names.",
    ),
    "E0007": (
        "expression nested too deeply",
        "The expression exceeds a nesting limit. CEL guarantees at least 32 `&&`/`||`\n"
        "terms, 32 call arguments, 24 chained ternaries and 12 levels of nested calls,\n"
        "selections and indexing; this compiler accepts more but bounds the depth so\n"
        "that compilation never exhausts the stack. Split the expression with helper\n"
        "state or simplify it.",
    ),
    "E0008": (
        "invalid macro call",
        "A macro (`has`, `all`, `exists`, `exists_one`, `map`, `filter`, `transformList`,\n"
        "`transformMap`...) was called with the wrong shape: the iteration variables must\n"
        "be simple identifiers and `has()` takes one field selection such as `has(m.f)`.",
    ),
    "E0101": (
        "undeclared reference",
        "An identifier does not name a declared variable, state field, parameter or\n"
        "comprehension variable. Check the spelling or declare it.",
    ),
    "E0102": (
        "no matching overload",
        "No overload of the function or operator accepts the argument types. CEL does not\n"
        "convert implicitly: write `double(x) + 1.5` or `x + 1` rather than mixing int,\n"
        "uint and double.",
    ),
    "E0103": (
        "type mismatch",
        "A value of one type was used where another is required, for example a\n"
        "non-bool condition in `?:`, `ensure` or a comprehension predicate, or an\n"
        "assignment of the wrong type to a state field.",
    ),
    "E0104": (
        "unsupported construct",
        "A message literal `Type{...}` names a protobuf message type that is not\n"
        "registered: an expression sees the well-known types plus the descriptors\n"
        "given to it (`MessageTypes`, `cec eval --descriptors`); contracts use their\n"
        "own records and enums and load no protobuf messages. Register the\n"
        "descriptors, or use a map or a declared record.",
    ),
    "E0201": (
        "duplicate declaration",
        "A contract declares two parties, state fields, choices, records or enum\n"
        "values with the same name. Rename one of them.",
    ),
    "E0202": (
        "unknown party",
        "A `controller` or `signatory` names a party the contract does not declare.",
    ),
    "E0203": (
        "obligation without deadline",
        "Every obligation must carry `by <duration>` so that the contract always\n"
        "reaches a terminal state.",
    ),
    "E0204": (
        "unknown type",
        "A type name is neither a built-in type nor a record or enum declared by the\ncontract.",
    ),
    "E0205": (
        "assignment to an unknown state field",
        "A choice assigns a state field that the contract does not declare.",
    ),
    "E0206": (
        "a migration that does not read an older version",
        "`migrate from N (fields) { ... }` turns the saved state of version N into\n"
        "this version's state.  N must be lower than the contract's own `version`,\n"
        "and each older version has at most one migration.\n\n"
        "    contract Escrow version 3 {\n"
        "      state paid_cents: int = 0;\n"
        "      migrate from 2 (phase: string, paid: int) {\n"
        "        paid_cents = old.paid * 100;\n"
        "      }\n"
        "    }\n\n"
        "Inside the block `old` is the version-N state, typed by the declared\n"
        "fields; this version's fields start at their initial values and the\n"
        "block assigns the ones that carry data over.  `now` is the time the\n"
        "state was saved, so a migration is deterministic.",
    ),
    "E0207": (
        "state of a version this contract cannot load",
        "A saved state (`cec run --state`, `cec migrate`) records the contract's\n"
        "name, version and bytecode hash.  A state of the same bytecode loads as\n"
        "it is.  A state of an older version loads only through a `migrate from\n"
        "N` block for exactly that version; a state of a newer version, of the\n"
        "same version with other bytecode, or of another contract is refused, and\n"
        "nothing is changed.  Fix: add `migrate from N (...) { ... }` to the new\n"
        "version, or run the state with the bytecode that wrote it.",
    ),
    "E0208": (
        "saved state does not match the migration",
        "The old state's fields must be exactly the fields the `migrate from N`\n"
        "block declares, each readable as its declared type; and every obligation\n"
        "still pending in the old state must exist (by name) in the new version,\n"
        "so a migration never drops a deadline.  Nothing is changed when this\n"
        "check fails.",
    ),
}
