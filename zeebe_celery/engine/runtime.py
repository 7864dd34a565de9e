"""The engine's runtime: one façade over the state and its parts, and the commands of the gateway protocol.

The parts are objects over the one state (the interpreter, jobs, event subscriptions, event publication,
deployments and the instance commands), wired here. Every command runs under one lock, as on a single
Zeebe partition, in a transaction of its own: committed (and persisted, with a store) before it returns,
or rolled back whole. It knows nothing of gRPC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine import dmn
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.conditions import ConditionalEvents
from zeebe_celery.engine.core import Clock, DeployedDecision, command
from zeebe_celery.engine.deployments import Deployment, Deployments
from zeebe_celery.engine.errors import NotFound
from zeebe_celery.engine.events import EventPublication
from zeebe_celery.engine.instances import ActivateInstruction, InstanceCommands, MoveInstruction
from zeebe_celery.engine.interpreter import Interpreter
from zeebe_celery.engine.jobs import Activated, JobBehavior, JobStream
from zeebe_celery.engine.processors.adhoc import AdHocDecision
from zeebe_celery.engine.records import value_of
from zeebe_celery.engine.starts import TimerStarts
from zeebe_celery.engine.state import Definition, ElementInstance, Job, JobResult, Message, UserTask
from zeebe_celery.engine.transaction import Transaction
from zeebe_celery.engine.usertasks import UserTaskBehavior, Waiter
from zeebe_celery.engine.waits import EventSubscriptions

__all__ = ["ActivateInstruction", "DecisionEvaluation", "Deployment", "MoveInstruction", "Runtime"]

logger = logging.getLogger(__name__)
# A due item whose processing failed is tried again this much later.
_RETRY_DUE_MS = 5_000


@dataclass(frozen=True, slots=True)
class DecisionEvaluation:
    """A decision evaluated on request: its result, or the error that stopped it (``failure``)."""

    decision: DeployedDecision
    key: int
    # The deployed decisions of its DRG, by decision id (for the keys and versions of required ones).
    versions: dict[str, DeployedDecision]
    result: dmn.DecisionResult | None
    failure: dmn.DmnEvaluationError | None


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
        self.user_task_behavior = user_tasks = UserTaskBehavior(self)
        self.conditional_events = conditions = ConditionalEvents(self)
        self.timer_starts = TimerStarts(self)
        self.timer_starts.flow = interpreter
        for part in (interpreter, jobs, subscriptions, publication, instances, user_tasks, conditions):
            part.flow = interpreter
        conditions.publication = publication
        subscriptions.conditions = conditions
        user_tasks.jobs = jobs
        interpreter.user_tasks = jobs.user_tasks = publication.user_tasks = instances.user_tasks = user_tasks
        interpreter.jobs = publication.jobs = instances.jobs = jobs
        interpreter.subscriptions = publication.subscriptions = instances.subscriptions = subscriptions
        interpreter.publication = jobs.publication = subscriptions.publication = instances.publication = publication
        interpreter.resources = subscriptions.resources = deployments

    # -- the transaction boundary --------------------------------------------------------------------

    def settle(self) -> None:
        # Variables changed under open conditional subscriptions make them evaluated, which may go on.
        self.interpreter.run_agenda()
        while self.conditional_events.variables_changed():
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
        elif kind == "start_timer":
            self.timer_starts.timer_due(key, due)
        else:
            self.event_subscriptions.message_ttl_over(key, due)

    # -- resources -----------------------------------------------------------------------------------

    @command
    def deploy(self, resources: Sequence[tuple[str, bytes]], *, tenant_id: str = "") -> Deployment:
        deployment = self.deployments.deploy(resources, tenant_id=tenant_id)
        self.timer_starts.deployed(deployment)
        return deployment

    @command
    def delete_resource(self, key: int, *, delete_history: bool = False) -> int | None:
        """Delete a process or DRG. ``delete_history`` (8.9), for a process: the key of the batch operation
        that deletes its history; this engine keeps no history store besides its exported records, so the
        operation is created (and recorded) with nothing left to delete. None otherwise."""
        definition = self.definitions.get(key)
        self.deployments.delete_resource(key)
        if definition is not None:
            self.timer_starts.versions_changed(definition.tenant_id, definition.bpmn_process_id)
        if not (delete_history and definition is not None):
            return None
        batch = self.keys.next()
        if self.records.enabled:
            self.write(
                "BATCH_OPERATION_CREATION",
                "CREATED",
                batch,
                {"batchOperationKey": batch, "batchOperationType": "DELETE_PROCESS_DEFINITION", "resourceKey": key},
            )
        return batch

    def find_definition(
        self, *, key: int = 0, process_id: str = "", version: int = -1, tenant_id: str = ""
    ) -> Definition:
        return self.deployments.find_definition(key=key, process_id=process_id, version=version, tenant_id=tenant_id)

    def find_decision(self, *, key: int = 0, decision_id: str = "", tenant_id: str = "") -> DeployedDecision:
        return self.deployments.find_decision(key=key, decision_id=decision_id, tenant_id=tenant_id)

    @command
    def evaluate_decision(
        self, *, key: int = 0, decision_id: str = "", tenant_id: str = "", variables: dict[str, Any]
    ) -> DecisionEvaluation:
        decision = self.find_decision(key=key, decision_id=decision_id, tenant_id=tenant_id)
        evaluation_key = self.keys.next()
        versions = {d.decision_id: d for d in self.decisions.values() if d.drg is decision.drg}
        try:
            result = dmn.evaluate_decision(decision.drg.drg, decision.decision_id, variables)
        except dmn.DmnEvaluationError as exc:
            return DecisionEvaluation(decision, evaluation_key, versions, None, exc)
        return DecisionEvaluation(decision, evaluation_key, versions, result, None)

    # -- process instances ---------------------------------------------------------------------------

    @command
    def create_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        *,
        start_at: Sequence[str] = (),
        on_created: Callable[[ElementInstance], None] | None = None,
        tags: Sequence[str] = (),
        business_id: str = "",
        terminate_after: Sequence[str] = (),
    ) -> ElementInstance:
        """``tags`` (at most 10, Zeebe's pattern), ``business_id`` (unique among the process's active root
        instances: AlreadyExists otherwise) and ``terminate_after`` (element ids whose completion terminates
        the instance: the 8.8 runtime instructions) label the instance."""
        return self.instance_commands.create_instance(
            definition,
            variables,
            start_at=start_at,
            on_created=on_created,
            tags=tags,
            business_id=business_id,
            terminate_after=terminate_after,
        )

    def await_result(self, root: ElementInstance, waiter: Callable[[ElementInstance | None], None]) -> None:
        """Within the command that creates ``root``: call ``waiter`` once it ends."""
        self.interpreter.await_result(root, waiter)

    def stop_awaiting(self, root_key: int, waiter: Callable[[ElementInstance | None], None]) -> None:
        """``waiter`` no longer waits for the result of ``root_key`` (its caller's request timed out)."""
        waiters = self.result_waiters.get(root_key)
        if waiters and waiter in waiters:
            waiters.remove(waiter)

    @command
    def cancel_instance(self, key: int) -> None:
        self.instance_commands.cancel_instance(key)

    @command
    def set_variables(
        self, element_instance_key: int, variables: dict[str, Any], *, local: bool, waiter: Waiter | None = None
    ) -> int:
        """Set variables on a scope. On a native user task's own scope this is an update of the task (8.8):
        its updating listeners run first, and the variables are set once they are through; ``waiter`` is
        called then (None) or when a listener denies it (the rejection), else as this command commits."""
        return self.instance_commands.set_variables(element_instance_key, variables, local=local, waiter=waiter)

    @command
    def resolve_incident(self, key: int) -> None:
        self.instance_commands.resolve_incident(key)

    @command
    def retry_incident(self, key: int, retries: int) -> None:
        """Operate's retry: the incident's job (if any) gets ``retries``, then the incident is resolved; both or
        neither, in one command."""
        incident = self.incidents.get(key)
        if incident is not None and incident.job is not None:
            self.job_behavior.update_job_retries(incident.job.key, retries)
        self.instance_commands.resolve_incident(key)

    @command
    def modify_instance(
        self,
        key: int,
        *,
        activate: Sequence[ActivateInstruction],
        terminate: Sequence[int],
        terminate_elements: Sequence[str] = (),
        move: Sequence[MoveInstruction] = (),
    ) -> None:
        """``terminate_elements``: every active instance of these elements (8.9); ``move``: 8.9's moves."""
        self.instance_commands.modify_instance(
            key, activate=activate, terminate=terminate, terminate_elements=terminate_elements, move=move
        )

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
        pooled_before: float | None = None,
    ) -> list[Activated]:
        return self.job_behavior.activate_jobs(
            job_type,
            worker=worker,
            timeout=timeout,
            max_jobs=max_jobs,
            fetch=fetch,
            tenant_ids=tenant_ids,
            pooled_before=pooled_before,
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
    def complete_job(
        self,
        key: int,
        variables: dict[str, Any],
        ad_hoc: AdHocDecision | None = None,
        *,
        result: JobResult | None = None,
    ) -> None:
        """``ad_hoc``: an ad-hoc sub-process's job worker's answer; ``result``: a task listener's denial or
        corrections (both from CompleteJob's JobResult; each is ignored on a job of another kind)."""
        self.job_behavior.complete_job(key, variables, ad_hoc, result)

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

    @command
    def update_job(self, key: int, *, retries: int | None, timeout: int | None) -> None:
        """Both changes or neither."""
        if retries is not None:
            self.job_behavior.update_job_retries(key, retries)
        if timeout is not None:
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
    def correlate_message(
        self, name: str, *, correlation_key: str, variables: dict[str, Any], tenant_id: str
    ) -> tuple[Message, int]:
        """Correlate at once to one waiting subscription or message start event, never buffered; the message
        and the process instance it reached. Raises NotFound (and changes nothing) when none waits."""
        message = self.event_subscriptions.publish_message(
            name, correlation_key=correlation_key, ttl=0, message_id="", variables=variables, tenant_id=tenant_id
        )
        reached = [k for k in message.correlated if isinstance(k, int)]
        if reached:
            return message, min(reached)
        started = [
            fields["processInstanceKey"]
            for value_type, intent, _, value in self.tx.records
            if value_type == "PROCESS_INSTANCE"
            and intent == "ELEMENT_ACTIVATING"
            and (fields := value_of(value))["bpmnElementType"] == "PROCESS"
        ]
        if started:
            return message, started[0]
        raise NotFound(
            f"Expected to find subscription for message with name '{name}' and correlation key "
            f"'{correlation_key}', but none was found."
        )

    @command
    def evaluate_conditional(
        self, variables: dict[str, Any], *, tenant_id: str = "", definition_key: int | None = None
    ) -> tuple[int, list[tuple[int, int]]]:
        """EvaluateConditional (8.9): start an instance at every root-level conditional start event whose
        condition ``variables`` make true (of ``definition_key``'s process, or of the latest version of each
        of the tenant's processes). The evaluation's key and each (definition key, instance key) started."""
        return self.conditional_events.evaluate_start_events(tenant_id, variables, definition_key)

    @command
    def broadcast_signal(self, name: str, *, variables: dict[str, Any], tenant_id: str) -> int:
        return self.event_subscriptions.broadcast_signal(name, variables=variables, tenant_id=tenant_id)

    # -- native user tasks --------------------------------------------------------------------------------
    # The API's user task operations. Each is a command: rejected at once (NotFound when there is no such
    # task, FailedPrecondition when the task is not CREATED, i.e. another operation is under way), or begun.
    # Task listeners may make an operation outlast its command: ``waiter`` is then called once it is done
    # (with None) or denied by a listener (with the FailedPrecondition Zeebe answers with), after the
    # deciding command commits. Without listeners it is called as this command commits.

    @command
    def complete_user_task(
        self, key: int, variables: dict[str, Any], *, action: str = "", waiter: Waiter | None = None
    ) -> None:
        """Complete the task (``action`` defaults to "complete"); its element completes with ``variables``."""
        self.user_task_behavior.complete(key, variables, action=action, waiter=waiter)

    @command
    def assign_user_task(
        self,
        key: int,
        assignee: str,
        *,
        action: str = "",
        allow_override: bool = True,
        waiter: Waiter | None = None,
    ) -> None:
        """Assign the task to ``assignee``; "" unassigns it. With ``allow_override=False`` (a claim) a task
        assigned to someone else is refused."""
        self.user_task_behavior.assign(key, assignee, action=action, allow_override=allow_override, waiter=waiter)

    @command
    def unassign_user_task(self, key: int, *, waiter: Waiter | None = None) -> None:
        self.user_task_behavior.assign(key, "", action="unassign", waiter=waiter)

    @command
    def update_user_task(
        self, key: int, changes: dict[str, Any], *, action: str = "", waiter: Waiter | None = None
    ) -> None:
        """Change any of candidateGroupsList, candidateUsersList, dueDate, followUpDate and priority (named as
        in USER_TASK records; dates as ISO 8601 strings)."""
        self.user_task_behavior.update(key, changes, action=action, waiter=waiter)

    def user_task(self, key: int) -> UserTask:
        """The active user task with ``key`` (its ``values``, ``state`` and ``instance``); raises NotFound."""
        return self.user_task_behavior.task(key, "find")

    def active_user_tasks(self) -> list[UserTask]:
        """Every active user task, oldest first (completed and cancelled ones are in the records)."""
        return [self.user_tasks[key] for key in sorted(self.user_tasks)]

    # -- inspection ----------------------------------------------------------------------------------

    def variables_of(self, key: int) -> dict[str, Any]:
        return self.instance_commands.variables_of(key)
