"""A hand-written lexer for CEL and the contract language around it.

The scanner walks the text once, dispatching on the first character of each
token; small compiled patterns pick up identifiers and numbers in one step.
It never raises: problems become :class:`Diagnostic` values and an ``ERROR``
token, so the parser can carry on and report more than one problem.
"""

# ruff: noqa: PLR0917  - hot paths: identity checks and NaN tests are deliberate

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from contract_executable_compiler._diagnostics import Diagnostic
from contract_executable_compiler._values import INT64_MAX, UINT64_MAX, UInt

__all__ = ["RESERVED", "Token", "tokenize"]

# Token kinds are short strings: punctuation is its own text.
IDENT: Final = "ident"
INT: Final = "int"
UINT: Final = "uint"
DOUBLE: Final = "double"
STRING: Final = "string"
BYTES: Final = "bytes"
EOF: Final = "eof"
ERROR: Final = "error"

KEYWORDS: Final = frozenset({"true", "false", "null", "in"})
RESERVED: Final = frozenset(
    {
        "as", "break", "const", "continue", "else", "for", "function", "if", "import",
        "let", "loop", "package", "namespace", "return", "var", "void", "while",
    }
)  # fmt: skip


@dataclass(slots=True)
class Token:
    """One token: ``kind``, the literal ``value`` (for literals and names), offsets."""

    kind: str
    value: Any
    start: int
    end: int


_IDENT_RE: Final = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NUM_RE: Final = re.compile(
    r"0[xX](?P<hex>[0-9a-fA-F]+)(?P<hu>[uU])?"
    r"|(?P<float>(?:[0-9]+\.[0-9]+|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)|[0-9]+\.[0-9]+|\.[0-9]+)"
    r"|(?P<dec>[0-9]+)(?P<du>[uU])?"
)
_WS: Final = frozenset(" \t\n\r\f\v")
_WS_RE: Final = re.compile(r"[ \t\n\r\f\v]+")
_PLAIN: Final = {
    "'": re.compile(r"[^\\'\n]+"),
    '"': re.compile(r'[^\\"\n]+'),
    "'''": re.compile(r"[^\\']+"),
    '"""': re.compile(r'[^\\"]+'),
}
_FAST: Final = re.compile(
    r"(?P<ws>[ \t\n\r\f\v]+)"
    r"|(?P<id>[_a-zA-Z][_a-zA-Z0-9]*)(?![_a-zA-Z0-9'\"])"
    r"|(?P<p>==|!=|<=|>=|&&|\|\||->|\?\.|::|=>|\.(?![.0-9])|[-+*%<>!?:,()\[\]{}=;@|&])"
)  # the common tokens in one step; everything else goes through the dispatch below
_PUNCT3: Final = ("...",)
_PUNCT2: Final = frozenset({"==", "!=", "<=", ">=", "&&", "||", "->", "?.", "::", "=>"})
_PUNCT1: Final = frozenset("+-*/%<>!?:.,()[]{}=;@|&")
_SIMPLE_ESC: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?",
}  # fmt: skip


def tokenize(
    text: str, comments: list[tuple[int, str]] | None = None
) -> tuple[list[Token], list[Diagnostic]]:
    """Split ``text`` into tokens (ending with EOF) and lexical diagnostics.

    When ``comments`` is a list, each ``//`` comment is appended to it as
    ``(offset, text)`` (the formatter keeps them).
    """
    tokens: list[Token] = []
    diags: list[Diagnostic] = []
    append = tokens.append
    n = len(text)
    i = 0
    fast = _FAST.match
    keywords = KEYWORDS
    while i < n:
        m = fast(text, i)
        if m is not None:
            j = m.end()
            group = m.lastgroup
            if group == "id":
                word = m.group()
                append(Token(word if word in keywords else IDENT, word, i, j))
            elif group == "p":
                p = m.group()
                append(Token(p, p, i, j))
            i = j
            continue
        c = text[i]
        if c in _WS:
            m = _WS_RE.match(text, i)
            i = m.end() if m is not None else i + 1
            continue
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            if comments is not None:
                comments.append((i, text[i : (n if j < 0 else j)].rstrip()))
            i = n if j < 0 else j + 1
            continue
        if ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_":
            m = _IDENT_RE.match(text, i)
            assert m is not None  # noqa: S101 - the first character matched
            word = m.group()
            j = m.end()
            if j < n and text[j] in "'\"" and word.lower() in ("r", "b", "br", "rb"):
                i = _string(text, i, j, word.lower(), tokens, diags)
                continue
            append(Token(IDENT if word not in KEYWORDS else word, word, i, j))
            i = j
            continue
        if ("0" <= c <= "9") or (c == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            i = _number(text, i, tokens, diags)
            continue
        if c in "'\"":
            i = _string(text, i, i, "", tokens, diags)
            continue
        if c == "`":
            j = text.find("`", i + 1)
            nl = text.find("\n", i + 1)
            if j < 0 or (0 <= nl < j):
                diags.append(Diagnostic("E0002", "unterminated quoted identifier", i, i + 1))
                append(Token(ERROR, None, i, i + 1))
                i += 1
                continue
            append(Token("qident", text[i + 1 : j], i, j + 1))
            i = j + 1
            continue
        two = text[i : i + 2]
        if text.startswith("...", i):
            append(Token("...", "...", i, i + 3))
            i += 3
            continue
        if two in _PUNCT2:
            append(Token(two, two, i, i + 2))
            i += 2
            continue
        if c in _PUNCT1:
            append(Token(c, c, i, i + 1))
            i += 1
            continue
        diags.append(
            Diagnostic(
                "E0001",
                f"unexpected character {c!r}",
                i,
                i + 1,
                label="not part of any token",
                help="remove it, or put it inside a string literal",
            )
        )
        append(Token(ERROR, None, i, i + 1))
        i += 1
    append(Token(EOF, None, n, n))
    return tokens, diags


def _number(text: str, i: int, tokens: list[Token], diags: list[Diagnostic]) -> int:
    m = _NUM_RE.match(text, i)
    assert m is not None  # noqa: S101 - a digit or '.digit' always matches
    j = m.end()
    if m.group("float") is not None:
        value = float(m.group("float"))
        tokens.append(Token(DOUBLE, value, i, j))
        return j
    digits = m.group("hex") or m.group("dec")
    is_uint = bool(m.group("hu") or m.group("du"))
    number = int(digits, 16 if m.group("hex") else 10)
    limit = UINT64_MAX if is_uint else INT64_MAX + 1  # +1: '-' may follow in the parser
    if number > limit:
        diags.append(
            Diagnostic(
                "E0004",
                f"{'uint' if is_uint else 'int'} literal out of range",
                i,
                j,
                label="does not fit in 64 bits",
                help="CEL integers are 64-bit; use a double literal (add `.0`) for larger magnitudes",
            )
        )
        tokens.append(Token(ERROR, None, i, j))
        return j
    tokens.append(Token(UINT if is_uint else INT, UInt(number) if is_uint else number, i, j))
    return j


def _string(
    text: str, start: int, i: int, prefix: str, tokens: list[Token], diags: list[Diagnostic]
) -> int:
    raw = "r" in prefix
    is_bytes = "b" in prefix
    quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else text[i]
    triple = len(quote) == 3
    j = i + len(quote)
    n = len(text)
    parts: list[str] = []
    out_bytes = bytearray()
    while True:
        if j >= n or (not triple and text[j] == "\n"):
            diags.append(
                Diagnostic(
                    "E0002",
                    "unterminated string literal",
                    start,
                    j,
                    label="string starts here",
                    help=f"close it with {quote}",
                )
            )
            tokens.append(Token(ERROR, None, start, j))
            return j
        if text.startswith(quote, j):
            j += len(quote)
            break
        c = text[j]
        if c == "\\" and raw:
            nxt = text[j : j + 2]
            if len(nxt) == 2 and (nxt[1] == quote[0] or nxt[1] == "\\"):
                _emit(parts, out_bytes, nxt, is_bytes)
                j += 2
                continue
            _emit(parts, out_bytes, c, is_bytes)
            j += 1
            continue
        if c != "\\":
            m = _PLAIN[quote].match(text, j)
            chunk = m.group() if m is not None else c
            _emit(parts, out_bytes, chunk, is_bytes)
            j += len(chunk)
            continue
        esc = text[j + 1 : j + 2]
        if esc in _SIMPLE_ESC:
            _emit(parts, out_bytes, _SIMPLE_ESC[esc], is_bytes)
            j += 2
            continue
        width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(esc)
        if width is not None:
            digits = text[j + 2 : j + 2 + width]
            if len(digits) == width and all(ch in "0123456789abcdefABCDEF" for ch in digits):
                code = int(digits, 16)
                if is_bytes and width == 2:
                    out_bytes.append(code)
                elif is_bytes and width > 2:
                    _bad_escape(diags, j, j + 2 + width, "\\u and \\U are not allowed in bytes")
                elif 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                    _bad_escape(diags, j, j + 2 + width, "not a Unicode scalar value")
                else:
                    parts.append(chr(code))
                j += 2 + width
                continue
        elif esc in "0123" and esc:
            digits = text[j + 1 : j + 4]
            if len(digits) == 3 and all(ch in "01234567" for ch in digits):
                code = int(digits, 8)
                if is_bytes:
                    out_bytes.append(code)
                else:
                    parts.append(chr(code))
                j += 4
                continue
        _bad_escape(diags, j, j + 2, "unknown escape")
        j += 2
    if is_bytes:
        tokens.append(Token(BYTES, bytes(out_bytes), start, j))
    else:
        tokens.append(Token(STRING, "".join(parts), start, j))
    return j


def _emit(parts: list[str], out_bytes: bytearray, s: str, is_bytes: bool) -> None:
    if is_bytes:
        out_bytes.extend(s.encode("utf-8"))
    else:
        parts.append(s)


def _bad_escape(diags: list[Diagnostic], start: int, end: int, why: str) -> None:
    diags.append(
        Diagnostic(
            "E0003",
            f"invalid escape sequence: {why}",
            start,
            end,
            label="here",
            help="see `cec explain E0003` for the escapes CEL accepts",
        )
    )
