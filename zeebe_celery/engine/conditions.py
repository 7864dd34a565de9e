"""Conditional events as Camunda 8.9 runs them: a conditional catch or boundary event opens a subscription
whose FEEL condition is evaluated when its scope is activated and again whenever a variable it can see is
created or updated (narrowed by its ``zeebe:conditionalFilter``); it triggers when the condition is true.
A condition that fails to evaluate does not trigger, and raises no incident. Root-level conditional start
events start instances when EvaluateConditional's variables make their condition true.
"""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.errors import NotFound
from zeebe_celery.engine.model import ConditionDef
from zeebe_celery.engine.parts import Flow, Publication
from zeebe_celery.engine.state import DEFAULT_TENANT, Definition, Wait

__all__ = ["ConditionalEvents"]


class ConditionalEvents:
    """Conditional subscriptions over the state; the interpreter and event publication are wired in."""

    flow: Flow
    publication: Publication

    def __init__(self, state: Appliers) -> None:
        self.state = state

    def open(self, wait: Wait) -> None:
        """A conditional subscription opened with its scope: its condition is evaluated once at once."""
        self.flow.later(lambda: self._check(wait))

    def variables_changed(self) -> bool:
        """Evaluate the subscriptions that see the variables changed since the last call; False if none."""
        state = self.state
        changes = state.variable_changes
        if not changes:
            return False
        taken = list(changes)
        changes.clear()
        for wait in by_key(state.conditional_waits):
            condition = wait.element.condition
            assert condition is not None
            scopes = set(map(id, wait.instance.scopes()))
            if any(
                id(scope) in scopes and stamp >= wait.key and _matches(condition, name, event)
                for scope, name, event, stamp in taken
            ):
                self._check(wait)
        self.flow.run_agenda()
        return True

    def _check(self, wait: Wait) -> None:
        state = self.state
        if state.waits.get(wait.key) is not wait or wait.instance.key not in state.instances:
            return
        condition = wait.element.condition
        assert condition is not None
        try:
            value = condition.condition.evaluate(state.visible(wait.instance))
        except feel.FeelError:
            return
        if value is True:
            state.wait_record("CONDITIONAL_SUBSCRIPTION", "TRIGGERED", wait)
            self.publication.trigger(wait, {})

    # -- root-level conditional start events ---------------------------------------------------------------

    def evaluate_start_events(
        self, tenant_id: str, variables: dict[str, Any], definition_key: int | None
    ) -> tuple[int, list[tuple[int, int]]]:
        """Start an instance at each root-level conditional start event whose condition the variables make
        true: of one definition, or of the latest version of every process of the tenant. Returns the
        evaluation's key and the (definition key, process instance key) of each instance started."""
        state = self.state
        tenant = tenant_id or DEFAULT_TENANT
        if definition_key is not None:
            definition = state.definitions.get(definition_key)
            if definition is None or definition.tenant_id != tenant:
                raise NotFound(
                    f"Expected to evaluate conditional start events of process definition with key "
                    f"'{definition_key}', but no such process definition was found"
                )
            candidates = [definition]
        else:
            candidates = self._latest(tenant)
        started: list[tuple[int, int]] = []
        for definition in candidates:
            for start in definition.process.conditional_starts:
                condition = start.condition
                assert condition is not None
                if condition.variable_names and not set(condition.variable_names) & set(variables):
                    continue
                try:
                    value = condition.condition.evaluate(variables)
                except feel.FeelError:
                    continue
                if value is True:
                    root = self.flow.start_at_event(definition, start, dict(variables), None)
                    started.append((definition.key, root.key))
        key = state.keys.next()
        if state.records.enabled:
            state.write(
                "CONDITIONAL_EVALUATION",
                "EVALUATED",
                key,
                {
                    "tenantId": tenant,
                    "processDefinitionKey": definition_key if definition_key is not None else -1,
                    "variables": variables,
                    "startedProcessInstances": [
                        {"processDefinitionKey": d, "processInstanceKey": p} for d, p in started
                    ],
                },
            )
        return key, started

    def _latest(self, tenant: str) -> list[Definition]:
        latest = []
        for (owner, process_id), _ in sorted(self.state.latest.items()):
            if owner != tenant:
                continue
            live = self.state.live_versions(owner, process_id)
            if live and live[-1].process.conditional_starts:
                latest.append(live[-1])
        return latest


def _matches(condition: ConditionDef, name: str, event: str) -> bool:
    return (not condition.variable_names or name in condition.variable_names) and (
        not condition.variable_events or event in condition.variable_events
    )
