"""CEL semantics through the whole pipeline: values, errors as values, gas, bytecode."""

from __future__ import annotations

import contextlib
import math

import pytest

from contract_executable_compiler import (
    ContractBytecodeError,
    ContractCompileError,
    ContractEvalError,
    ContractGasError,
    Duration,
    Timestamp,
    UInt,
    compile_expression,
    evaluate,
    load_expression,
)


class TestArithmetic:
    def test_int_overflow_is_an_error(self) -> None:
        """int64 overflow is a CEL error, not a wrap-around or a big int."""
        with pytest.raises(ContractEvalError, match="overflow"):
            evaluate("9223372036854775807 + 1")

    def test_uint_underflow_is_an_error(self) -> None:
        """uint64 cannot go below zero."""
        with pytest.raises(ContractEvalError, match="overflow"):
            evaluate("0u - 1u")

    def test_division_truncates_toward_zero(self) -> None:
        """-7 / 2 is -3 and -7 % 2 is -1, as in C and Go."""
        assert evaluate("-7 / 2") == -3
        assert evaluate("-7 % 2") == -1

    def test_no_mixed_arithmetic(self) -> None:
        """1 + 1u has no overload."""
        with pytest.raises(ContractEvalError, match="no such overload"):
            evaluate("dyn(1) + 1u")

    def test_heterogeneous_equality(self) -> None:
        """Numbers compare across int, uint and double; other types never equal."""
        assert evaluate("1 == 1u && 1u == 1.0 && 2 > 1.5")
        assert evaluate("dyn(1) == 'a'") is False

    def test_double_division_by_zero_is_infinite(self) -> None:
        """Doubles follow IEEE 754."""
        assert evaluate("1.0 / 0.0") == math.inf

    def test_uint_literal_type(self) -> None:
        """A u suffix gives a uint."""
        value = evaluate("3u")
        assert type(value) is UInt
        assert value == 3


class TestErrorsAsValues:
    def test_or_absorbs_errors_either_side(self) -> None:
        """true || error and error || true are both true."""
        assert evaluate("1 / 0 == 1 || true") is True
        assert evaluate("true || 1 / 0 == 1") is True

    def test_and_absorbs_errors_either_side(self) -> None:
        """false && error and error && false are both false."""
        assert evaluate("1 / 0 == 1 && false") is False
        assert evaluate("false && 1 / 0 == 1") is False

    def test_error_propagates_otherwise(self) -> None:
        """true && error is the error."""
        with pytest.raises(ContractEvalError, match="division by zero"):
            evaluate("true && 1 / 0 == 1")

    def test_exists_absorbs_errors_when_one_element_is_true(self) -> None:
        """exists is true if any element is true, even if others error."""
        assert evaluate("[0, 1, 2].exists(x, 4 / x == 2)") is True

    def test_all_false_beats_error(self) -> None:
        """all is false if any element is false, even if others error."""
        assert evaluate("[0, 1].all(x, 4 / x == 5)") is False


class TestStringsAndTime:
    def test_string_functions(self) -> None:
        """size counts code points; contains, startsWith, endsWith, matches."""
        assert evaluate("size('πέντε')") == 5
        assert evaluate(
            "'hello'.contains('ell') && 'hello'.startsWith('he') && 'hello'.endsWith('lo')"
        )
        assert evaluate("'abc123'.matches('^[a-z]+[0-9]+$')")

    def test_timestamp_arithmetic(self) -> None:
        """timestamp - timestamp is a duration; + duration is a timestamp."""
        value = evaluate("timestamp('2024-01-02T00:00:00Z') - timestamp('2024-01-01T00:00:00Z')")
        assert value == Duration(86_400 * 10**9)
        ts = evaluate("timestamp('2024-02-28T23:00:00Z') + duration('2h')")
        assert ts == Timestamp(1_709_168_400 * 10**9)

    def test_time_zone_accessors(self) -> None:
        """Calendar fields in a named zone."""
        assert evaluate("timestamp('2009-02-13T23:31:30Z').getHours('Asia/Kathmandu')") == 5


class TestBindingsAndMacros:
    def test_bindings(self) -> None:
        """Variables come from the bindings."""
        c = compile_expression("user.age >= 18 && 'admin' in user.roles")
        assert c.evaluate({"user": {"age": 20, "roles": ["admin"]}}) is True
        assert c.evaluate({"user": {"age": 17, "roles": ["admin"]}}) is False

    def test_macros(self) -> None:
        """map, filter, exists_one and the two-variable forms."""
        assert evaluate("[1, 2, 3, 4].filter(x, x % 2 == 0).map(x, x * 10)") == [20, 40]
        assert evaluate("[1, 2, 3].exists_one(x, x > 2)") is True
        assert evaluate("{'a': 1, 'b': 2}.transformMap(k, v, v * 2)") == {"a": 2, "b": 4}

    def test_has_on_maps(self) -> None:
        """has() tests presence of a map key."""
        assert evaluate("has(m.a) && !has(m.b)", {"m": {"a": 1}}) is True


class TestGasAndBytecode:
    def test_gas_is_bounded_statically(self) -> None:
        """The gas a run uses never exceeds the static bound."""
        c = compile_expression("xs.map(x, x * 2).exists(y, y > 5)", max_iterations=100)
        result = c.run({"xs": list(range(100))})
        assert result.error is None
        assert 0 < result.gas_used <= c.gas_bound

    def test_out_of_gas_stops(self) -> None:
        """A run over its gas limit raises ContractGasError."""
        c = compile_expression("xs.map(x, x * 2)")
        with pytest.raises(ContractGasError):
            c.evaluate({"xs": list(range(50))}, gas_limit=20)

    def test_comprehension_length_is_capped(self) -> None:
        """A collection longer than max_iterations is an error, which keeps the gas bound sound."""
        c = compile_expression("xs.all(x, x > 0)", max_iterations=10)
        with pytest.raises(ContractEvalError, match="exceeds the limit"):
            c.evaluate({"xs": list(range(1, 20))})

    def test_bytecode_round_trip(self) -> None:
        """to_bytes/load_expression keep behaviour and bytes."""
        c = compile_expression("[1, 2, 3].map(x, x + y)")
        data = c.to_bytes()
        loaded = load_expression(data)
        assert loaded.evaluate({"y": 1}) == [2, 3, 4]
        assert loaded.to_bytes() == data

    def test_corrupted_bytecode_is_refused(self) -> None:
        """A flipped byte fails the content hash check."""
        data = bytearray(compile_expression("1 + 2").to_bytes())
        data[-1] ^= 0xFF
        with pytest.raises(ContractBytecodeError, match="hash"):
            load_expression(bytes(data))

    def test_foreign_file_is_refused(self) -> None:
        """A file that is not cec bytecode is refused by its magic number."""
        with pytest.raises(ContractBytecodeError, match="magic"):
            load_expression(b"\x7fELF" + bytes(60))

    def test_constant_folding(self) -> None:
        """Constant subexpressions fold into one constant."""
        c = compile_expression("1 + 2 * 3 == 7 && true")
        assert len(c.program.code) == 2  # CONST true, RETURN


class TestDiagnostics:
    def test_syntax_errors_are_all_reported(self) -> None:
        """Several independent syntax errors come back at once."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression("f(1 +, ) + [1, ,2]")
        assert len(info.value.diagnostics) >= 2
        assert all(d.code == "E0005" for d in info.value.diagnostics)

    def test_reserved_word(self) -> None:
        """A reserved word as an identifier is E0006."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression("while + 1")
        assert info.value.diagnostics[0].code == "E0006"

    @pytest.mark.parametrize(
        "text",
        [
            "(" * 200 + "1" + ")" * 200,
            "[" * 300 + "]" * 300,
            "-" * 5000 + "1",
            "1" + " + 1" * 3000,
            "a" + ".b" * 3000,
            "!" * 4000 + "true",
        ],
    )
    def test_deep_nesting_is_a_diagnostic_not_a_crash(self, text: str) -> None:
        """Anything nested past the limits gets E0007, never a RecursionError."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression(text)
        assert info.value.diagnostics[0].code == "E0007"

    def test_spec_minimum_nesting_is_accepted(self) -> None:
        """The spec's minimums: 32 && terms, 32 args, 24 ternaries, 12 nested calls."""
        assert evaluate(" && ".join(["true"] * 32)) is True
        assert evaluate("size([" + ", ".join(["1"] * 32) + "])") == 32
        assert evaluate("false ? 0 : " * 24 + "1") == 1
        assert evaluate("int(" * 12 + "1" + ")" * 12) == 1


class TestEveryFunctionIsTotal:
    def test_any_arity_and_argument_types(self) -> None:
        """Every library function, called with 0-3 arguments of any type, yields a value or a CEL error."""
        from contract_executable_compiler._stdlib import GLOBAL_FUNCTIONS, MEMBER_FUNCTIONS

        samples = ["1", "'a'", "2.5", "[1]", "{'k': 1}", "null", "b'x'", "3u", "true"]
        for name in sorted(GLOBAL_FUNCTIONS):
            if name.startswith("@"):
                continue
            for n in range(4):
                args = ", ".join(samples[(i * 3 + n) % len(samples)] for i in range(n))
                with contextlib.suppress(ContractCompileError):
                    compile_expression(f"{name}({args})").run({})
        for name in sorted(MEMBER_FUNCTIONS):
            for target in samples[:5]:
                for n in range(4):
                    args = ", ".join(samples[(i + n) % len(samples)] for i in range(n))
                    compile_expression(f"{target}.{name}({args})").run({})


class TestStringExtensions:
    def test_string_library(self) -> None:
        """cel-go's string extensions, indices in code points."""
        assert evaluate("'ta©o©αT'.indexOf('©', 3)") == 4
        assert evaluate("'hello world'.split(' ')") == ["hello", "world"]
        assert evaluate("['a', 'b'].join('-')") == "a-b"
        assert evaluate("'  x '.trim().upperAscii()") == "X"
        assert evaluate("'tacocat'.substring(4)") == "cat"
        assert evaluate("strings.quote('a\"b')") == '"a\\"b"'
        with pytest.raises(ContractEvalError, match="index out of range"):
            evaluate("'abc'.charAt(9)")
