"""Make the scenario's modules importable as the package ``scenario`` (root pytest uses importlib mode)."""

import sys
from pathlib import Path

_SCRIPTS = str(Path(__file__).resolve().parents[2])
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
