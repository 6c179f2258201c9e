"""The parallel_architecture_framework command line answers the flags every system shares."""

from __future__ import annotations

from parallel_architecture_framework.cli import app
from shared_core.testing import CommonCliTests


class TestCommonFlags(CommonCliTests):
    app = app
    module = "parallel_architecture_framework"
