"""The synthetic_pipeline_engine command line answers the flags every system shares."""

from __future__ import annotations

from shared_core.testing import CommonCliTests
from synthetic_pipeline_engine.cli import app


class TestCommonFlags(CommonCliTests):
    app = app
    module = "synthetic_pipeline_engine"
