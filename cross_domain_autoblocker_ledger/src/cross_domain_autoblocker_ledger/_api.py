"""The HTTP API: CrowdSec's bouncer endpoints, plus events, decisions and proofs.

Bouncer side, as CrowdSec's Local API serves it (stock bouncers work
unchanged), authenticated by ``X-Api-Key`` (keys made by ``bouncers add``,
stored only as SHA-256 hashes):

* ``GET /v1/decisions/stream?startup=true`` → ``{"new": [...], "deleted": [...]}``;
  ``startup=true`` sends every active decision, later pulls only what changed
  since this bouncer's previous pull (tracked per bouncer in the store);
  ``scopes=ip,range``, ``origins=``, ``scenarios_containing=``,
  ``scenarios_not_containing=`` filter as in CrowdSec.
* ``GET /v1/decisions?ip=|range=|scope=&value=`` → the decisions covering it, or ``null``.

Operator side, authenticated by ``Authorization: Bearer <admin token>``
(the token file is written beside the database, mode 0600):

* ``POST /v1/events`` (a JSON list of events) → alerts and decisions;
* ``POST /v1/decisions``, ``DELETE /v1/decisions/{id}``;
* ``GET /v1/check?ip=`` (also ``scope``/``value``);
* ``GET /v1/ledger/checkpoint`` (the signed note with its witness cosignatures, text/plain),
  ``/v1/ledger/entries/{seq}``, ``/v1/ledger/proof/inclusion``,
  ``/v1/ledger/proof/consistency`` (unauthenticated: proofs are public);
* ``GET /metrics`` (Prometheus text).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger._duration import parse_duration
from cross_domain_autoblocker_ledger._event import Event
from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger._pipeline import Autoblocker, IngestReport
from cross_domain_autoblocker_ledger._witnesses import WitnessEndpoint, request_cosignatures
from cross_domain_autoblocker_ledger._writer import LedgerWriter, LocalWriter
from cross_domain_autoblocker_ledger.errors import (
    LedgerDecisionError,
    LedgerInputError,
    LedgerStoreError,
)
from shared_core.errors import CoreError
from shared_core.telemetry import Metrics

__all__ = ["ApiServer", "create_app", "hash_api_key", "new_api_key", "read_admin_token"]


def hash_api_key(key: str) -> str:
    """How keys are stored: hex SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


def read_admin_token(path: Path) -> str:
    """The admin token at ``path``, created (0600) if missing."""
    if path.exists():
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LedgerStoreError(
                f"cannot read admin token {str(path)!r}: {exc.strerror}",
                path=str(path),
                hint="check permissions",
            ) from exc
    token = new_api_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
    except OSError as exc:
        raise LedgerStoreError(
            f"cannot write admin token {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check permissions",
        ) from exc
    return token


class EventIn(BaseModel):
    """An event submitted over HTTP (same fields as :class:`Event`)."""

    time: float
    domain: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=128)
    source: str | None = Field(default=None, max_length=256)
    user: str | None = Field(default=None, max_length=256)
    failure: bool = True
    target: str | None = Field(default=None, max_length=2048)
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict)


class DecisionIn(BaseModel):
    type: str = "ban"
    scope: str = "Ip"
    value: str = Field(min_length=1, max_length=256)
    duration: str | float = "4h"
    reason: str = Field(default="", max_length=1024)
    scenario: str = Field(default="manual", max_length=256)


def _error(exc: CoreError, status: int | None = None) -> JSONResponse:
    """One error body for every endpoint: 400 for bad input, 409 for a refused decision change, else 500."""
    if status is None:
        if exc.exit_code == 2:
            status = 400
        elif isinstance(exc, LedgerDecisionError):
            status = 409
        else:
            status = 500
    return JSONResponse({"message": exc.message, "errors": exc.to_dict()}, status_code=status)


def _filter(decisions: list[Decision], params: dict[str, str]) -> list[Decision]:
    scopes = {s.strip().lower() for s in params.get("scopes", "ip,range").split(",") if s.strip()}
    origins = {o.strip() for o in params.get("origins", "").split(",") if o.strip()}
    containing = [c for c in params.get("scenarios_containing", "").split(",") if c]
    not_containing = [c for c in params.get("scenarios_not_containing", "").split(",") if c]
    out = []
    for d in decisions:
        if scopes and d.scope.lower() not in scopes:
            continue
        if origins and d.origin not in origins:
            continue
        if containing and not any(c in d.scenario for c in containing):
            continue
        if not_containing and any(c in d.scenario for c in not_containing):
            continue
        out.append(d)
    return out


def create_app(
    ledger: Ledger,
    autoblocker: Autoblocker,
    admin_token: str,
    metrics: Metrics | None = None,
    writer: LedgerWriter | None = None,
    *,
    witnesses: Sequence[WitnessEndpoint] = (),
    witness_timeout: float = 10.0,
) -> FastAPI:
    """The FastAPI application serving one node's ledger (writes through ``writer``, default local).

    ``witnesses`` are asked to cosign the latest checkpoint on ``POST /v1/ledger/witness``
    (the serving process holds the ledger's writer lock, so the CLI cannot do it meanwhile).
    """
    write: LedgerWriter = writer if writer is not None else LocalWriter(ledger)
    app = FastAPI(
        title="cross_domain_autoblocker_ledger", version="1", docs_url=None, redoc_url=None
    )
    metrics = metrics if metrics is not None else Metrics("cross_domain_autoblocker_ledger")
    requests = metrics.counter("http_requests_total", "HTTP requests served", ["route", "status"])
    events_total = metrics.counter("events_total", "events submitted over HTTP")
    decisions_total = metrics.counter("decisions_total", "decisions recorded", ["origin"])
    active = metrics.gauge("decisions_active_count", "decisions in force")
    entries = metrics.gauge("ledger_entries_count", "entries in the ledger")
    lock = threading.Lock()

    def bouncer(key: str | None) -> tuple[str, int, float | None] | None:
        if not key:
            return None
        row = ledger.store.bouncer_by_key(hash_api_key(key))
        if row is None:
            return None
        return row[0], row[3], row[4]

    def admin(authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        return hmac.compare_digest(authorization[7:].strip(), admin_token)

    forbidden = JSONResponse({"message": "access forbidden"}, status_code=403)

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        requests.labels(getattr(route, "path", "unknown"), str(response.status_code)).inc()
        return response

    @app.get("/v1/decisions/stream")
    def stream(
        request: Request,
        startup: bool = False,
        x_api_key: str | None = Header(default=None),
    ) -> Response:
        who = bouncer(x_api_key)
        if who is None:
            return forbidden
        name, last_seq, last_pull = who
        now = ledger.clock()
        params = dict(request.query_params)
        with lock:
            if startup or last_pull is None:
                delta_new = ledger.active(now)
                delta_deleted: list[Decision] = []
                seq = ledger.size - 1
            else:
                delta = ledger.changes_since(last_seq, last_pull, now)
                delta_new, delta_deleted, seq = delta.new, delta.deleted, delta.seq
            ledger.store.mark_pull(name, seq, now)
        return JSONResponse(
            {
                "new": [d.to_crowdsec(now) for d in _filter(delta_new, params)],
                "deleted": [d.to_crowdsec(now) for d in _filter(delta_deleted, params)],
            }
        )

    @app.get("/v1/decisions")
    def decisions(
        *,
        ip: str | None = None,
        range: str | None = None,  # CrowdSec's query parameter name
        scope: str | None = None,
        value: str | None = None,
        type: str | None = None,  # CrowdSec's query parameter name
        x_api_key: str | None = Header(default=None),
    ) -> Response:
        if bouncer(x_api_key) is None:
            return forbidden
        now = ledger.clock()
        try:
            if ip is not None:
                found = ledger.check("Ip", ip, now)
            elif range is not None:
                found = ledger.check("Range", range, now)
            elif scope is not None and value is not None:
                found = ledger.check(scope, value, now)
            else:
                found = ledger.active(now)
        except CoreError as exc:
            return _error(exc)
        if type is not None:
            found = [d for d in found if d.type == type]
        return JSONResponse([d.to_crowdsec(now) for d in found] or None)

    @app.get("/v1/check")
    def check(
        *,
        ip: str | None = None,
        scope: str = "Ip",
        value: str | None = None,
        authorization: str | None = Header(default=None),
    ) -> Response:
        if not admin(authorization):
            return forbidden
        target = ip if ip is not None else value
        if target is None:
            return JSONResponse({"message": "give ip= or value="}, status_code=400)
        try:
            found = ledger.check("Ip" if ip is not None else scope, target, ledger.clock())
        except CoreError as exc:
            return _error(exc)
        return JSONResponse(
            {"value": target, "blocked": bool(found), "decisions": [d.to_dict() for d in found]}
        )

    @app.post("/v1/events")
    def submit_events(
        events: list[EventIn], authorization: str | None = Header(default=None)
    ) -> Response:
        if not admin(authorization):
            return forbidden
        report = IngestReport()
        try:
            with lock:
                for item in events:
                    autoblocker.feed(
                        Event(
                            item.time,
                            item.domain,
                            item.kind,
                            item.source,
                            item.user,
                            item.failure,
                            item.target,
                            fields=dict(item.fields),
                            origin="http",
                        ),
                        report,
                    )
                autoblocker.commit(report)
        except CoreError as exc:
            return _error(exc)
        events_total.inc(len(events))
        for d in report.decisions:
            decisions_total.labels(d.origin).inc()
        return JSONResponse(
            {
                "events": report.events,
                "alerts": [a.to_dict() for a in report.alerts],
                "decisions": [d.to_dict() for d in report.decisions],
            }
        )

    @app.post("/v1/decisions")
    def add_decision(
        body: DecisionIn, authorization: str | None = Header(default=None)
    ) -> Response:
        if not admin(authorization):
            return forbidden
        try:
            with lock:
                decision = Decision.make(
                    type=body.type,
                    scope=body.scope,
                    value=body.value,
                    duration=parse_duration(body.duration),
                    now=ledger.clock(),
                    scenario=body.scenario,
                    reason=body.reason,
                )
                stored = write.add([decision])
        except CoreError as exc:
            return _error(exc)
        decisions_total.labels("cscli").inc()
        return JSONResponse([d.to_dict() for d in stored], status_code=201)

    @app.delete("/v1/decisions/{decision_id}")
    def delete_decision(
        decision_id: int, reason: str = "", authorization: str | None = Header(default=None)
    ) -> Response:
        if not admin(authorization):
            return forbidden
        if decision_id not in ledger.decisions:
            return JSONResponse({"message": f"no decision has id {decision_id}"}, status_code=404)
        try:
            with lock:
                gone = write.delete([decision_id], reason)
        except CoreError as exc:
            return _error(exc)
        return JSONResponse({"nbDeleted": str(len(gone)), "deleted": [d.to_dict() for d in gone]})

    @app.get("/v1/ledger/checkpoint")
    def checkpoint() -> Response:
        return PlainTextResponse(ledger.cosigned_checkpoint().decode())

    @app.post("/v1/ledger/witness")
    def witness(authorization: str | None = Header(default=None)) -> Response:
        if not admin(authorization):
            return forbidden
        if not witnesses:
            return JSONResponse(
                {"message": "no witness is configured (setting witnesses)"}, status_code=400
            )
        with lock:
            outcomes = request_cosignatures(ledger, witnesses, timeout=witness_timeout)
        return JSONResponse(
            {"outcomes": [o.to_dict() for o in outcomes]},
            status_code=200 if all(o.cosigned for o in outcomes) else 502,
        )

    @app.get("/v1/ledger/entries/{seq}")
    def entry(seq: int) -> Response:
        try:
            return JSONResponse(ledger.entry(seq).to_dict())
        except CoreError as exc:
            return _error(exc)

    @app.get("/v1/ledger/proof/inclusion")
    def inclusion(seq: int, size: int | None = Query(default=None)) -> Response:
        try:
            return JSONResponse(ledger.inclusion(seq, size))
        except CoreError as exc:
            return _error(exc)

    @app.get("/v1/ledger/proof/consistency")
    def consistency(size1: int, size2: int | None = Query(default=None)) -> Response:
        try:
            return JSONResponse(ledger.consistency(size1, size2))
        except CoreError as exc:
            return _error(exc)

    @app.get("/metrics")
    def prometheus() -> Response:
        active.set(len(ledger.index))
        entries.set(ledger.size)
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    return app


class ApiServer:
    """uvicorn serving :func:`create_app` on a socket bound before the thread starts.

    Binding first means a client may connect as soon as the constructor
    returns: the connection waits in the listen backlog, no polling needed.
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8080) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError as exc:
            self.socket.close()
            raise LedgerInputError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                field="listen_port",
                hint="choose a free port (0 picks one)",
            ) from exc
        self.socket.listen(128)
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.server.run(sockets=[self.socket])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="cdabl-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()
