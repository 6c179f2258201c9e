"""The cross_domain_autoblocker_ledger command line answers the flags every system shares."""

from __future__ import annotations

from cross_domain_autoblocker_ledger.cli import app
from shared_core.testing import CommonCliTests


class TestCommonFlags(CommonCliTests):
    app = app
    module = "cross_domain_autoblocker_ledger"
