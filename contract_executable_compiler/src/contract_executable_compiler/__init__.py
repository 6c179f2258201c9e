"""A compiler for executable contracts: a typed contract language with CEL expressions, compiled to a gas-metered deterministic VM."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("contract_executable_compiler")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from contract_executable_compiler.config import ContractCompilerSettings
from contract_executable_compiler.errors import ContractError, ContractInputError

__all__ = ["ContractCompilerSettings", "ContractError", "ContractInputError", "__version__"]
