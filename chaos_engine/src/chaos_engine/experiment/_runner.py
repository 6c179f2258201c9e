"""Running an experiment the way Chaos Toolkit's runner does, and its journal.

The order of a run: the steady-state hypothesis (unless the strategy skips
it); when it is met, the method (background activities in threads, the
hypothesis repeated alongside for the ``during-method-only`` and
``continuously`` strategies); the hypothesis again; then the rollbacks, as
the rollback strategy says; then every host fault this run injected and
nobody reverted is undone, whatever happened.  Statuses follow Chaos
Toolkit: a failing action leaves the run ``completed``; a probe failing in
the hypothesis makes it ``failed``; an unexpected error ``aborted``; a signal
``interrupted`` (declared rollbacks then play only with the ``always``
strategy, as in Chaos Toolkit; injected host faults are undone regardless).
"""

from __future__ import annotations

import contextlib
import platform
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from chaos_engine.errors import ChaosActivityError, ChaosExperimentError
from chaos_engine.experiment._controls import Controls, ExperimentInterrupted
from chaos_engine.experiment._events import ExperimentEvents
from chaos_engine.experiment._providers import run_provider
from chaos_engine.experiment._substitute import load_configuration, load_secrets, substitute
from chaos_engine.experiment._tolerance import within_tolerance
from chaos_engine.experiment._validate import HYPOTHESIS_STRATEGIES, ROLLBACK_STRATEGIES
from chaos_engine.host._undo import UNDO
from shared_core.logging import get_logger

__all__ = ["DRY_MODES", "RunOptions", "exit_code_of", "run_experiment"]

log = get_logger("chaos_engine.run")

DRY_MODES = ("probes", "actions", "activities", "pause")
_ENDED = ("aborted", "failed", "interrupted")


@dataclass
class RunOptions:
    """How to run: strategies (``None`` takes the experiment's ``runtime``, then the default)."""

    rollback_strategy: str | None = None
    hypothesis_strategy: str | None = None
    hypothesis_frequency: float = 1.0
    fail_fast: bool = False
    fail_fast_ratio: float = 0.0
    dry: str | None = None
    config_vars: dict[str, Any] = field(default_factory=dict)
    secret_vars: dict[str, Any] = field(default_factory=dict)
    handle_signals: bool = True
    events: ExperimentEvents | None = None
    """Where the run's events go (``chaos.events`` on NATS); ``None``: nowhere."""


def _now() -> datetime:
    return datetime.now(UTC)


def _version() -> str:
    from chaos_engine import __version__

    return f"chaos_engine-{__version__}"


@contextlib.contextmanager
def _exit_signals(enabled: bool) -> Iterator[None]:
    """SIGTERM interrupts; SIGUSR1 stops keeping rollbacks; SIGUSR2 stops without them."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, _frame: FrameType | None) -> None:
        raise ExperimentInterrupted(f"{signal.Signals(signum).name} signal received")

    def on_usr(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(20 if signum == signal.SIGUSR1 else 30)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_term),
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, on_usr),
        signal.SIGUSR2: signal.signal(signal.SIGUSR2, on_usr),
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Run:
    def __init__(self, experiment: dict[str, Any], options: RunOptions) -> None:
        self.experiment = experiment
        self.options = options
        runtime = experiment.get("runtime") or {}
        self.rollback_strategy = (
            options.rollback_strategy
            or (runtime.get("rollbacks") or {}).get("strategy")
            or "default"
        )
        strategy = (
            options.hypothesis_strategy
            or (runtime.get("hypothesis") or {}).get("strategy")
            or "default"
        )
        self.strategy = "continuously" if strategy == "continously" else strategy
        if self.rollback_strategy not in ROLLBACK_STRATEGIES:
            raise ChaosExperimentError(
                f"unknown rollback strategy {self.rollback_strategy!r}",
                path="runtime.rollbacks.strategy",
            )
        if self.strategy not in HYPOTHESIS_STRATEGIES:
            raise ChaosExperimentError(
                f"unknown hypothesis strategy {self.strategy!r}", path="runtime.hypothesis.strategy"
            )
        if options.dry is not None and options.dry not in DRY_MODES:
            raise ChaosExperimentError(
                f"unknown dry mode {options.dry!r}", hint=f"use one of {', '.join(DRY_MODES)}"
            )
        self.dry = options.dry
        self.configuration = load_configuration(
            experiment.get("configuration"), options.config_vars
        )
        self.secrets = load_secrets(
            experiment.get("secrets"), self.configuration, options.secret_vars
        )
        self.configuration = self._dynamic_configuration()
        self.refs: dict[str, dict[str, Any]] = {}
        hypo = experiment.get("steady-state-hypothesis") or {}
        for activity in [*(experiment.get("method") or []), *(hypo.get("probes") or [])]:
            if activity.get("name"):
                self.refs[activity["name"]] = activity
        self.controls = Controls(experiment, self.configuration, self.secrets)
        self.events = options.events or ExperimentEvents(None)
        self.journal: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- configuration -------------------------------------------------------------------
    def _dynamic_configuration(self) -> dict[str, Any]:
        conf: dict[str, Any] = {}
        for key, value in self.configuration.items():
            if not (isinstance(value, dict) and value.get("type") == "probe"):
                conf[key] = value
                continue
            try:
                output = run_provider(value, conf, self.secrets)
            except ChaosActivityError as exc:
                log.warning("dynamic configuration failed", key=key, error=str(exc))
                continue
            kind = value["provider"]["type"]
            if kind == "python":
                conf[key] = output
            elif kind == "process":
                if output["status"] == 0:
                    conf[key] = output.get("stdout", "").strip()
            else:
                conf[key] = output.get("body")
        return conf

    # -- activities ----------------------------------------------------------------------
    def _is_dry(self, activity: dict[str, Any]) -> bool:
        dry = activity.get("dry", self.dry)
        kind = activity.get("type")
        return (
            (dry == "actions" and kind == "action")
            or (dry == "probes" and kind == "probe")
            or dry == "activities"
        )

    def _pause(self, seconds: Any, activity: dict[str, Any]) -> None:
        if not seconds or self.dry == "pause" or self._is_dry(activity):
            return
        try:
            time.sleep(float(seconds))
        except (TypeError, ValueError):
            log.warning("pause is not a number", pause=seconds)

    def _call(self, activity: dict[str, Any]) -> Any:
        timeout = activity.get("timeout")
        if timeout is None:
            return run_provider(activity, self.configuration, self.secrets)
        if activity["provider"].get("type") != "python":
            return run_provider(activity, self.configuration, self.secrets, deadline=float(timeout))
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["output"] = run_provider(activity, self.configuration, self.secrets)
            except BaseException as exc:  # handed back to the caller below
                box["error"] = exc

        worker = threading.Thread(
            target=target, name=f"activity {activity.get('name')}", daemon=True
        )
        worker.start()
        worker.join(float(timeout))
        if worker.is_alive():
            raise ChaosActivityError(f"activity took too long to complete (timeout {timeout}s)")
        if "error" in box:
            raise box["error"]
        return box.get("output")

    def execute(
        self,
        activity: dict[str, Any],
        runs: list[dict[str, Any]] | None = None,
        *,
        phase: str = "method",
    ) -> dict[str, Any]:
        """Run one activity (resolving a ``ref``) and return its journal entry."""
        if activity.get("ref"):
            found = self.refs.get(activity["ref"])
            if found is None:
                raise ChaosActivityError(f"could not find referenced activity '{activity['ref']}'")
            activity = found
        with self.controls.around("activity", activity) as box:
            pauses = substitute(activity.get("pauses") or {}, self.configuration, self.secrets)
            self._pause(pauses.get("before"), activity)
            start = _now()
            run: dict[str, Any] = {
                "activity": dict(activity),
                "output": None,
                "start": start.isoformat(),
            }
            if runs is not None:
                with self._lock:
                    runs.append(run)
            log.info(
                f"{activity['type'].title()}: {activity.get('name')}",
                background=bool(activity.get("background")),
            )
            try:
                if not self._is_dry(activity):
                    run["output"] = self._call(activity)
                run["status"] = "succeeded"
            except ChaosActivityError as exc:
                run["status"] = "failed"
                run["exception"] = traceback.format_exception_only(type(exc), exc)
                log.warning("activity failed", activity=activity.get("name"), error=str(exc))
            except ExperimentInterrupted as exc:
                run["status"] = "failed"
                run["exception"] = [f"interrupted: {exc}\n"]
                raise
            finally:
                end = _now()
                run["end"] = end.isoformat()
                run["duration"] = (end - start).total_seconds()
                self.events.publish(
                    "activity.run",
                    name=activity.get("name"),
                    type=activity.get("type"),
                    phase=phase,
                    status=run.get("status"),
                    duration=run["duration"],
                )
            self._pause(pauses.get("after"), activity)
            box[0] = run
        return run

    # -- hypothesis ----------------------------------------------------------------------
    def hypothesis(self, when: str) -> dict[str, Any] | None:
        """Check the steady-state hypothesis (``when``: before, during or after the method)."""
        state = self._hypothesis()
        if state is not None:
            self.events.publish("hypothesis.checked", when=when, met=state["steady_state_met"])
        return state

    def _hypothesis(self) -> dict[str, Any] | None:
        hypo = self.experiment.get("steady-state-hypothesis")
        if not hypo:
            return None
        state: dict[str, Any] = {"steady_state_met": None, "probes": []}
        with self.controls.around("hypothesis", hypo) as box:
            box[0] = state
            for probe in hypo.get("probes") or []:
                run = self.execute(probe, phase="hypothesis")
                state["probes"].append(run)
                if run["status"] == "failed":
                    run["tolerance_met"] = False
                    state["steady_state_met"] = False
                    return state
                run["tolerance_met"] = True
                if self.dry in ("probes", "activities"):
                    continue
                tolerance = probe.get("tolerance")
                if isinstance(tolerance, str):
                    tolerance = substitute(tolerance, self.configuration, self.secrets)
                met = within_tolerance(
                    tolerance,
                    run["output"],
                    self.configuration,
                    self.secrets,
                    lambda act: run_provider(act, self.configuration, self.secrets),
                )
                if not met:
                    run["tolerance_met"] = False
                    state["steady_state_met"] = False
                    return state
            state["steady_state_met"] = True
        return state

    def _judge(self, state: dict[str, Any] | None, deviate: bool) -> bool:
        """Record an unmet hypothesis; returns whether it was met."""
        if state is None or state["steady_state_met"]:
            return True
        if deviate:
            self.journal["deviated"] = True
        failed = any(p["status"] != "succeeded" for p in state.get("probes", []))
        self.journal["status"] = "failed" if failed else "completed"
        log.critical(
            "steady state probe is not in the given tolerance",
            probe=state["probes"][-1]["activity"].get("name"),
        )
        return False

    def _continuously(self, stop: threading.Event) -> None:
        iteration = failed = 0
        while not stop.is_set():
            if self.journal["status"] in _ENDED:
                break
            iteration += 1
            state = self.hypothesis("during")
            self.journal["steady_states"]["during"].append(state)
            if state is not None and not state["steady_state_met"]:
                failed += 1
                if (
                    self.options.fail_fast
                    and (failed * 100) / iteration >= self.options.fail_fast_ratio
                ):
                    self.journal["status"] = "failed"
                    break
            stop.wait(self.options.hypothesis_frequency)

    # -- method and rollbacks -------------------------------------------------------------
    def _activities(self, key: str, level: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run the ``key`` activities, appending each run to ``runs`` (the journal's own list) as it starts."""
        activities = self.experiment.get(key) or []
        background = sum(1 for a in activities if a.get("background"))
        pool = (
            ThreadPoolExecutor(background, thread_name_prefix=f"chaos-{key}")
            if background
            else None
        )
        futures: list[Future[dict[str, Any]]] = []
        with self.controls.around(level, self.experiment) as box:
            box[0] = runs
            try:
                for activity in activities:
                    if activity.get("background") and pool is not None:
                        futures.append(pool.submit(self.execute, activity, runs, phase=level))
                    else:
                        self.execute(activity, runs, phase=level)
                    if key == "method" and self.journal["status"] in _ENDED:
                        break
            finally:
                if pool is not None:
                    wait_futures(futures)
                    pool.shutdown(wait=True)
        return runs

    def method(self) -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = []
        self.journal["run"] = runs
        try:
            self._activities("method", "method", runs)
        except (ExperimentInterrupted, KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            self.journal["status"] = "aborted"
            log.critical("the method ran into an unexpected error; aborting", exc_info=True)
            return None
        return runs

    def rollbacks(self) -> None:
        status, deviated = self.journal["status"], self.journal["deviated"]
        play = (
            self.rollback_strategy == "always"
            or (self.rollback_strategy == "default" and status not in ("failed", "interrupted"))
            or (self.rollback_strategy == "deviated" and deviated)
        )
        if not play:
            return
        runs: list[dict[str, Any]] = []
        self.journal["rollbacks"] = runs
        try:
            self._activities("rollbacks", "rollback", runs)
        except (ExperimentInterrupted, KeyboardInterrupt, SystemExit):
            self.journal["status"] = "interrupted"
            log.warning("interrupted during the rollbacks; the remaining ones were not run")

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        exp = self.experiment
        exp["title"] = substitute(exp.get("title"), self.configuration, self.secrets)
        exp["dry"] = self.dry
        started = time.time()
        self.journal = {
            "chaoslib-version": _version(),
            "platform": platform.platform(),
            "node": platform.node(),
            "experiment": dict(exp),
            "start": _now().isoformat(),
            "status": None,
            "deviated": False,
            "steady_states": {"before": None, "after": None, "during": []},
            "run": [],
            "rollbacks": [],
        }
        journal = self.journal
        mark = UNDO.mark()
        with_ssh = bool((exp.get("steady-state-hypothesis") or {}).get("probes"))
        before = self.strategy in ("default", "before-method-only", "continuously")
        after = self.strategy in ("default", "after-method-only", "continuously")
        during = self.strategy in ("during-method-only", "continuously")
        graceful = True
        self.events.publish("experiment.started", title=str(exp.get("title")))
        self.controls.configure()
        try:
            with _exit_signals(self.options.handle_signals):
                self.controls.apply("experiment", "before", exp)
                stop = threading.Event()
                watcher: threading.Thread | None = None
                try:
                    met = True
                    if with_ssh and before:
                        state = self.hypothesis("before")
                        journal["steady_states"]["before"] = state
                        met = self._judge(state, deviate=False)
                    if met:
                        if with_ssh and during:
                            watcher = threading.Thread(
                                target=self._continuously,
                                args=(stop,),
                                name="chaos-hypothesis",
                                daemon=True,
                            )
                            watcher.start()
                        runs = self.method()
                        stop.set()
                        if (
                            journal["status"] not in ("interrupted", "aborted")
                            and with_ssh
                            and runs is not None
                            and after
                        ):
                            state = self.hypothesis("after")
                            journal["steady_states"]["after"] = state
                            self._judge(state, deviate=True)
                except ExperimentInterrupted as exc:
                    journal["status"] = "interrupted"
                    log.critical(str(exc))
                except KeyboardInterrupt:
                    journal["status"] = "interrupted"
                    log.warning("received SIGINT (Ctrl-C)")
                except SystemExit as exc:
                    journal["status"] = "interrupted"
                    graceful = exc.code != 30
                finally:
                    stop.set()
                    if watcher is not None:
                        watcher.join()
                if graceful:
                    self.rollbacks()
                undone = UNDO.undo_since(mark)
                if undone:
                    journal["chaos_engine"] = {"faults_undone": [u.to_dict() for u in undone]}
                if journal["rollbacks"] or undone:
                    self.events.publish(
                        "experiment.rolled_back",
                        rollbacks=[
                            {"name": r["activity"].get("name"), "status": r.get("status")}
                            for r in journal["rollbacks"]
                        ],
                        faults_undone=len(undone),
                    )
                journal["end"] = _now().isoformat()
                journal["duration"] = time.time() - started
                if journal["status"] not in ("completed", *_ENDED):
                    journal["status"] = "completed"
                self.controls.apply("experiment", "after", exp, journal)
        finally:
            UNDO.undo_since(mark)
            self.controls.cleanup()
        log.info("experiment ended", status=journal["status"], deviated=journal["deviated"])
        self.events.publish(
            "experiment.finished",
            status=journal["status"],
            deviated=journal["deviated"],
            duration=journal.get("duration"),
        )
        return journal


def run_experiment(experiment: dict[str, Any], options: RunOptions | None = None) -> dict[str, Any]:
    """Run a validated experiment and return its journal (Chaos Toolkit's shape)."""
    return _Run(experiment, options or RunOptions()).run()


def exit_code_of(journal: dict[str, Any]) -> int:
    """0 when the run completed and the steady state held throughout, else 1.

    Chaos Toolkit exits 0 when the hypothesis is unmet *before* the method
    (nothing was tried); here that is 1, since the steady state did not hold.
    """
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and before.get("steady_state_met") is False:
        return 1
    return 0 if journal.get("status") == "completed" and not journal.get("deviated") else 1
