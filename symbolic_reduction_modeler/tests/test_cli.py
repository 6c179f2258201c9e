"""The symbolic_reduction_modeler command line answers the flags every system shares."""

from __future__ import annotations

from shared_core.testing import CommonCliTests
from symbolic_reduction_modeler.cli import app


class TestCommonFlags(CommonCliTests):
    app = app
    module = "symbolic_reduction_modeler"
