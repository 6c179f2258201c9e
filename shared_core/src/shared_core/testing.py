"""Fixtures and helpers that every package's tests reuse.

Load the fixtures with ``pytest_plugins = ["shared_core.testing"]`` (the
workspace's root ``conftest.py`` does), or import the helpers directly.
Tests never import each other; what they share lives here.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CliResult",
    "CommonCliTests",
    "NatsServer",
    "corpora_dir",
    "corpus_path",
    "free_port",
    "nats_server_binary",
    "run_cli",
]


@dataclass(frozen=True)
class CliResult:
    """What a CLI run produced."""

    code: int
    out: str
    err: str


class _TTYStringIO(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def run_cli(main: Callable[..., int], argv: Sequence[str], *, tty: bool = False) -> CliResult:
    """Run a system's ``main(argv)`` in-process and capture both streams.

    ``main`` is a system's ``cli.main``; systems built on
    :class:`shared_core.cli.CliApp` accept ``stdout``/``stderr`` keywords, and
    for others ``sys.stdout``/``sys.stderr`` are swapped for the call.
    """
    out = _TTYStringIO(tty)
    err = _TTYStringIO(tty)
    import contextlib

    app = getattr(main, "__self__", None)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if app is not None and hasattr(app, "main"):
            code = app.main(list(argv), stdout=out, stderr=err)
        else:
            code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())


def corpora_dir() -> Path | None:
    """``../shared/corpora`` relative to the workspace root, if it is there.

    ``SHARED_CORPORA`` overrides the location.
    """
    env = os.environ.get("SHARED_CORPORA")
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    here = Path(__file__).resolve()
    for parent in (Path.cwd(), *here.parents):
        candidate = parent.parent / "shared" / "corpora"
        if candidate.is_dir():
            return candidate
        candidate = parent / "shared" / "corpora"
        if candidate.is_dir() and (parent / "shared" / "seed").is_dir():
            return candidate
    return None


def corpus_path(*parts: str) -> Path:
    """A path inside the corpora; skips the calling test with a clear reason when absent."""
    base = corpora_dir()
    if base is None:
        pytest.skip("../shared/corpora is not present next to this checkout")
    path = base.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus {path} is not present")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on loopback a moment ago."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def nats_server_binary() -> str | None:
    """The ``nats-server`` executable (Debian package ``nats-server``), if installed."""
    found = shutil.which("nats-server")
    if found:
        return found
    return "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None


class NatsServer:
    """One ``nats-server -js`` on loopback, with its JetStream store in ``store_dir``.

    :meth:`restart` stops the process and starts a new one on the same port
    and store, as a server restart in production does.
    """

    def __init__(
        self, store_dir: Path, port: int | None = None, *, log_path: Path | None = None
    ) -> None:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed (apt-get install nats-server)")
        self.binary = binary
        self.store_dir = store_dir
        self.port = port if port is not None else free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts TCP connections.

        The server's own output goes to ``log_path`` (appended, so restarts keep the story)
        or nowhere; a server that exits or never listens is an error naming where to look.
        """
        argv = [self.binary, "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1"]
        argv += ["-p", str(self.port)]
        if self.log_path is None:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        where = f"; see {self.log_path}" if self.log_path is not None else ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}{where}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(
            f"nats-server did not listen on port {self.port} within {timeout} s{where}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A running ``nats-server -js`` on a free loopback port (skips when not installed)."""
    if nats_server_binary() is None:
        pytest.skip("Debian package nats-server is not installed (apt-get install nats-server)")
    server = NatsServer(tmp_path / "nats-js")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli_runner() -> Callable[..., CliResult]:
    """``cli_runner(main, argv)``: :func:`run_cli` as a fixture."""
    return run_cli


@pytest.fixture
def loopback_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Removes every ``*_LOG_*``/``*_OTLP_*`` variable so settings tests see defaults."""
    for name in list(os.environ):
        if "_LOG_" in name or "_OTLP_" in name or name.endswith("_METRICS_PORT"):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


class CommonCliTests:
    """The checks every system's CLI must pass; subclass it as ``TestCommonFlags``.

    Set ``app`` (the system's :class:`~shared_core.cli.CliApp`) and ``module``
    (the importable package name, for ``python -m``)::

        class TestCommonFlags(CommonCliTests):
            app = my_system.cli.app
            module = "my_system"
    """

    app: Any
    module: str

    def _run(self, argv: Sequence[str]) -> CliResult:
        return run_cli(self.app.main, argv)

    def test_version(self) -> None:
        """--version prints the program name and the distribution's version, exit 0."""
        result = self._run(["--version"])
        assert result.code == 0
        assert result.out.strip() == f"{self.app.prog} {self.app.version}"

    def test_help_lists_shared_flags(self) -> None:
        """--help documents the shared flags."""
        result = self._run(["--help"])
        assert result.code == 0
        for flag in ("--config", "--log-format", "--log-level", "--json"):
            assert flag in result.out

    def test_unknown_flag_is_one_line_exit_2(self) -> None:
        """A usage error is one line on stderr and exit code 2."""
        result = self._run(["--no-such-flag"])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "error:" in result.err

    def test_config_precedence(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """CLI flags beat the environment, which beats the TOML file."""
        system = self.app.settings_cls.system
        config = tmp_path / "config.toml"
        config.write_text(f'[{system}]\nlog_level = "error"\nlog_format = "json"\n')
        monkeypatch.setenv(f"{system.upper()}_LOG_LEVEL", "info")
        result = self._run(["--config", str(config), "--log-level", "debug", "--json", "config"])
        assert result.code == 0, result.err
        import json

        shown = json.loads(result.out)
        assert shown["values"]["log_level"] == "debug"
        assert shown["values"]["log_format"] == "json"
        assert shown["sources"]["log_format"] == f"config file {config}"

    def test_bad_config_value_names_key_and_source(self, tmp_path: Path) -> None:
        """An invalid value in the file is a config error naming the key and the file."""
        config = tmp_path / "config.toml"
        config.write_text('log_format = "xml"\n')
        result = self._run(["--config", str(config), "config"])
        assert result.code == 2
        assert "log_format" in result.err
        assert str(config) in result.err

    def test_python_dash_m(self) -> None:
        """``python -m <package>`` is the same CLI."""
        import subprocess
        import sys

        proc = subprocess.run(
            [sys.executable, "-m", self.module, "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"{self.app.prog} {self.app.version}"
