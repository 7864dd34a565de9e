"""SQLite persistence: with a data directory, the engine's state survives a restart.

Each command's changes are committed before the command is answered: the definitions (as their
resources, parsed again on load), each changed process instance as one JSON tree with its jobs, waits and
incidents, the buffered messages, and the last key handed out. Loading rebuilds the runtime's indexes and
puts every deadline, back-off, timer and TTL back on the clock, so activated jobs keep their deadlines,
due timers fire and buffered messages still correlate.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from zeebe_celery.engine import dmn
from zeebe_celery.engine.bpmn import parse_bpmn
from zeebe_celery.engine.core import DeployedDecision, DeployedDrg, RuntimeBase
from zeebe_celery.engine.rows import instance_tree, message_row
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    ElementState,
    Incident,
    Job,
    JobPool,
    JobState,
    Message,
    Wait,
    WaitKind,
)
from zeebe_celery.engine.stored import load_form, load_start_timer, start_timer_row
from zeebe_celery.engine.transaction import Transaction
from zeebe_celery.engine.usertask_rows import user_task_from_row

__all__ = ["Store", "instance_tree", "message_row"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS definitions (key INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL,
                                        resource BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS instances (key INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (key INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS start_timers (key INTEGER PRIMARY KEY, data TEXT NOT NULL);
"""


class Store:
    """The engine's state in ``<data_dir>/engine.db`` (SQLite, WAL)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "engine.db"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed command survives the engine being killed (not a power cut).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- writing -------------------------------------------------------------------------------------

    def commit(self, runtime: RuntimeBase, tx: Transaction) -> None:
        """Write one command's changes in one SQLite transaction (all or nothing)."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_key', ?)", (str(runtime.keys.last),))
            if tx.definitions:
                self._write_definitions(runtime)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('versions', ?)", (json.dumps(runtime.max_versions),))
            for key in tx.roots:
                root = runtime.instances.get(key)
                if root is None:
                    db.execute("DELETE FROM instances WHERE key = ?", (key,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO instances VALUES (?, ?)",
                        (key, json.dumps(instance_tree(root, runtime.waits))),
                    )
            if tx.start_timers:
                db.execute("DELETE FROM start_timers")
                db.executemany(
                    "INSERT INTO start_timers VALUES (?, ?)",
                    [(t.key, json.dumps(start_timer_row(t))) for t in runtime.start_timers.values()],
                )
            for key in tx.messages:
                message = runtime.messages.get(key)
                if message is None:
                    db.execute("DELETE FROM messages WHERE key = ?", (key,))
                else:
                    db.execute("INSERT OR REPLACE INTO messages VALUES (?, ?)", (key, json.dumps(message_row(message))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _write_definitions(self, runtime: RuntimeBase) -> None:
        db = self._db
        db.execute("DELETE FROM definitions")
        for d in runtime.definitions.values():
            data = {
                "id": d.bpmn_process_id,
                "version": d.version,
                "name": d.resource_name,
                "checksum": d.checksum,
                "tenant": d.tenant_id,
                "deployment": d.deployment_key,
            }
            db.execute("INSERT INTO definitions VALUES (?, 'process', ?, ?)", (d.key, json.dumps(data), d.resource))
        for r in runtime.drgs.values():
            decisions = [
                {"key": e.key, "id": e.decision_id, "name": e.name, "version": e.version}
                for e in runtime.decisions.values()
                if e.drg is r
            ]
            data = {
                "version": r.version,
                "name": r.resource_name,
                "checksum": r.checksum,
                "tenant": r.tenant_id,
                "decisions": decisions,
            }
            db.execute("INSERT INTO definitions VALUES (?, 'drg', ?, ?)", (r.key, json.dumps(data), r.resource))
        for f in runtime.forms.values():
            data = {
                "id": f.form_id,
                "version": f.version,
                "name": f.resource_name,
                "checksum": f.checksum,
                "tenant": f.tenant_id,
                "deployment": f.deployment_key,
            }
            db.execute("INSERT INTO definitions VALUES (?, 'form', ?, ?)", (f.key, json.dumps(data), f.resource))

    # -- loading -------------------------------------------------------------------------------------

    def load(self, runtime: Runtime) -> None:
        """Rebuild ``runtime`` from the database (a new database leaves it empty)."""
        with runtime.recovering():
            self._load(runtime)

    def _load(self, runtime: Runtime) -> None:
        db = self._db
        row = db.execute("SELECT value FROM meta WHERE name = 'last_key'").fetchone()
        if row is not None:
            runtime.keys.last = runtime.committed_key = int(row[0])
        row = db.execute("SELECT value FROM meta WHERE name = 'versions'").fetchone()
        if row is not None:
            runtime.max_versions.update(json.loads(row[0]))
        rows = db.execute("SELECT key, kind, data, resource FROM definitions ORDER BY key").fetchall()
        for key, kind, data, resource in rows:
            fields = json.loads(data)
            if kind == "process":
                _load_process(runtime, key, fields, resource)
            elif kind == "form":
                load_form(runtime, key, fields, resource)
            else:
                _load_drg(runtime, key, fields, resource)
        callers: dict[int, int] = {}
        for (data,) in db.execute("SELECT data FROM instances ORDER BY key").fetchall():
            tree = json.loads(data)
            _Loader(runtime).instance(tree)
            if tree.get("caller") is not None:
                callers[tree["key"]] = tree["caller"]
        # A called process instance and the call activity that waits for it, linked once both are loaded.
        for key, caller_key in callers.items():
            child, caller = runtime.instances[key], runtime.instances[caller_key]
            child.caller, caller.called = caller, child
        for (data,) in db.execute("SELECT data FROM messages ORDER BY key").fetchall():
            _load_message(runtime, json.loads(data))
        for (data,) in db.execute("SELECT data FROM start_timers ORDER BY key").fetchall():
            load_start_timer(runtime, json.loads(data))


def _load_process(runtime: Runtime, key: int, fields: dict[str, Any], resource: bytes) -> None:
    process = next(p for p in parse_bpmn(resource, resource_name=fields["name"]) if p.id == fields["id"])
    runtime.deployments.add_definition(
        record=False,
        definition=Definition(
            key=key,
            bpmn_process_id=fields["id"],
            version=fields["version"],
            resource_name=fields["name"],
            checksum=fields["checksum"],
            tenant_id=fields["tenant"],
            process=process,
            resource=resource,
            deployment_key=fields["deployment"],
        ),
    )


def _load_drg(runtime: Runtime, key: int, fields: dict[str, Any], resource: bytes) -> None:
    drg = dmn.parse_dmn(resource, resource_name=fields["name"])
    deployed = DeployedDrg(
        key=key,
        drg=drg,
        version=fields["version"],
        resource_name=fields["name"],
        checksum=fields["checksum"],
        resource=resource,
        tenant_id=fields["tenant"],
    )
    runtime.drg_created(deployed)
    for d in fields["decisions"]:
        runtime.decision_created(
            DeployedDecision(
                key=d["key"],
                decision_id=d["id"],
                name=d["name"],
                version=d["version"],
                drg=deployed,
                tenant_id=fields["tenant"],
            )
        )


def _load_message(runtime: Runtime, data: dict[str, Any]) -> None:
    message = Message(
        key=data["key"],
        name=data["name"],
        correlation_key=data["correlation_key"],
        expires=data["expires"],
        message_id=data["message_id"],
        variables=data["variables"],
        tenant_id=data["tenant"],
        correlated=set(data["correlated"]),
    )
    runtime.messages[message.key] = message
    runtime.buffered.setdefault((message.tenant_id, message.name, message.correlation_key), {})[message.key] = message
    if message.message_id:
        runtime.message_ids[(message.tenant_id, message.name, message.message_id)] = message.key
    runtime.schedule(message.expires, "message_ttl", message.key)


class _Loader:
    """Rebuilds one process instance tree and registers what it holds with the runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def instance(self, data: dict[str, Any], parent: ElementInstance | None = None) -> ElementInstance:
        runtime = self.runtime
        definition = runtime.definitions[data["definition"]]
        process = definition.process
        if parent is None:
            element = process.root
        elif parent.element.inner is not None and parent.element.inner.id == data["element"]:
            element = parent.element.inner  # an inner instance of a multi-instance body (the body has its id)
        else:
            element = process.elements[data["element"]]
        instance = ElementInstance(
            key=data["key"],
            element=element,
            parent=parent,
            definition=definition,
            state=ElementState(data["state"]),
            variables=data["variables"],
            joins={k: Counter(v) for k, v in data["joins"].items()},
            process_instance_key=parent.process_instance_key if parent is not None else data["key"],
        )
        instance.start_at = tuple(data.get("start_at", ()))
        instance.listener_index = data.get("listener_index", 0)
        instance.listener_variables = data.get("listener_variables")
        instance.fulfilled = data.get("fulfilled", False)
        instance.compensable = list(data.get("compensable", ()))
        instance.compensating = data.get("compensating", 0)
        runtime.instances[instance.key] = instance
        if parent is None:
            definition.running += 1
            instance.start_key = data.get("start_key")
            if instance.start_key is not None:
                runtime.keyed_starts.add((definition.tenant_id, definition.bpmn_process_id, instance.start_key))
        else:
            parent.children[instance.key] = instance
        for child in data["children"]:
            self.instance(child, instance)
        instance.tags = tuple(data.get("tags", ()))
        instance.business_id = data.get("business_id", "")
        instance.terminate_after = tuple(data.get("terminate_after", ()))
        if parent is None and instance.business_id:
            runtime.business_ids[(definition.tenant_id, definition.bpmn_process_id, instance.business_id)] = (
                instance.key
            )
        if data.get("user_task") is not None:
            task = user_task_from_row(instance, data["user_task"])
            instance.user_task = runtime.user_tasks[task.key] = task
        if data["job"] is not None:
            self._job(instance, data["job"])
        for wait in data["waits"]:
            self._wait(instance, wait)
        if data["incident"] is not None:
            self._incident(instance, data["incident"])
        return instance

    def _job(self, instance: ElementInstance, data: dict[str, Any]) -> None:
        runtime = self.runtime
        job = Job(
            key=data["key"],
            type=data["type"],
            instance=instance,
            retries=data["retries"],
            custom_headers=data["headers"],
            state=JobState(data["state"]),
            deadline=data["deadline"],
            worker=data["worker"],
            backoff_until=data["backoff_until"],
            retry_backoff=data["retry_backoff"],
            error_message=data["error_message"],
            error_code=data["error_code"],
            kind=data.get("kind", "BPMN_ELEMENT"),
            listener_event_type=data.get("listener_event_type", "UNSPECIFIED"),
        )
        instance.job = job
        runtime.jobs[job.key] = job
        if job.state is JobState.ACTIVATABLE:
            runtime.activatable.setdefault(job.type, JobPool())[job.key] = job
        elif job.state is JobState.ACTIVATED:
            runtime.schedule(job.deadline, "job_timeout", job.key)
        elif job.state is JobState.BACKOFF:
            runtime.schedule(job.backoff_until, "job_backoff", job.key)

    def _wait(self, instance: ElementInstance, data: dict[str, Any]) -> None:
        runtime = self.runtime
        wait = Wait(
            key=data["key"],
            kind=WaitKind(data["kind"]),
            instance=instance,
            element=(
                instance.element
                if data["element"] == instance.element.id
                else instance.definition.process.elements.get(data["element"], instance.element)
            ),
            name=data["name"],
            correlation_key=data["correlation_key"],
            due=data["due"],
            repetitions=data["repetitions"],
            interval_ms=data["interval"],
            cycle=data.get("cycle", ""),
        )
        runtime.waits[wait.key] = wait
        instance.waits.append(wait.key)
        tenant = instance.tenant_id
        if wait.kind is WaitKind.MESSAGE:
            runtime.subscriptions.setdefault((tenant, wait.name, wait.correlation_key), {})[wait.key] = wait
        elif wait.kind is WaitKind.SIGNAL:
            runtime.signal_waits.setdefault((tenant, wait.name), {})[wait.key] = wait
        elif wait.kind is WaitKind.CONDITION:
            runtime.conditional_waits[wait.key] = wait
        else:
            runtime.schedule(wait.due, "timer", wait.key)

    def _incident(self, instance: ElementInstance, data: dict[str, Any]) -> None:
        job = self.runtime.jobs.get(data["job"]) if data["job"] is not None else None
        incident = Incident(
            key=data["key"],
            error_type=data["type"],
            error_message=data["message"],
            instance=instance,
            job=job,
            retry=data["retry"],
            retry_variables=data["variables"],
        )
        instance.incident = incident
        self.runtime.incidents[incident.key] = incident
