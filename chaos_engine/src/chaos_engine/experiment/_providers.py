"""The three activity providers of Chaos Toolkit: ``python``, ``process`` and ``http``.

Each returns the activity's output or raises :class:`ChaosActivityError`,
which the runner records as a ``failed`` run.  Outputs have Chaos Toolkit's
shapes: a process gives ``{status, stdout, stderr}``, an HTTP call
``{status, headers, body}`` (the body parsed when the response is
``application/json``).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import os
import shutil
import socket
import ssl
import subprocess
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from chaos_engine.errors import ChaosActivityError
from chaos_engine.experiment._substitute import substitute

__all__ = ["run_provider"]


def _python(
    provider: dict[str, Any], configuration: dict[str, Any], secrets: dict[str, Any]
) -> Any:
    try:
        module = importlib.import_module(provider["module"])
        func = getattr(module, provider["func"])
    except (ImportError, AttributeError) as exc:
        raise ChaosActivityError(
            traceback.format_exception_only(type(exc), exc)[0].strip()
        ) from exc
    arguments = dict(provider.get("arguments") or {})
    if configuration or secrets:
        arguments = substitute(arguments, configuration, secrets)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "secrets" in provider and "secrets" in params:
        merged: dict[str, Any] = {}
        for scope in provider["secrets"]:
            merged.update(dict(secrets.get(scope, {}) or {}))
        arguments["secrets"] = merged
    if "configuration" in params:
        arguments["configuration"] = dict(configuration)
    try:
        return func(**arguments)
    except Exception as exc:
        raise ChaosActivityError(
            traceback.format_exception_only(type(exc), exc)[0].strip()
        ) from exc


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _process(
    provider: dict[str, Any],
    configuration: dict[str, Any],
    secrets: dict[str, Any],
    deadline: float | None,
) -> dict[str, Any]:
    timeout = provider.get("timeout")
    if deadline is not None:
        timeout = deadline if timeout is None else min(float(timeout), deadline)
    arguments: Any = provider.get("arguments", [])
    if arguments and (configuration or secrets):
        arguments = substitute(arguments, configuration, secrets)
    path = shutil.which(os.path.expanduser(str(provider["path"])))
    if path is None:
        raise ChaosActivityError(f"process {provider['path']!r} cannot be found")
    shell = isinstance(arguments, str)
    command: Any
    if shell:
        command = f"{path} {arguments}"
    else:
        if isinstance(arguments, dict):
            arguments = itertools.chain.from_iterable(arguments.items())
        command = [path, *(str(a) for a in (arguments or []) if a not in (None, ""))]
    try:
        proc = subprocess.run(
            command,
            timeout=timeout,
            capture_output=True,
            env=os.environ,
            shell=shell,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChaosActivityError("process activity took too long to complete") from exc
    except OSError as exc:
        raise ChaosActivityError(f"process {path} could not start: {exc.strerror}") from exc
    return {
        "status": proc.returncode,
        "stdout": _decode(proc.stdout),
        "stderr": _decode(proc.stderr),
    }


class _NoRedirectErrors(urllib.request.HTTPErrorProcessor):
    """Hand 4xx/5xx responses back as responses: a status is an output, not a failure."""

    def http_response(self, request: Any, response: Any) -> Any:
        return response

    https_response = http_response


def _http(
    provider: dict[str, Any],
    configuration: dict[str, Any],
    secrets: dict[str, Any],
    deadline: float | None,
) -> dict[str, Any]:
    url = str(substitute(provider["url"], configuration, secrets))
    method = str(provider.get("method", "GET")).upper()
    headers = dict(substitute(provider.get("headers"), configuration, secrets) or {})
    timeout: Any = substitute(provider.get("timeout"), configuration, secrets)
    if isinstance(timeout, list):  # (connect, read): the longer bounds the whole call here
        timeout = max(float(t) for t in timeout)
    if deadline is not None:
        timeout = deadline if timeout is None else min(float(timeout), deadline)
    arguments = provider.get("arguments")
    if arguments and (configuration or secrets):
        arguments = substitute(arguments, configuration, secrets)
    data: bytes | None = None
    if method == "GET":
        if arguments:
            sep = "&" if urllib.parse.urlsplit(url).query else "?"
            url = url + sep + urllib.parse.urlencode(arguments, doseq=True)
    elif arguments is not None:
        if headers.get("Content-Type") == "application/json":
            data = json.dumps(arguments).encode("utf-8")
        elif isinstance(arguments, dict):
            data = urllib.parse.urlencode(arguments, doseq=True).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            data = str(arguments).encode("utf-8")
    handlers: list[Any] = [_NoRedirectErrors()]
    if not provider.get("verify_tls", True):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=ctx))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
            resp_headers = dict(response.headers.items())
    except TimeoutError as exc:
        raise ChaosActivityError("activity took too long to complete") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise ChaosActivityError("activity took too long to complete") from exc
        raise ChaosActivityError(f"failed to connect to {url}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise ChaosActivityError(f"failed to connect to {url}: {exc}") from exc
    body: Any = _decode(raw)
    if resp_headers.get("Content-Type") == "application/json":
        try:
            body = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ChaosActivityError(f"{url} answered invalid JSON: {exc.msg}") from exc
    return {"status": status, "headers": resp_headers, "body": body}


def run_provider(
    activity: dict[str, Any],
    configuration: dict[str, Any],
    secrets: dict[str, Any],
    deadline: float | None = None,
) -> Any:
    """Run ``activity``'s provider and return its output; ``deadline`` bounds process/http calls."""
    provider = activity["provider"]
    kind = provider.get("type")
    if kind == "python":
        return _python(provider, configuration, secrets)
    if kind == "process":
        return _process(provider, configuration, secrets, deadline)
    if kind == "http":
        return _http(provider, configuration, secrets, deadline)
    raise ChaosActivityError(f"unknown provider type {kind!r}")
