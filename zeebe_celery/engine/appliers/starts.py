"""Appliers of the timer records of timer start events (a process's, not an instance's)."""

from __future__ import annotations

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.state import StartTimer

__all__ = ["StartAppliers"]


class StartAppliers(RuntimeBase):
    def start_timer_created(self, timer: StartTimer) -> None:
        tx = self.tx
        tx.put(self.start_timers, timer.key, timer)
        tx.start_timers = True
        self.schedule(timer.due, "start_timer", timer.key)
        self._start_timer_record("CREATED", timer)

    def start_timer_triggered(self, timer: StartTimer, next_due: int | None) -> None:
        """It fired: due again at ``next_due`` while its cycle has repetitions left (None: it is done)."""
        self._start_timer_record("TRIGGERED", timer)
        tx = self.tx
        tx.start_timers = True
        if next_due is None:
            tx.pop(self.start_timers, timer.key)
            return
        if timer.repetitions > 0:
            tx.set(timer, "repetitions", timer.repetitions - 1)
        tx.set(timer, "due", next_due)
        self.schedule(next_due, "start_timer", timer.key)

    def start_timer_canceled(self, timer: StartTimer) -> None:
        tx = self.tx
        if tx.pop(self.start_timers, timer.key) is not None:
            tx.start_timers = True
            self._start_timer_record("CANCELED", timer)

    def _start_timer_record(self, intent: str, timer: StartTimer) -> None:
        if self.records.enabled:
            definition = timer.definition
            self.write(
                "TIMER",
                intent,
                timer.key,
                {
                    "elementInstanceKey": -1,
                    "processInstanceKey": -1,
                    "processDefinitionKey": definition.key,
                    "targetElementId": timer.element.id,
                    "elementId": timer.element.id,
                    "dueDate": timer.due,
                    "repetitions": timer.repetitions,
                    "bpmnProcessId": definition.bpmn_process_id,
                    "tenantId": definition.tenant_id,
                },
            )
