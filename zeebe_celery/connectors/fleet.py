"""Inbound connectors on the Celery fleet: activations in Redis, runs as self-rescheduling Celery tasks.

The ``_activate_inbound_connector`` job type is a ``@zeebe_task``: it stores the activation and schedules
its first run. Each run is a Celery task on the same queue (``zeebe._activate_inbound_connector``), so one
``celery worker -Q`` takes both, and inbound connectors scale on workers like any job type. A run carries
the activation's current token and takes its lease lock, so a duplicate or stale run does nothing and two
workers never run one activation at once. A worker that starts reschedules the activations whose run was
lost (a worker killed while holding it, or a run that could not be sent) and starts a chain of sweeps that
does so every ``SWEEP_INTERVAL`` seconds, so activations survive restarts and broker hiccups.
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

from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, flow_control_redis
from zeebe_celery.connectors import inbound
from zeebe_celery.connectors.activations import Activation, ActivationStore
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job
from zeebe_celery.task import zeebe_task

__all__ = [
    "ACTIVATE_TASK",
    "RUN_TASK",
    "SWEEP_TASK",
    "recover",
    "register_tasks",
    "revive",
    "run_activation",
    "start_sweeps",
    "sweep",
]

logger = logging.getLogger(__name__)

ACTIVATE_TASK = "zeebe_celery.connectors.activate_inbound_connector"
RUN_TASK = "zeebe_celery.connectors.run_inbound_activation"
SWEEP_TASK = "zeebe_celery.connectors.sweep_inbound_activations"
# The lock outlives the loop's own timeout by this much, for the publish and the bookkeeping after it.
LEASE_MARGIN = 30.0
# A run is taken as lost once it is this many cycles overdue (a delivered run is late by milliseconds).
OVERDUE_CYCLES = 2.0
# Seconds between sweeps for lost runs (a run whose message was never sent, or died with its worker).
SWEEP_INTERVAL = 15.0

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
        elif revive(task.app, activation.id, due_only=True):
            # The job ran before and stored the activation, but its first run may never have been sent.
            logger.info("inbound activation %s was due with no run in progress: scheduled it again", activation.id)

    def run_inbound_activation(task: Any, activation_id: str, token: str) -> str:
        return run_activation(task.app, activation_id, token)

    def sweep_inbound_activations(task: Any, token: str) -> str:
        return sweep(task.app, token)

    options: dict[str, Any] = {"ignore_result": True, "serializer": "json", "bind": True, "base": InboundRunTask}
    for name, run in ((RUN_TASK, run_inbound_activation), (SWEEP_TASK, sweep_inbound_activations)):
        if app is None:
            shared_task(name=name, **options)(run)
        else:
            app.task(shared=False, name=name, **options)(run)
    zeebe_task(inbound.ACTIVATE_JOB_TYPE, app=app, bind=True, name=ACTIVATE_TASK)(activate_inbound_connector)


inbound.on_define(lambda spec: register_tasks(spec.app))


def resources(app: Celery) -> tuple[ActivationStore, ZeebeClient, BridgeSettings]:
    """This process's activation store, gateway client and settings for ``app``; opened after the fork.

    The settings are the worker's (:func:`zeebe_celery.worker.worker_settings`). Raises ConfigurationError
    when neither ZEEBE_CELERY_REDIS_URL nor the Celery broker is a Redis.
    """
    key = (os.getpid(), id(app))
    found = _resources.get(key)
    if found is None:
        with _lock:
            found = _resources.get(key)
            if found is None:
                # The worker's settings: those given to worker.configure(app, ...), else the environment's.
                settings = worker.worker_settings(app)
                bridge = settings.bridge
                location = flow_control_redis(bridge, app)
                if location is None:
                    raise ConfigurationError(
                        "ZEEBE_CELERY_REDIS_URL: inbound connectors keep their activations in Redis; set it"
                    )
                found = (ActivationStore.from_url(location), ZeebeClient(settings.zeebe), bridge)
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
        if activation.token == token:
            # The activation's current run arrived while another holds the lock (a sweep or activation job
            # rescheduling it): try again in a cycle rather than drop the one message that carries the token.
            schedule(app, activation, bridge, countdown=cls.connector_spec.cycle)
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


def revive(app: Celery, activation_id: str, *, token: str | None = None, due_only: bool = False) -> bool:
    """Give the activation a new token and send a run carrying it now, superseding any run already sent;
    whether it did. It does nothing while a run holds the activation, when its token is no longer ``token``,
    or (``due_only``) when its next run is not due yet."""
    store, _, bridge = resources(app)
    lease = store.lock(activation_id, lease=LEASE_MARGIN)
    if lease is None:
        return False  # being run right now; that run reschedules it
    try:
        current = store.get(activation_id)
        if current is None or (token is not None and current.token != token):
            return False
        now = store.now()
        if due_only and current.due_at > now:
            return False
        current.token = uuid.uuid4().hex
        current.due_at = now
        store.save(current)
        schedule(app, current, bridge, countdown=0)
        return True
    finally:
        store.unlock(activation_id, lease)


def recover(app: Celery) -> int:
    """Reschedule the activations whose run was lost; returns how many. Safe to run on every worker."""
    if RUN_TASK not in app.tasks:
        return 0
    store, _, _ = resources(app)
    now = store.now()
    count = 0
    for activation in store.all():
        cls = inbound.inbound_connectors().get(activation.connector)
        if cls is None or now - activation.due_at < OVERDUE_CYCLES * cls.connector_spec.cycle:
            continue
        if revive(app, activation.id, token=activation.token):
            count += 1
    if count:
        logger.info("rescheduled %d inbound activation(s) whose run was lost", count)
    return count


def start_sweeps(app: Celery) -> str:
    """Start the one chain of sweeps for lost runs (superseding any other); returns its token."""
    store, _, bridge = resources(app)
    token = uuid.uuid4().hex
    store.claim_sweeps(token)
    _send_sweep(app, bridge, token)
    return token


def sweep(app: Celery, token: str) -> str:
    """One sweep of the chain ``token``: :func:`recover`, then the next sweep; "stale" for a superseded chain."""
    store, _, bridge = resources(app)
    if store.sweeps_token() != token:
        return "stale"
    try:
        recover(app)
    except Exception:  # a sweep that fails (Redis down, say) must not end the chain
        logger.exception("could not sweep for lost inbound activations; the next sweep tries again")
    _send_sweep(app, bridge, token)
    return "swept"


def _send_sweep(app: Celery, bridge: BridgeSettings, token: str) -> None:
    queue = f"{bridge.queue_prefix}{inbound.ACTIVATE_JOB_TYPE}"
    app.send_task(SWEEP_TASK, args=(token,), countdown=SWEEP_INTERVAL, queue=queue)


def _recover_on_start(sender: Any = None, **_: Any) -> None:
    app = getattr(sender, "app", None) or current_app
    if RUN_TASK not in app.tasks:
        return
    try:
        recover(app)
        start_sweeps(app)
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
