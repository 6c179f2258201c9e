"""A compiler for executable contracts: a typed contract language with CEL expressions, compiled to a gas-metered deterministic VM.

Public API:

* :func:`compile_expression` / :func:`evaluate` / :func:`load_expression` - CEL
  expressions compiled to bytecode and run in the gas-metered VM.
* :func:`parse_expression`, :class:`Checker`, :class:`Declarations` - the
  front end on its own (diagnostics, type checking).
* :func:`compile_contract` / :func:`check_contract` / :func:`load_contract` and
  :func:`run_trace` - contracts: check, compile to bytecode, run over event traces.
* :func:`format_contract` / :func:`format_expr` - the canonical formatter.
* :class:`MessageTypes` - protobuf message types for CEL (well-known types
  plus a ``FileDescriptorSet``): construction, field selection, ``has()``.
* :func:`run_conformance_file` - the cel-spec conformance runner.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("contract_executable_compiler")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from contract_executable_compiler._attestation import sign_bytecode, verify_bytecode
from contract_executable_compiler._bytecode import FORMAT_VERSION, Program
from contract_executable_compiler._checker import CelTypeT, Checker, Declarations, FunctionDecl, T
from contract_executable_compiler._conformance import (
    CORE_FILES,
    MESSAGE_FILES,
    FileReport,
    render_table,
)
from contract_executable_compiler._conformance import run_file as run_conformance_file
from contract_executable_compiler._contract_compiler import (
    CompiledContract,
    check_contract,
    compile_contract,
    load_contract,
)
from contract_executable_compiler._contract_parser import parse_contract
from contract_executable_compiler._contract_runtime import ContractRun, RunFailure, run_trace
from contract_executable_compiler._diagnostics import (
    EXPLANATIONS,
    Diagnostic,
    Source,
    render_diagnostics,
)
from contract_executable_compiler._expression import (
    CompiledExpression,
    compile_expression,
    evaluate,
    load_expression,
)
from contract_executable_compiler._format import format_contract, format_expr
from contract_executable_compiler._messages import MessageTypes
from contract_executable_compiler._parser import parse_expression
from contract_executable_compiler._values import CelType, Duration, Timestamp, UInt
from contract_executable_compiler._vm import RunResult
from contract_executable_compiler.config import ContractCompilerSettings
from contract_executable_compiler.errors import (
    ContractBytecodeError,
    ContractCompileError,
    ContractError,
    ContractEvalError,
    ContractGasError,
    ContractInputError,
    ContractRunError,
)

__all__ = [
    "CORE_FILES",
    "EXPLANATIONS",
    "FORMAT_VERSION",
    "MESSAGE_FILES",
    "CelType",
    "CelTypeT",
    "Checker",
    "CompiledContract",
    "CompiledExpression",
    "ContractBytecodeError",
    "ContractCompileError",
    "ContractCompilerSettings",
    "ContractError",
    "ContractEvalError",
    "ContractGasError",
    "ContractInputError",
    "ContractRun",
    "ContractRunError",
    "Declarations",
    "Diagnostic",
    "Duration",
    "FileReport",
    "FunctionDecl",
    "MessageTypes",
    "Program",
    "RunFailure",
    "RunResult",
    "Source",
    "T",
    "Timestamp",
    "UInt",
    "__version__",
    "check_contract",
    "compile_contract",
    "compile_expression",
    "evaluate",
    "format_contract",
    "format_expr",
    "load_contract",
    "load_expression",
    "parse_contract",
    "parse_expression",
    "render_diagnostics",
    "render_table",
    "run_conformance_file",
    "run_trace",
    "sign_bytecode",
    "verify_bytecode",
]
