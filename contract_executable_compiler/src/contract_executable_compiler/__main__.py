"""``python -m contract_executable_compiler``."""

from contract_executable_compiler.cli import run

if __name__ == "__main__":
    run()
