"""Parses the Zeebe subset of BPMN 2.0 into the executable model, and refuses what the engine cannot run.

A refusal names the resource, the element and its id, as Zeebe's deployment rejections do, so a user can
find the element in the Modeler. Nothing is run wrongly: an element kind, event definition or extension the
engine does not implement is a deploy-time error. The rules are grouped by what they read: the document
walk (:mod:`.walk`), events, tasks and extension elements.
"""

from zeebe_celery.engine.bpmn.document import BpmnError
from zeebe_celery.engine.bpmn.tasks import USER_TASK_JOB_TYPE
from zeebe_celery.engine.bpmn.walk import parse_bpmn

__all__ = ["USER_TASK_JOB_TYPE", "BpmnError", "parse_bpmn"]
