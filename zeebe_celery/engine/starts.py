"""Timer start events: each timer start event of a process's latest version has a timer, and creates an
instance of that version each time it is due.

As Zeebe does, deploying a new version cancels the previous version's timers and opens the new one's;
deleting the latest version gives the timers back to the version before it. A timer's value is evaluated
once, when it is opened, with no variables (a date, a duration from then, or a cycle).
"""

from __future__ import annotations

from zeebe_celery.engine import feel, timers
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.deployments import Deployment
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.parts import Flow
from zeebe_celery.engine.state import Definition, StartTimer

__all__ = ["TimerStarts"]


class TimerStarts:
    flow: Flow

    def __init__(self, state: Appliers) -> None:
        self.state = state

    def deployed(self, deployment: Deployment) -> None:
        """A deployment's new versions take over their processes' timer start events."""
        for definition in deployment.processes:
            if definition.deployment_key == deployment.key:
                self.versions_changed(definition.tenant_id, definition.bpmn_process_id)

    def versions_changed(self, tenant_id: str, process_id: str) -> None:
        """Only the latest live version of the process keeps timers: the others' are cancelled, and the
        latest's are opened if it has none yet."""
        live = self.state.live_versions(tenant_id, process_id)
        latest = live[-1] if live else None
        owned = False
        for timer in by_key(self.state.start_timers):
            definition = timer.definition
            if definition.tenant_id != tenant_id or definition.bpmn_process_id != process_id:
                continue
            if definition is latest:
                owned = True
            else:
                self.state.start_timer_canceled(timer)
        if latest is not None and not owned:
            for start in latest.process.timer_starts:
                self._open(latest, start)

    def _open(self, definition: Definition, start: Element) -> None:
        timer = start.timer
        assert timer is not None
        now = self.state.now()
        repetitions = interval = 0
        text = ""
        try:
            if timer.date is not None:
                due = timers.due_at(timer.date.evaluate({}))
            elif timer.duration is not None:
                due = timers.after(now, timer.duration.evaluate({}))
            else:
                assert timer.cycle is not None
                cycle = timers.parse_cycle(timer.cycle.evaluate({}))
                repetitions, interval, text, due = (
                    cycle.repetitions,
                    cycle.interval_ms,
                    cycle.text,
                    cycle.first_due(now),
                )
        except (feel.FeelError, timers.TimerSyntaxError) as exc:
            raise InvalidArgument(
                f"Expected to deploy the process '{definition.bpmn_process_id}', but the timer of its start event "
                f"'{start.id}' could not be evaluated: {exc}"
            ) from exc
        self.state.start_timer_created(
            StartTimer(
                key=self.state.keys.next(),
                definition=definition,
                element=start,
                due=due,
                repetitions=repetitions,
                cycle=text,
                interval_ms=interval,
            )
        )

    def timer_due(self, key: int, due: int) -> None:
        timer = self.state.start_timers.get(key)
        if timer is None or timer.due != due:
            return
        next_due = timers.next_due(timer.due, timer.repetitions, timer.cycle, timer.interval_ms, self.state.now())
        self.state.start_timer_triggered(timer, next_due)
        self.flow.start_at_event(timer.definition, timer.element, {}, None)
        self.flow.run_agenda()
