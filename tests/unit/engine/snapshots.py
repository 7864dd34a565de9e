"""A canonical picture of everything a runtime holds, in memory and in its store, so that a test can say
"nothing changed" about the whole engine rather than about the few fields it thought of."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.store import instance_tree, message_row
from zeebe_celery.engine.stored import start_timer_row


def memory(runtime: Runtime) -> dict[str, Any]:
    """The runtime's state and indexes as plain values (keys, trees, counts)."""
    roots = [i for i in runtime.instances.values() if i.parent is None]
    return {
        "last_key": runtime.keys.last,
        "instances": sorted(runtime.instances),
        "trees": {root.key: instance_tree(root, runtime.waits) for root in roots},
        "jobs": {k: (j.type, j.state.value, j.retries, j.deadline, j.worker) for k, j in runtime.jobs.items()},
        # In the order the engine hands them out (a pool may hold them otherwise until it is next read).
        "activatable": {t: [job.key for job in pool.in_order()] for t, pool in runtime.activatable.items()},
        "waits": sorted(runtime.waits),
        "subscriptions": {str(k): sorted(v) for k, v in runtime.subscriptions.items()},
        "signal_waits": {str(k): sorted(v) for k, v in runtime.signal_waits.items()},
        "messages": {k: message_row(m) for k, m in runtime.messages.items()},
        "start_timers": {k: start_timer_row(t) for k, t in runtime.start_timers.items()},
        "buffered": {str(k): sorted(v) for k, v in runtime.buffered.items()},
        "message_ids": {str(k): v for k, v in runtime.message_ids.items()},
        "incidents": sorted(runtime.incidents),
        "keyed_starts": sorted(runtime.keyed_starts),
        "definitions": {k: d.running for k, d in runtime.definitions.items()},
        "latest": {str(k): [d.key for d in v] for k, v in runtime.latest.items()},
        "decisions": sorted(runtime.decisions),
        "drgs": sorted(runtime.drgs),
        "forms": {k: (f.form_id, f.version) for k, f in runtime.forms.items()},
        "max_versions": dict(runtime.max_versions),
        "message_starts": sorted(runtime.message_starts),
        "result_waiters": {k: len(v) for k, v in runtime.result_waiters.items()},
        "records": len(runtime.records.all()),
        "user_tasks": {k: (t.state, t.values, t.transition) for k, t in runtime.user_tasks.items()},
        "user_task_waiters": sorted(runtime.user_task_waiters),
        "business_ids": {str(k): v for k, v in runtime.business_ids.items()},
        "conditional_waits": sorted(runtime.conditional_waits),
    }


def disk(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store, table by table (read through a connection of its own)."""
    with sqlite3.connect(data_dir / "engine.db") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in tables}  # noqa: S608
