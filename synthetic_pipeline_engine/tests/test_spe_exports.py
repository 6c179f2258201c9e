"""The public API is exactly ``__all__``, and every name in it imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

import synthetic_pipeline_engine


class TestExports:
    def test_all_names_resolve(self) -> None:
        """Every name in __all__ is an attribute of the package."""
        for name in synthetic_pipeline_engine.__all__:
            assert getattr(synthetic_pipeline_engine, name) is not None, name

    def test_all_is_sorted_and_unique(self) -> None:
        """__all__ has no duplicates (a duplicate hides a missing export)."""
        assert len(set(synthetic_pipeline_engine.__all__)) == len(synthetic_pipeline_engine.__all__)

    def test_unknown_attribute_raises(self) -> None:
        """A name outside the API is an AttributeError, not a silent None."""
        with pytest.raises(AttributeError, match="no_such_thing"):
            synthetic_pipeline_engine.no_such_thing  # noqa: B018

    def test_import_is_light(self) -> None:
        """Importing the package does not import NumPy, SciPy, Arrow, DuckDB or torch."""
        code = (
            "import sys, synthetic_pipeline_engine\n"
            "heavy = [m for m in ('numpy', 'scipy', 'pyarrow', 'duckdb', 'polars', 'torch') if m in sys.modules]\n"
            "print(','.join(heavy))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""
