"""The CLI is installed under every name users are told to type."""

from __future__ import annotations


def test_abl_is_installed_as_a_name_for_the_cli() -> None:
    """The issue spells the command `abl`: it is a console script for the same entry point."""
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("abl") == "cross_domain_autoblocker_ledger.cli:run"
    assert scripts.get("cdabl") == scripts["abl"]
