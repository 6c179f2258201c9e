"""An experiment run's events on the NATS bus (``chaos.events``), as the architecture describes.

Event types, in the order a run emits them::

    experiment.started      title, run_id
    activity.run            name, type, phase (hypothesis|method|rollback), status, duration
    hypothesis.checked      when (before|during|after), met
    experiment.rolled_back  rollbacks (name/status each), faults_undone
    experiment.finished     status, deviated, duration

Publishing never blocks or fails an experiment: a bus that cannot be reached
or fails mid-run is logged (once per outage) and the run goes on.
"""

from __future__ import annotations

import threading
import uuid
from typing import Self

from pydantic import JsonValue

from shared_core.errors import CoreError
from shared_core.events import BlockingEventBus, Event, EventBus
from shared_core.logging import get_logger

__all__ = ["CHAOS_SUBJECT", "ExperimentEvents"]

CHAOS_SUBJECT = "chaos.events"

log = get_logger("chaos_engine.events")


class ExperimentEvents:
    """Publishes one run's events; every event carries the run's ``run_id``.

    Args:
        bus: a connected :class:`BlockingEventBus`, or ``None`` to publish nothing.
        subject: where the events go.
    """

    def __init__(self, bus: BlockingEventBus | None, subject: str = CHAOS_SUBJECT) -> None:
        self.bus = bus
        self.subject = subject
        self.run_id = uuid.uuid4().hex
        self.failing = False
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, servers: str | None, subject: str = CHAOS_SUBJECT) -> Self:
        """Connect to ``servers``; with none configured, or none answering, publish nothing."""
        if not servers:
            return cls(None, subject)
        bus = BlockingEventBus(EventBus(source="chaos_engine", connect_attempts=2))
        try:
            bus.connect(servers)
        except CoreError as exc:
            log.warning(
                "experiment events will not be published: the NATS bus is unreachable",
                error=exc.message,
            )
            return cls(None, subject)
        return cls(bus, subject)

    def publish(self, event_type: str, **payload: JsonValue) -> None:
        """Publish one event; log (once until it works again) and carry on if it fails."""
        if self.bus is None:
            return
        event = Event(
            subject=self.subject,
            event_type=event_type,
            source="chaos_engine",
            payload={"run_id": self.run_id, **payload},
        )
        with self._lock:  # one publisher at a time keeps the run's order on the wire
            try:
                self.bus.publish(event)
            except Exception as exc:  # whatever the bus raises, the experiment must go on
                if not self.failing:
                    log.warning(
                        "could not publish an experiment event; the run goes on",
                        event_type=event_type,
                        error=str(exc),
                    )
                self.failing = True
            else:
                self.failing = False

    def close(self) -> None:
        """Flush what was published and disconnect."""
        if self.bus is None:
            return
        bus, self.bus = self.bus, None
        try:
            bus.flush(timeout=2.0)
        except Exception as exc:  # closing must not fail a finished run either
            log.warning("experiment events may not all have reached NATS", error=str(exc))
        finally:
            try:
                bus.close()
            except Exception as exc:
                log.warning("closing the NATS connection failed", error=str(exc))
