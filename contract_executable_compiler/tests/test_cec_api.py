"""The public surface: __all__ is complete and every name imports."""

from __future__ import annotations

import contract_executable_compiler


class TestExports:
    def test_all_names_import(self) -> None:
        """Every name in __all__ exists on the package."""
        for name in contract_executable_compiler.__all__:
            assert hasattr(contract_executable_compiler, name), name

    def test_all_is_complete(self) -> None:
        """Every public attribute defined by the package is listed in __all__."""
        public = {
            n
            for n, v in vars(contract_executable_compiler).items()
            if not n.startswith("_")
            and getattr(v, "__module__", "").startswith("contract_executable_compiler")
        }
        assert public <= set(contract_executable_compiler.__all__)
