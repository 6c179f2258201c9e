"""The public CEL entry point: compile an expression once, evaluate it many times.

``compile_expression`` runs the whole pipeline - lexer, parser (with macro
expansion), optional type checking against declarations, constant folding,
code generation - and returns a :class:`CompiledExpression` whose bytecode
can be serialised (:meth:`CompiledExpression.to_bytes`), hashed and loaded
back (:func:`load_expression`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contract_executable_compiler._bytecode import Program, pack, unpack
from contract_executable_compiler._checker import CelTypeT, Checker, Declarations
from contract_executable_compiler._codegen import DEFAULT_MAX_ITERATIONS, compile_program
from contract_executable_compiler._diagnostics import Source, render_diagnostics
from contract_executable_compiler._messages import MessageTypes, default_types
from contract_executable_compiler._parser import parse_expression
from contract_executable_compiler._vm import GasExhausted, LoadedProgram, RunResult
from contract_executable_compiler.errors import (
    ContractBytecodeError,
    ContractCompileError,
    ContractEvalError,
    ContractGasError,
)

__all__ = ["CompiledExpression", "compile_expression", "evaluate", "load_expression"]

_KIND_EXPRESSION = 0


class CompiledExpression:
    """A compiled CEL expression: bytecode, its static gas bound and (if checked) its type."""

    def __init__(
        self,
        program: Program,
        *,
        result_type: CelTypeT | None = None,
        extensions: Mapping[str, Callable[..., Any]] | None = None,
        types: MessageTypes | None = None,
    ) -> None:
        self.program = program
        self.result_type = result_type
        self.types = types
        self._loaded = LoadedProgram(program, extensions, types)

    @property
    def source(self) -> str:
        """The expression's source text."""
        return self.program.source

    @property
    def gas_bound(self) -> int:
        """Static upper bound of the gas any evaluation can use."""
        return self.program.gas_bound

    def run(
        self, bindings: Mapping[str, Any] | None = None, *, gas_limit: int | None = None
    ) -> RunResult:
        """Evaluate; the result holds the value or the CEL error, and the gas used.

        Raises:
            ContractGasError: the evaluation needed more than ``gas_limit``.
        """
        try:
            return self._loaded.run(bindings or {}, gas_limit=gas_limit)
        except GasExhausted as exc:
            raise ContractGasError(
                f"evaluation ran out of gas (limit {exc.used})",
                hint=f"raise the limit; the static bound of this expression is {self.gas_bound}",
            ) from None

    def evaluate(
        self, bindings: Mapping[str, Any] | None = None, *, gas_limit: int | None = None
    ) -> Any:
        """The value of the expression; a CEL error raises :class:`ContractEvalError`."""
        try:
            value, error, _ = self._loaded.execute(
                bindings or {}, self.program.gas_bound if gas_limit is None else gas_limit
            )
        except GasExhausted as exc:
            raise ContractGasError(
                f"evaluation ran out of gas (limit {exc.used})",
                hint=f"raise the limit; the static bound of this expression is {self.gas_bound}",
            ) from None
        if error is not None:
            raise ContractEvalError(
                f"expression evaluated to an error: {error.message}",
                hint="check the bindings' types and values",
                expression=self.source,
            )
        return value

    def to_bytes(self) -> bytes:
        """The versioned, hashed binary form (byte-identical for identical input)."""
        return pack(self.program.to_value(), _KIND_EXPRESSION)


def load_expression(data: bytes, *, types: MessageTypes | None = None) -> CompiledExpression:
    """Load bytecode written by :meth:`CompiledExpression.to_bytes`; checks magic and hash.

    ``types`` must hold the protobuf message types the expression constructs
    (the well-known types are always there).
    """
    kind, value, _digest = unpack(data)
    if kind != _KIND_EXPRESSION:
        raise ContractBytecodeError(
            "this bytecode file holds a contract, not an expression",
            hint="run it with `cec run`",
        )
    return CompiledExpression(Program.from_value(value), types=types)


def compile_expression(
    text: str,
    *,
    declarations: Declarations | None = None,
    container: str = "",
    macros: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    optimize: bool = True,
    name: str = "<expr>",
    types: MessageTypes | None = None,
) -> CompiledExpression:
    """Compile CEL ``text``; type-check it when ``declarations`` are given.

    ``types`` is the protobuf registry for message construction and field
    access (``None``: the well-known types only).

    Raises:
        ContractCompileError: with every diagnostic found, when the text does not
            parse or (with declarations) does not type-check.
    """
    source = Source(text, name)
    tree, diags = parse_expression(text, macros=macros)
    result_type: CelTypeT | None = None
    if not diags and declarations is not None:
        checker = Checker(declarations, container=container, types=types or default_types())
        result_type = checker.check(tree)
        diags = checker.diags
    if diags:
        first = diags[0]
        line, col = source.line_col(first.start)
        raise ContractCompileError(
            f"{name}:{line}:{col}: {first.code} {first.message}"
            + (f" (and {len(diags) - 1} more)" if len(diags) > 1 else ""),
            diagnostics=diags,
            source=source,
            hint=first.help or "fix the expression at the position shown",
            rendered=render_diagnostics(diags, source),
        )
    program = compile_program(
        tree,
        source=text,
        container=container,
        max_iterations=max_iterations,
        optimize=optimize,
        types=types or default_types(),
    )
    return CompiledExpression(program, result_type=result_type, types=types)


def evaluate(text: str, bindings: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Compile and evaluate ``text`` in one call (convenient, not for hot paths)."""
    return compile_expression(text, **options).evaluate(bindings)
