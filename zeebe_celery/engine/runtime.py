"""The engine's runtime: one façade over the state and its parts, and the commands of the gateway protocol.

The parts are objects over the one state (the interpreter, jobs, event subscriptions, event publication,
deployments and the instance commands), wired here. Every command runs under one lock, as on a single
Zeebe partition, in a transaction of its own: committed (and persisted, with a store) before it returns,
or rolled back whole. It knows nothing of gRPC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import Clock, DeployedDecision, command
from zeebe_celery.engine.deployments import Deployment, Deployments
from zeebe_celery.engine.events import EventPublication
from zeebe_celery.engine.instances import ActivateInstruction, InstanceCommands
from zeebe_celery.engine.interpreter import Interpreter
from zeebe_celery.engine.jobs import Activated, JobBehavior, JobStream
from zeebe_celery.engine.processors.adhoc import AdHocDecision
from zeebe_celery.engine.state import Definition, ElementInstance, Job
from zeebe_celery.engine.transaction import Transaction
from zeebe_celery.engine.waits import EventSubscriptions

__all__ = ["ActivateInstruction", "Deployment", "Runtime"]

logger = logging.getLogger(__name__)
# A due item whose processing failed is tried again this much later.
_RETRY_DUE_MS = 5_000


class Runtime(Appliers):
    """All engine state, its parts, and the commands on it."""

    def __init__(self, *, clock: Clock, records_limit: int = 100_000) -> None:
        super().__init__(clock=clock, records_limit=records_limit)
        self.interpreter = interpreter = Interpreter(self)
        self.job_behavior = jobs = JobBehavior(self)
        self.event_subscriptions = subscriptions = EventSubscriptions(self)
        self.event_publication = publication = EventPublication(self)
        self.deployments = deployments = Deployments(self)
        self.instance_commands = instances = InstanceCommands(self, interpreter)
        for part in (interpreter, jobs, subscriptions, publication, instances):
            part.flow = interpreter
        interpreter.jobs = publication.jobs = instances.jobs = jobs
        interpreter.subscriptions = publication.subscriptions = instances.subscriptions = subscriptions
        interpreter.publication = jobs.publication = subscriptions.publication = instances.publication = publication
        interpreter.resources = subscriptions.resources = deployments

    # -- the transaction boundary --------------------------------------------------------------------

    def settle(self) -> None:
        self.interpreter.run_agenda()

    def rollback(self, tx: Transaction) -> None:
        self.interpreter.agenda.clear()
        super().rollback(tx)

    # -- due items -----------------------------------------------------------------------------------

    def fire_due(self, now: int) -> None:
        """Each due item is a command of its own: one that fails is rolled back, and tried again later
        (Zeebe's due-date checkers find such a timer again), without holding up the others."""
        for kind, key, due in self.pop_due(now):
            try:
                self._fire(kind, key, due)
            except Exception:
                logger.exception("Firing %s of %s failed; trying again in %d ms", kind, key, _RETRY_DUE_MS)
                self.schedule(now + _RETRY_DUE_MS, f"retry:{kind}:{due}", key)

    @command
    def _fire(self, kind: str, key: int, due: int) -> None:
        if kind.startswith("retry:"):
            _, kind, original = kind.split(":")
            due = int(original)
        if kind == "job_timeout":
            self.job_behavior.job_timed_out(key, due)
        elif kind == "job_backoff":
            self.job_behavior.job_backoff_over(key, due)
        elif kind == "timer":
            self.event_subscriptions.timer_due(key, due)
        else:
            self.event_subscriptions.message_ttl_over(key, due)

    # -- resources -----------------------------------------------------------------------------------

    @command
    def deploy(self, resources: Sequence[tuple[str, bytes]], *, tenant_id: str = "") -> Deployment:
        return self.deployments.deploy(resources, tenant_id=tenant_id)

    @command
    def delete_resource(self, key: int) -> None:
        self.deployments.delete_resource(key)

    def find_definition(
        self, *, key: int = 0, process_id: str = "", version: int = -1, tenant_id: str = ""
    ) -> Definition:
        return self.deployments.find_definition(key=key, process_id=process_id, version=version, tenant_id=tenant_id)

    def find_decision(self, *, key: int = 0, decision_id: str = "", tenant_id: str = "") -> DeployedDecision:
        return self.deployments.find_decision(key=key, decision_id=decision_id, tenant_id=tenant_id)

    # -- process instances ---------------------------------------------------------------------------

    @command
    def create_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        *,
        start_at: Sequence[str] = (),
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        return self.instance_commands.create_instance(definition, variables, start_at=start_at, on_created=on_created)

    def await_result(self, root: ElementInstance, waiter: Callable[[ElementInstance | None], None]) -> None:
        """Within the command that creates ``root``: call ``waiter`` once it ends."""
        self.interpreter.await_result(root, waiter)

    @command
    def cancel_instance(self, key: int) -> None:
        self.instance_commands.cancel_instance(key)

    @command
    def set_variables(self, element_instance_key: int, variables: dict[str, Any], *, local: bool) -> int:
        return self.instance_commands.set_variables(element_instance_key, variables, local=local)

    @command
    def resolve_incident(self, key: int) -> None:
        self.instance_commands.resolve_incident(key)

    @command
    def modify_instance(self, key: int, *, activate: Sequence[ActivateInstruction], terminate: Sequence[int]) -> None:
        self.instance_commands.modify_instance(key, activate=activate, terminate=terminate)

    @command
    def migrate_instance(self, key: int, *, target_key: int, mappings: Sequence[tuple[str, str]]) -> None:
        self.instance_commands.migrate_instance(key, target_key=target_key, mappings=mappings)

    # -- jobs ----------------------------------------------------------------------------------------

    @property
    def streams(self) -> dict[str, list[JobStream]]:
        return self.job_behavior.streams

    @command
    def activate_jobs(
        self,
        job_type: str,
        *,
        worker: str,
        timeout: int,
        max_jobs: int,
        fetch: Sequence[str] = (),
        tenant_ids: Iterable[str] = (),
    ) -> list[Activated]:
        return self.job_behavior.activate_jobs(
            job_type, worker=worker, timeout=timeout, max_jobs=max_jobs, fetch=fetch, tenant_ids=tenant_ids
        )

    def open_stream(self, stream: JobStream) -> None:
        self.job_behavior.open_stream(stream)

    @command
    def close_stream(self, stream: JobStream) -> None:
        self.job_behavior.close_stream(stream)

    @command
    def yield_jobs(self, jobs: Iterable[Job]) -> None:
        self.job_behavior.yield_jobs(jobs)

    @command
    def complete_job(self, key: int, variables: dict[str, Any], ad_hoc: AdHocDecision | None = None) -> None:
        """``ad_hoc``: an ad-hoc sub-process's job worker's answer (CompleteJob's JobResult)."""
        self.job_behavior.complete_job(key, variables, ad_hoc)

    @command
    def fail_job(self, key: int, *, retries: int, error_message: str, backoff: int, variables: dict[str, Any]) -> None:
        self.job_behavior.fail_job(
            key, retries=retries, error_message=error_message, backoff=backoff, variables=variables
        )

    @command
    def throw_job_error(self, key: int, *, code: str, message: str, variables: dict[str, Any]) -> None:
        self.job_behavior.throw_job_error(key, code=code, message=message, variables=variables)

    @command
    def update_job_retries(self, key: int, retries: int) -> None:
        self.job_behavior.update_job_retries(key, retries)

    @command
    def update_job_timeout(self, key: int, timeout: int) -> None:
        self.job_behavior.update_job_timeout(key, timeout)

    # -- messages and signals ------------------------------------------------------------------------

    @command
    def publish_message(
        self,
        name: str,
        *,
        correlation_key: str,
        ttl: int,
        message_id: str,
        variables: dict[str, Any],
        tenant_id: str,
    ) -> Any:
        return self.event_subscriptions.publish_message(
            name,
            correlation_key=correlation_key,
            ttl=ttl,
            message_id=message_id,
            variables=variables,
            tenant_id=tenant_id,
        )

    @command
    def broadcast_signal(self, name: str, *, variables: dict[str, Any], tenant_id: str) -> int:
        return self.event_subscriptions.broadcast_signal(name, variables=variables, tenant_id=tenant_id)

    # -- inspection ----------------------------------------------------------------------------------

    def variables_of(self, key: int) -> dict[str, Any]:
        return self.instance_commands.variables_of(key)
