"""The contract_executable_compiler command line answers the flags every system shares."""

from __future__ import annotations

from contract_executable_compiler.cli import app
from shared_core.testing import CommonCliTests


class TestCommonFlags(CommonCliTests):
    app = app
    module = "contract_executable_compiler"
