"""The public API: ``__all__`` is complete and importable."""

from __future__ import annotations

import inspect
from pathlib import Path

import universal_attestation_authority as uaa


class TestExports:
    def test_all_names_import(self) -> None:
        """Every name in __all__ is an attribute of the package."""
        for name in uaa.__all__:
            assert hasattr(uaa, name), name

    def test_all_is_complete(self) -> None:
        """Every public object re-exported from a private module is listed in __all__."""
        public = {
            name
            for name, value in vars(uaa).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and getattr(value, "__module__", "").startswith("universal_attestation_authority")
        }
        assert public <= set(uaa.__all__)

    def test_examples_run(self, tmp_path: Path) -> None:
        """Every example script runs to completion."""
        import runpy

        examples = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
        assert examples
        for example in examples:
            runpy.run_path(
                str(example), init_globals={"WORKDIR": tmp_path / example.stem}, run_name="__main__"
            )
