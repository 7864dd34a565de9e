"""Event appliers: the only code that changes the engine's state.

Each method here is one record Zeebe would export (an element activating, a job failing, a timer
triggered...): it writes that record and applies it to the state through the command's transaction, which
journals every change, so a command that raises is rolled back whole. Processing (the interpreter, jobs,
waits, deployments) decides what happens and calls these; it never assigns to the state itself.
"""

from __future__ import annotations

from zeebe_celery.engine.appliers.elements import ElementAppliers
from zeebe_celery.engine.appliers.jobs import JobAppliers
from zeebe_celery.engine.appliers.labels import LabelAppliers
from zeebe_celery.engine.appliers.resources import ResourceAppliers
from zeebe_celery.engine.appliers.starts import StartAppliers
from zeebe_celery.engine.appliers.usertasks import UserTaskAppliers
from zeebe_celery.engine.appliers.waits import WaitAppliers

__all__ = ["Appliers"]


class Appliers(
    ElementAppliers, JobAppliers, WaitAppliers, ResourceAppliers, UserTaskAppliers, LabelAppliers, StartAppliers
):
    """Every applier, over the one shared state."""
