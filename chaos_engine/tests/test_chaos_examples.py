"""The examples run: the proxy demo, and both example experiments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chaos_engine.cli import main
from chaos_engine.host import list_engine_namespaces
from chaos_engine.proxy import ProxyServer
from shared_core.testing import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_proxy_latency_script() -> None:
    """examples/proxy_latency.py measures the latency it asked for."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "proxy_latency.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "median round trip" in result.stdout


def test_proxy_latency_experiment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML experiment adds latency through the proxy's API and its rollback removes it."""
    with ProxyServer(port=0) as server:
        proxy = server.collection.create({"name": "api", "upstream": "127.0.0.1:9"})
        monkeypatch.setenv("PROXY_API", server.url)
        journal = tmp_path / "journal.json"
        result = run_cli(
            main,
            [
                "run",
                "--journal-path",
                str(journal),
                str(EXAMPLES / "experiments" / "proxy_latency.yaml"),
            ],
        )
        assert result.code == 0, result.err
        data = json.loads(journal.read_text())
        assert data["status"] == "completed"
        assert data["run"][0]["output"]["status"] == 200
        assert data["rollbacks"][0]["output"]["status"] == 204
        assert proxy.toxics == {}


def test_partition_experiment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The partition experiment cuts a lab host off, heals it, and leaves no namespace behind."""
    path = EXAMPLES / "experiments" / "partition.json"
    assert run_cli(main, ["validate", str(path)]).code == 0
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft")):
        pytest.skip("running it needs root, ip and nft")
    journal = tmp_path / "journal.json"
    result = run_cli(main, ["run", "--journal-path", str(journal), str(path)])
    assert result.code == 0, result.err
    data = json.loads(journal.read_text())
    assert data["run"][1]["output"] == 0.0
    assert data["steady_states"]["after"]["steady_state_met"] is True
    assert list_engine_namespaces() == []
