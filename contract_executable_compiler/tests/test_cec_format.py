"""The strings extension's ``format``: clauses, precision, errors, and properties over inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_executable_compiler import UInt, compile_expression


def fmt(template: str, *args: object) -> object:
    result = compile_expression("t.format(a)").run({"t": template, "a": list(args)})
    if result.error is not None:
        return ("error", result.error.message)
    return result.value


@pytest.mark.parametrize(
    ("template", "args", "expected"),
    [
        ("%s %d %.2f %x %o %b %e", ["a", 7, 3.14159, 255, 8, 5, 1500.0],
         "a 7 3.14 ff 10 101 1.500000e+03"),
        ("%X", [b"\x01\xab"], "01AB"),
        ("%x", [-255], "-ff"),
        ("%.0f", [0.5], "0"),
        ("%f", [UInt(3)], "3.000000"),
        ("%s", [{"b": 1, "a": [True, None]}], "{a: [true, null], b: 1}"),
        ("100%% of %s", ["it"], "100% of it"),
        ("%d", [float("-inf")], "-Infinity"),
    ],
)  # fmt: skip
def test_clauses(template: str, args: list[object], expected: str) -> None:
    """Each clause formats its argument as cel-go does."""
    assert fmt(template, *args) == expected


@pytest.mark.parametrize(
    ("template", "args", "message"),
    [
        ("%q", [1], 'unrecognized formatting clause "q"'),
        ("%s %s", ["only one"], "index 1 out of range"),
        ("%d", [1.5], "decimal clause can only be used on integers, was given double"),
        ("%f", ["x"], "fixed-point clause can only be used on doubles, was given string"),
        ("%", [], "the template ends after '%'"),
        ("%.f", [1.0], "a precision needs digits"),
    ],
)
def test_errors_are_values_naming_the_problem(
    template: str, args: list[object], message: str
) -> None:
    """A bad clause, a missing argument or a wrong type is an error value, not a partial string."""
    result = fmt(template, *args)
    assert isinstance(result, tuple)
    assert message in result[1]


def test_checked_expression_types_as_string() -> None:
    """The checker types ``format`` as string on a string receiver and a list."""
    from contract_executable_compiler import Declarations, T

    compiled = compile_expression('"%d items".format([n])', declarations=Declarations({"n": T.INT}))
    assert compiled.result_type == T.STRING
    assert compiled.evaluate({"n": 3}) == "3 items"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integer_clauses_agree_with_python(n: int) -> None:
    """%d, %x, %X, %o and %b of any int64 match Python's own integer formatting."""
    assert fmt("%d|%x|%X|%o|%b", n, n, n, n, n) == (
        f"{n}|{format(n, 'x')}|{format(n, 'X')}|{format(n, 'o')}|{format(n, 'b')}"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="%"), max_size=40))
def test_text_without_clauses_is_unchanged(text: str) -> None:
    """A template with no clause formats to itself; doubled percent signs become one."""
    assert fmt(text) == text
    assert fmt(text + "%%" + text) == text + "%" + text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.lists(st.integers(-5, 5) | st.text(max_size=5), max_size=4))
def test_arbitrary_templates_give_a_string_or_an_error_value(
    template: str, args: list[object]
) -> None:
    """Any template and arguments give a string or a CEL error value, never a crash."""
    result = fmt(template, *args)
    assert isinstance(result, str) or (isinstance(result, tuple) and result[0] == "error")
