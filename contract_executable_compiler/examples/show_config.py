"""Print contract_executable_compiler's effective settings as JSON, the way a wrapper script would read them."""

from contract_executable_compiler.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
