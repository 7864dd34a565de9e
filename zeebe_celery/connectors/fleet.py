"""Inbound connectors on the Celery fleet: activations in Redis, runs as self-rescheduling Celery tasks.

The ``_activate_inbound_connector`` job type is a ``@zeebe_task``: it stores the activation and schedules
its first run. Each run is a Celery task on the same queue (``zeebe._activate_inbound_connector``), so one
``celery worker -Q`` takes both, and inbound connectors scale on workers like any job type. A run carries
the activation's current token and takes its lease lock, so a duplicate or stale run does nothing and two
workers never run one activation at once. A worker that starts reschedules the activations whose run was
lost (a worker killed while holding it), so activations survive restarts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from typing import Any

from celery import Celery, Task, bootsteps, current_app, shared_task
from celery.signals import worker_ready

from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings
from zeebe_celery.connectors import inbound
from zeebe_celery.connectors.activations import Activation, ActivationStore
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job
from zeebe_celery.task import zeebe_task

__all__ = ["ACTIVATE_TASK", "RUN_TASK", "recover", "register_tasks", "run_activation"]

logger = logging.getLogger(__name__)

ACTIVATE_TASK = "zeebe_celery.connectors.activate_inbound_connector"
RUN_TASK = "zeebe_celery.connectors.run_inbound_activation"
# The lock outlives the loop's own timeout by this much, for the publish and the bookkeeping after it.
LEASE_MARGIN = 30.0
# A run is taken as lost once it is this many cycles overdue (a delivered run is late by milliseconds).
OVERDUE_CYCLES = 2.0

_registered: set[int | None] = set()
_resources: dict[tuple[int, int], tuple[ActivationStore, ZeebeClient, BridgeSettings]] = {}
_lock = threading.Lock()


def register_tasks(app: Celery | None) -> None:
    """Register the activation job type and the run task on ``app``, or as shared tasks; once per app.

    An app that has them already (as shared tasks) is left alone: Celery tells tasks apart by callable,
    so a second registration under the same name would be another task.
    """
    key = id(app) if app is not None else None
    if key in _registered or (app is not None and ACTIVATE_TASK in app.tasks):
        return
    _registered.add(key)

    def activate_inbound_connector(task: Any, job: Job) -> None:
        """Start the inbound connector the job names, for its correlation key; completes at once."""
        store, _, bridge = resources(task.app)
        _, activation = inbound.new_activation(job, now=store.now())
        if store.add(activation):
            logger.info("inbound activation %s started (correlation key %r)", activation.id, activation.correlation_key)
            schedule(task.app, activation, bridge, countdown=0)

    def run_inbound_activation(task: Any, activation_id: str, token: str) -> str:
        return run_activation(task.app, activation_id, token)

    options: dict[str, Any] = {
        "ignore_result": True,
        "serializer": "json",
        "name": RUN_TASK,
        "bind": True,
        "base": InboundRunTask,
    }
    if app is None:
        shared_task(**options)(run_inbound_activation)
    else:
        app.task(shared=False, **options)(run_inbound_activation)
    zeebe_task(inbound.ACTIVATE_JOB_TYPE, app=app, bind=True, name=ACTIVATE_TASK)(activate_inbound_connector)


inbound.on_define(lambda spec: register_tasks(spec.app))


def resources(app: Celery) -> tuple[ActivationStore, ZeebeClient, BridgeSettings]:
    """This process's activation store, gateway client and settings for ``app``; opened after the fork."""
    key = (os.getpid(), id(app))
    found = _resources.get(key)
    if found is None:
        with _lock:
            found = _resources.get(key)
            if found is None:
                bridge = load_settings(BridgeSettings)
                url = bridge.redis_url or bridge.broker_url or str(app.conf.broker_url or "")
                if not url.startswith(("redis://", "rediss://", "unix://")):
                    raise ConfigurationError(
                        "ZEEBE_CELERY_REDIS_URL: inbound connectors keep their activations in Redis; set it"
                    )
                found = (ActivationStore.from_url(url), ZeebeClient(load_settings(ZeebeSettings)), bridge)
                _resources[key] = found
    return found


def schedule(app: Celery, activation: Activation, bridge: BridgeSettings, *, countdown: float) -> None:
    """Send the activation's next run, carrying its current token."""
    queue = f"{bridge.queue_prefix}{inbound.ACTIVATE_JOB_TYPE}"
    app.send_task(RUN_TASK, args=(activation.id, activation.token), countdown=countdown, queue=queue)


def run_activation(app: Celery, activation_id: str, token: str) -> str:
    """One run of an activation; returns what happened: published, waiting, expired, busy, stale or gone."""
    store, client, bridge = resources(app)
    activation = store.get(activation_id)
    if activation is None:
        return "gone"
    cls = inbound.inbound_connectors().get(activation.connector)
    if cls is None:
        logger.error("inbound activation %s: no connector named %r here", activation_id, activation.connector)
        return "unknown"
    lease = store.lock(activation_id, lease=cls.connector_spec.timeout + LEASE_MARGIN)
    if lease is None:
        return "busy"
    try:
        # Read again under the lock: another run may have moved it on since.
        activation = store.get(activation_id)
        if activation is None:
            return "gone"
        if activation.token != token:
            return "stale"
        if inbound.is_too_old(cls, activation, now=store.now()):
            store.remove(activation_id)
            return "expired"
        variables = asyncio.run(inbound.run_loop(cls, activation))
        if variables is not None:
            try:
                inbound.publish(client, cls, activation, variables)
            except Exception:  # any failure to publish: the activation lives on, next cycle tries again
                logger.exception(
                    "inbound activation %s: publishing its message failed; next cycle tries again", activation_id
                )
            else:
                store.remove(activation_id)
                return "published"
        activation.token = uuid.uuid4().hex
        activation.due_at = store.now() + cls.connector_spec.cycle
        store.save(activation)
        schedule(app, activation, bridge, countdown=cls.connector_spec.cycle)
        return "waiting"
    finally:
        store.unlock(activation_id, lease)


def recover(app: Celery) -> int:
    """Reschedule the activations whose run was lost; returns how many. Safe to run on every worker."""
    if RUN_TASK not in app.tasks:
        return 0
    store, _, bridge = resources(app)
    now = store.now()
    count = 0
    for activation in store.all():
        cls = inbound.inbound_connectors().get(activation.connector)
        if cls is None or now - activation.due_at < OVERDUE_CYCLES * cls.connector_spec.cycle:
            continue
        lease = store.lock(activation.id, lease=LEASE_MARGIN)
        if lease is None:
            continue  # being run right now
        try:
            current = store.get(activation.id)
            if current is None or current.token != activation.token:
                continue
            current.token = uuid.uuid4().hex
            current.due_at = now
            store.save(current)
            schedule(app, current, bridge, countdown=0)
            count += 1
        finally:
            store.unlock(activation.id, lease)
    if count:
        logger.info("rescheduled %d inbound activation(s) whose run was lost", count)
    return count


def _recover_on_start(sender: Any = None, **_: Any) -> None:
    app = getattr(sender, "app", None) or current_app
    try:
        recover(app)
    except Exception:
        logger.exception("could not reschedule lost inbound activations")


class InboundBoot(bootsteps.Step):  # type: ignore[misc]
    """A worker boot step: reschedule lost inbound runs once the worker is ready."""

    name = "zeebe-celery-inbound"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        worker_ready.connect(_recover_on_start, weak=False, dispatch_uid="zeebe-celery-inbound-recover")
        super().__init__(parent, **kwargs)


class InboundRunTask(Task):  # type: ignore[misc]
    """The task class of the inbound run task: binding it adds :class:`InboundBoot` to the app's worker, so
    importing a connector module connects no signal outside a Celery worker."""

    @classmethod
    def on_bound(cls, app: Celery) -> None:
        app.steps["worker"].add(InboundBoot)
