"""What element instances wait for: messages (with the buffer of published ones), timers and signals.

A message correlates to at most one subscription of each process instance, and one that lives (TTL > 0)
stays buffered, so a subscription opened later still gets it. A message id is unique while its message
lives.
"""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import feel, timers
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.errors import AlreadyExists
from zeebe_celery.engine.model import Element, EventType, Expr, Kind
from zeebe_celery.engine.parts import Conditions, Flow, Publication, Resources
from zeebe_celery.engine.processors import StepFailed, feel_type
from zeebe_celery.engine.state import ElementInstance, Message, Wait, WaitKind

__all__ = ["EventSubscriptions"]


class EventSubscriptions:
    """Message subscriptions, timers and signal subscriptions over the state."""

    flow: Flow
    publication: Publication
    resources: Resources
    conditions: Conditions

    def __init__(self, state: Appliers) -> None:
        self.state = state

    # -- opening and closing -------------------------------------------------------------------------

    def open_wait(self, instance: ElementInstance, element: Element) -> None:
        kind = EventType.MESSAGE if element.kind is Kind.RECEIVE_TASK else element.event_type
        if kind is EventType.MESSAGE:
            self._open_message(instance, element)
        elif kind is EventType.TIMER:
            self._open_timer(instance, element)
        elif kind is EventType.SIGNAL:
            assert element.signal is not None
            name = str(self._expression(instance, element.signal))
            self.state.wait_opened(instance, element, WaitKind.SIGNAL, name=name)
        elif kind is EventType.CONDITIONAL:
            self.conditions.open(self.state.wait_opened(instance, element, WaitKind.CONDITION))

    def _expression(self, instance: ElementInstance, expr: Expr) -> Any:
        try:
            return expr.evaluate(self.state.visible(instance))
        except feel.FeelError as exc:
            raise StepFailed("EXTRACT_VALUE_ERROR", str(exc)) from exc

    def _open_message(self, instance: ElementInstance, element: Element) -> None:
        assert element.message is not None
        assert element.message.correlation_key is not None
        name = str(self._expression(instance, element.message.name))
        key_expr = element.message.correlation_key
        key = self._expression(instance, key_expr)
        if isinstance(key, bool) or not isinstance(key, str | int | float):
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Failed to extract the correlation key for '{key_expr.source.lstrip('=').strip()}': The value must "
                f"be either a string or a number, but was '{feel_type(key)}'.",
            )
        correlation_key = str(int(key)) if isinstance(key, float) and key.is_integer() else str(key)
        wait = self.state.wait_opened(instance, element, WaitKind.MESSAGE, name=name, correlation_key=correlation_key)
        self.flow.later(lambda: self._correlate_buffered(wait))

    def _open_timer(self, instance: ElementInstance, element: Element) -> None:
        timer = element.timer
        assert timer is not None
        now = self.state.now()
        repetitions = interval = 0
        text = ""
        try:
            if timer.duration is not None:
                due = timers.after(now, self._expression(instance, timer.duration))
            elif timer.date is not None:
                due = timers.due_at(self._expression(instance, timer.date))
            else:
                assert timer.cycle is not None
                cycle = timers.parse_cycle(self._expression(instance, timer.cycle))
                repetitions, interval, text, due = (
                    cycle.repetitions,
                    cycle.interval_ms,
                    cycle.text,
                    cycle.first_due(now),
                )
        except timers.TimerSyntaxError as exc:
            raise StepFailed("EXTRACT_VALUE_ERROR", str(exc)) from exc
        self.state.wait_opened(
            instance, element, WaitKind.TIMER, due=due, repetitions=repetitions, interval_ms=interval, cycle=text
        )

    def close_waits(self, instance: ElementInstance) -> None:
        for key in list(instance.waits):
            wait = self.state.waits.get(key)
            if wait is not None:
                self.state.wait_closed(wait)

    def close_wait(self, wait: Wait) -> None:
        self.state.wait_closed(wait)

    # -- messages ------------------------------------------------------------------------------------

    def publish_message(
        self,
        name: str,
        *,
        correlation_key: str,
        ttl: int,
        message_id: str,
        variables: dict[str, Any],
        tenant_id: str,
    ) -> Message:
        if message_id and (tenant_id, name, message_id) in self.state.message_ids:
            raise AlreadyExists(
                f"Expected to publish a new message with id '{message_id}', but a message with that id was "
                "already published"
            )
        message = Message(
            key=self.state.keys.next(),
            name=name,
            correlation_key=correlation_key,
            expires=self.state.now() + max(ttl, 0),
            message_id=message_id,
            variables=variables,
            tenant_id=tenant_id,
        )
        self.state.message_published(message, ttl)
        subs = self.state.subscriptions.get((tenant_id, name, correlation_key))
        for wait in by_key(subs) if subs else ():
            if wait.key in self.state.waits and wait.instance.process_instance_key not in message.correlated:
                self._correlate(message, wait)
        self._start_by_message(message)
        self.flow.run_agenda()
        return message

    def _correlate(self, message: Message, wait: Wait) -> None:
        self.state.message_correlated(message, wait, wait.instance.process_instance_key)
        if wait.element is wait.instance.element or wait.element.interrupting:
            self.state.wait_closed(wait)
        # else: a non-interrupting boundary keeps its subscription for the next message
        self.publication.trigger(wait, dict(message.variables))

    def _correlate_buffered(self, wait: Wait) -> None:
        if wait.key not in self.state.waits:
            return
        tenant = wait.instance.tenant_id
        buffered = self.state.buffered.get((tenant, wait.name, wait.correlation_key))
        now = self.state.now()
        for message in by_key(buffered) if buffered else ():
            if message.expires > now and wait.instance.process_instance_key not in message.correlated:
                self._correlate(message, wait)
                return

    def _start_by_message(self, message: Message) -> None:
        for start in list(self.state.message_starts.get((message.tenant_id, message.name), ())):
            self._start_one(message, start)

    def _start_one(self, message: Message, start: Element) -> bool:
        """Start the latest version at ``start`` unless this message started it already, or (as Zeebe has
        it) an instance another message with the same correlation key started is still active: then the
        message waits in the buffer, and starts the next instance when that one ends."""
        latest = self.resources.latest_definition(message.tenant_id, start)
        if latest is None or latest.bpmn_process_id in message.correlated:
            return False
        key = message.correlation_key
        if key and (message.tenant_id, latest.bpmn_process_id, key) in self.state.keyed_starts:
            return False
        self.state.message_correlated(message, None, latest.bpmn_process_id)
        self.flow.start_at_event(latest, start, dict(message.variables), key or None)
        return True

    def start_buffered(self, tenant_id: str, process_id: str, correlation_key: str) -> None:
        """An instance a keyed message started ended: the oldest buffered message with that key starts the next."""
        now = self.state.now()
        for (tenant, name), starts in list(self.state.message_starts.items()):
            if tenant != tenant_id:
                continue
            for start in starts:
                latest = self.resources.latest_definition(tenant_id, start)
                if latest is None or latest.bpmn_process_id != process_id:
                    continue
                waiting = self.state.buffered.get((tenant_id, name, correlation_key), {})
                for message in sorted(waiting.values(), key=lambda m: m.key):
                    if message.expires > now and self._start_one(message, start):
                        return

    def message_ttl_over(self, key: int, due: int) -> None:
        message = self.state.messages.get(key)
        if message is not None and message.expires == due:
            self.state.message_expired(message)

    # -- signals and timers --------------------------------------------------------------------------

    def broadcast_signal(self, name: str, *, variables: dict[str, Any], tenant_id: str) -> int:
        key = self.state.keys.next()
        if self.state.records.enabled:
            self.state.write("SIGNAL", "BROADCASTED", key, {"signalName": name, "tenantId": tenant_id})
        for wait in by_key(self.state.signal_waits.get((tenant_id, name), {})):
            if wait.key in self.state.waits:
                if wait.element is wait.instance.element or wait.element.interrupting:
                    self.state.wait_closed(wait)
                self.publication.trigger(wait, dict(variables))
        # A signal start event starts an instance of the latest version of each process that has one.
        for definition, start in self.resources.signal_starts(tenant_id, name):
            self.flow.start_at_event(definition, start, dict(variables), None)
        self.flow.run_agenda()
        return key

    def timer_due(self, key: int, due: int) -> None:
        wait = self.state.waits.get(key)
        if wait is None or wait.due != due:
            return
        next_due = timers.next_due(wait.due, wait.repetitions, wait.cycle, wait.interval_ms, self.state.now())
        self.state.timer_triggered(wait, next_due)
        self.publication.trigger(wait, {})
