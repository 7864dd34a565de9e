"""Element processors: one per BPMN element kind, as Zeebe's engine has one ``BpmnElementProcessor`` each.

:data:`PROCESSORS` is the table the interpreter dispatches on, and the source of the README's coverage
table; a new element kind is one processor here plus its parse rule in :mod:`zeebe_celery.engine.bpmn`.
"""

from __future__ import annotations

from zeebe_celery.engine.model import Element, EventType, Kind
from zeebe_celery.engine.processors.adhoc import AdHocSubProcess, InnerInstance
from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, evaluate, feel_type, json_value
from zeebe_celery.engine.processors.calls import CallActivity
from zeebe_celery.engine.processors.containers import Container, EventSubProcess
from zeebe_celery.engine.processors.events import CatchEvent, EndEvent
from zeebe_celery.engine.processors.gateways import EventBasedGateway, ExclusiveGateway, InclusiveGateway
from zeebe_celery.engine.processors.links import LinkThrow
from zeebe_celery.engine.processors.multi import MultiInstanceBody
from zeebe_celery.engine.processors.signals import SignalThrow
from zeebe_celery.engine.processors.tasks import BusinessRuleTask, JobWorkerTask, ScriptTask
from zeebe_celery.engine.processors.throws import IntermediateThrowEvent
from zeebe_celery.engine.processors.usertasks import NativeUserTask

__all__ = [
    "EVENT_PROCESSORS",
    "PROCESSORS",
    "Context",
    "Processor",
    "StepFailed",
    "evaluate",
    "feel_type",
    "json_value",
    "processor_for",
]

_PASS_THROUGH = Processor()
_JOB_WORKER = JobWorkerTask()

PROCESSORS: dict[Kind, Processor] = {
    Kind.PROCESS: Container(),
    Kind.SUB_PROCESS: Container(),
    Kind.CALL_ACTIVITY: CallActivity(),
    Kind.MULTI_INSTANCE_BODY: MultiInstanceBody(),
    Kind.EVENT_SUB_PROCESS: EventSubProcess(),
    Kind.AD_HOC_SUB_PROCESS: AdHocSubProcess(),
    Kind.AD_HOC_SUB_PROCESS_INNER_INSTANCE: InnerInstance(),
    Kind.START_EVENT: _PASS_THROUGH,
    Kind.INTERMEDIATE_THROW_EVENT: IntermediateThrowEvent(),
    Kind.BOUNDARY_EVENT: _PASS_THROUGH,
    Kind.END_EVENT: EndEvent(),
    Kind.INTERMEDIATE_CATCH_EVENT: CatchEvent(),
    Kind.RECEIVE_TASK: CatchEvent(),
    Kind.MANUAL_TASK: _PASS_THROUGH,
    Kind.TASK: _PASS_THROUGH,
    Kind.SERVICE_TASK: _JOB_WORKER,
    Kind.SEND_TASK: _JOB_WORKER,
    # A job-based user task has a job definition (and goes to the job worker below).
    Kind.USER_TASK: NativeUserTask(),
    Kind.SCRIPT_TASK: ScriptTask(),
    Kind.BUSINESS_RULE_TASK: BusinessRuleTask(),
    Kind.EXCLUSIVE_GATEWAY: ExclusiveGateway(),
    Kind.PARALLEL_GATEWAY: _PASS_THROUGH,
    Kind.INCLUSIVE_GATEWAY: InclusiveGateway(),
    Kind.EVENT_BASED_GATEWAY: EventBasedGateway(),
}
# Events whose behaviour is their event definition's rather than their kind's; consulted first. (A
# message throw or end event has a zeebe:taskDefinition, so a job worker does it.)
EVENT_PROCESSORS: dict[tuple[Kind, EventType], Processor] = {
    (Kind.INTERMEDIATE_THROW_EVENT, EventType.SIGNAL): SignalThrow(),
    (Kind.END_EVENT, EventType.SIGNAL): SignalThrow(),
    (Kind.INTERMEDIATE_THROW_EVENT, EventType.LINK): LinkThrow(),
    (Kind.INTERMEDIATE_CATCH_EVENT, EventType.LINK): _PASS_THROUGH,
}


def processor_for(element: Element) -> Processor:
    """The processor of ``element``'s kind (or event definition), kept on the element after the first call."""
    processor: Processor | None = element.processor
    if processor is None:
        processor = element.processor = _find_processor(element)
    return processor


def _find_processor(element: Element) -> Processor:
    # A task with a zeebe:taskDefinition is done by a job worker, whatever its kind (an ad-hoc sub-process
    # with one asks its worker what to do).
    if element.task is not None and element.kind is not Kind.AD_HOC_SUB_PROCESS:
        return _JOB_WORKER
    if element.event_type is not EventType.NONE:
        by_event = EVENT_PROCESSORS.get((element.kind, element.event_type))
        if by_event is not None:
            return by_event
    return PROCESSORS[element.kind]
