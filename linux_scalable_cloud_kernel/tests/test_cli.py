"""The linux_scalable_cloud_kernel command line answers the flags every system shares."""

from __future__ import annotations

from linux_scalable_cloud_kernel.cli import app
from shared_core.testing import CommonCliTests


class TestCommonFlags(CommonCliTests):
    app = app
    module = "linux_scalable_cloud_kernel"
