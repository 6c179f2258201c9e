"""The universal_attestation_authority command line answers the flags every system shares."""

from __future__ import annotations

from shared_core.testing import CommonCliTests
from universal_attestation_authority.cli import app


class TestCommonFlags(CommonCliTests):
    app = app
    module = "universal_attestation_authority"
