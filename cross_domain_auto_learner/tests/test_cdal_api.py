"""The public API: __all__ is complete and importable, and importing stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cross_domain_auto_learner

SRC = Path(cross_domain_auto_learner.__file__).parent


class TestExports:
    def test_all_importable(self) -> None:
        """Every name in __all__ resolves."""
        for name in cross_domain_auto_learner.__all__:
            assert getattr(cross_domain_auto_learner, name) is not None

    def test_all_complete(self) -> None:
        """Every public name of every private module is re-exported."""
        import importlib

        missing = []
        for path in sorted(SRC.glob("_*.py")):
            if path.name in ("__init__.py", "__main__.py") or path.stem.endswith("_cli"):
                continue
            module = importlib.import_module(f"cross_domain_auto_learner.{path.stem}")
            missing += [
                n
                for n in getattr(module, "__all__", [])
                if n not in cross_domain_auto_learner.__all__
            ]
        assert missing == []

    def test_import_is_lazy(self) -> None:
        """Importing the package loads neither numpy nor matplotlib nor scikit-learn."""
        code = (
            "import sys, cross_domain_auto_learner;"
            "print(sorted(m for m in ('numpy', 'matplotlib', 'sklearn') if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"
