"""Appliers of message subscription, timer, signal subscription and message records."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.state import (
    ElementInstance,
    Message,
    Wait,
    WaitKind,
)

__all__ = ["WaitAppliers"]

_WAIT_RECORDS = {
    WaitKind.MESSAGE: ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"),
    WaitKind.SIGNAL: ("SIGNAL_SUBSCRIPTION", "DELETED"),
    WaitKind.TIMER: ("TIMER", "CANCELED"),
    WaitKind.CONDITION: ("CONDITIONAL_SUBSCRIPTION", "DELETED"),
}


class WaitAppliers(RuntimeBase):
    # -- waits: message subscriptions, timers, signal subscriptions --------------------------------------

    def wait_opened(self, instance: ElementInstance, element: Element, kind: WaitKind, **fields: Any) -> Wait:
        tx = self.tx
        wait = Wait(key=self.keys.next(), kind=kind, instance=instance, element=element, **fields)
        tx.put(self.waits, wait.key, wait)
        tx.append(instance.waits, wait.key)
        tx.roots.add(instance.process_instance_key)
        tenant = instance.tenant_id
        if kind is WaitKind.MESSAGE:
            self._index(self.subscriptions, (tenant, wait.name, wait.correlation_key), wait)
            self.wait_record("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED", wait)
        elif kind is WaitKind.SIGNAL:
            self._index(self.signal_waits, (tenant, wait.name), wait)
            self.wait_record("SIGNAL_SUBSCRIPTION", "CREATED", wait)
        elif kind is WaitKind.CONDITION:
            tx.put(self.conditional_waits, wait.key, wait)
            self.wait_record("CONDITIONAL_SUBSCRIPTION", "CREATED", wait)
        else:
            self.schedule(wait.due, "timer", wait.key)
            self.wait_record("TIMER", "CREATED", wait)
        return wait

    def wait_closed(self, wait: Wait) -> None:
        tx = self.tx
        if tx.pop(self.waits, wait.key) is None:
            return
        tx.remove(wait.instance.waits, wait.key)
        tx.roots.add(wait.instance.process_instance_key)
        tenant = wait.instance.tenant_id
        if wait.kind is WaitKind.MESSAGE:
            self._unindex(self.subscriptions, (tenant, wait.name, wait.correlation_key), wait.key)
        elif wait.kind is WaitKind.SIGNAL:
            self._unindex(self.signal_waits, (tenant, wait.name), wait.key)
        elif wait.kind is WaitKind.CONDITION:
            tx.pop(self.conditional_waits, wait.key)
        self.wait_record(*_WAIT_RECORDS[wait.kind], wait)

    def wait_moved(self, wait: Wait, element: Element) -> None:
        """Migration: the wait now belongs to ``element`` of the target version."""
        self.tx.set(wait, "element", element)

    def timer_triggered(self, wait: Wait, next_due: int | None) -> None:
        """The timer fired: it is due again at ``next_due`` while its cycle has repetitions left (None: done)."""
        self.wait_record("TIMER", "TRIGGERED", wait)
        if next_due is not None:
            tx = self.tx
            if wait.repetitions > 0:
                tx.set(wait, "repetitions", wait.repetitions - 1)
            tx.set(wait, "due", next_due)
            tx.roots.add(wait.instance.process_instance_key)
            self.schedule(wait.due, "timer", wait.key)
        else:
            self.wait_closed(wait)

    def _index(self, index: dict[Any, dict[int, Wait]], group: Any, wait: Wait) -> None:
        tx = self.tx
        members = index.get(group)
        if members is None:
            members = {}
            tx.put(index, group, members)
        tx.put(members, wait.key, wait)

    def _unindex(self, index: dict[Any, dict[int, Any]], group: Any, key: int) -> None:
        tx = self.tx
        members = index.get(group)
        if members is not None and key in members:
            tx.pop(members, key)
            if not members:
                tx.pop(index, group)

    # -- messages --------------------------------------------------------------------------------------

    def message_published(self, message: Message, ttl: int) -> None:
        if self.records.enabled:
            self.write(
                "MESSAGE",
                "PUBLISHED",
                message.key,
                {
                    "name": message.name,
                    "correlationKey": message.correlation_key,
                    "messageId": message.message_id,
                    "timeToLive": ttl,
                    "tenantId": message.tenant_id,
                },
            )
        if ttl > 0:
            tx = self.tx
            tx.put(self.messages, message.key, message)
            group = (message.tenant_id, message.name, message.correlation_key)
            buffered = self.buffered.get(group)
            if buffered is None:
                buffered = {}
                tx.put(self.buffered, group, buffered)
            tx.put(buffered, message.key, message)
            if message.message_id:
                tx.put(self.message_ids, (message.tenant_id, message.name, message.message_id), message.key)
            tx.messages.add(message.key)
            self.schedule(message.expires, "message_ttl", message.key)

    def message_correlated(self, message: Message, wait: Wait | None, target: int | str) -> None:
        """``target``: the process instance (or, for a start event, the process id) it correlated to."""
        tx = self.tx
        tx.add(message.correlated, target)
        tx.messages.add(message.key)
        if wait is not None and self.records.enabled:
            self.write(
                "PROCESS_MESSAGE_SUBSCRIPTION",
                "CORRELATED",
                wait.key,
                {
                    "messageName": message.name,
                    "correlationKey": message.correlation_key,
                    "messageKey": message.key,
                    "elementId": wait.element.id,
                    "processInstanceKey": wait.instance.process_instance_key,
                    "bpmnProcessId": wait.instance.definition.bpmn_process_id,
                    "tenantId": message.tenant_id,
                },
            )

    def message_expired(self, message: Message) -> None:
        tx = self.tx
        tx.pop(self.messages, message.key)
        tx.messages.add(message.key)
        self._unindex(self.buffered, (message.tenant_id, message.name, message.correlation_key), message.key)
        if message.message_id:
            tx.pop(self.message_ids, (message.tenant_id, message.name, message.message_id))
        if self.records.enabled:
            self.write("MESSAGE", "EXPIRED", message.key, {"name": message.name, "tenantId": message.tenant_id})
