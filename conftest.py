"""Workspace-wide pytest setup.

Every package's tests get shared_core's fixtures and one hypothesis profile.  The installed workspace
packages are imported before collection because pytest's importlib mode names
a test file by its path from the root (``chaos_engine.tests.test_cli``) and
would otherwise register the *folder* ``chaos_engine/`` as the package
``chaos_engine``, shadowing the installed one.  Packages that are not
installed (a per-member ``uv run --exact`` run) are simply skipped.
"""

import contextlib
import importlib

from hypothesis import HealthCheck, settings

# The machines are small and shared: timing-based health checks and deadlines
# would make property tests flaky without finding bugs.  Example counts stay as
# each test sets them.
settings.register_profile(
    "workspace",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("workspace")

pytest_plugins = ["shared_core.testing"]

for _name in (
    "shared_core",
    "chaos_engine",
    "contract_executable_compiler",
    "cross_domain_auto_learner",
    "dynamic_semantic_lattice_engine",
    "linux_scalable_cloud_kernel",
    "parallel_architecture_framework",
    "symbolic_reduction_modeler",
    "synthetic_pipeline_engine",
    "universal_attestation_authority",
    "cross_domain_autoblocker_ledger",
):
    with contextlib.suppress(Exception):  # a broken package fails its own tests, not everyone's
        importlib.import_module(_name)
