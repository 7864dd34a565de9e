"""The Celery app of the chaos scenarios: one handler that works a little and writes down every run.

The job type is ``CHAOS_TYPE``; the handler sleeps ``CHAOS_WORK`` seconds. Each run appends one line to a
file of its process under ``CHAOS_JOURNAL`` (a directory): job key, the instance's ``n``, pid, start and end
(epoch seconds) and the job's deadline. The journal lives outside Redis and outside the engine, so it
survives whatever a scenario does to them. A run writes a line when it starts (``S key n pid start
deadline``) and one when it ends (``E key n pid start end deadline``): a run whose process was killed has
the first only. Once the task is over (its report sent and its flow-control slot freed), a third line says
so (``R key deadline_ms pid at``). Settings are the ones examples/app.py recommends.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun

from zeebe_celery import Job, zeebe_task

app = Celery("chaos", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.worker_prefetch_multiplier = 1
app.conf.task_serializer = "json"
app.conf.accept_content = ["json"]
app.conf.broker_transport_options = {"ack_emulation": False}

JOB_TYPE = os.environ.get("CHAOS_TYPE", "chaos")
WORK = float(os.environ.get("CHAOS_WORK", "0.02"))
JOURNAL = Path(os.environ.get("CHAOS_JOURNAL", "."))


def _write(line: str) -> None:
    # One write of a short line to a file opened for appending: whole, whatever happens to the process.
    descriptor = os.open(JOURNAL / f"runs-{os.getpid()}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


@zeebe_task(JOB_TYPE, app=app)
def work(job: Job, n: int = -1) -> dict[str, object]:
    started = time.time()
    _write(f"S {job.key} {n} {os.getpid()} {started:.4f} {job.deadline / 1000:.3f}\n")
    time.sleep(WORK)
    ended = time.time()
    _write(f"E {job.key} {n} {os.getpid()} {started:.4f} {ended:.4f} {job.deadline / 1000:.3f}\n")
    return {"done": n}


@task_postrun.connect
def _task_over(args: tuple[object, ...] | None = None, **_: object) -> None:
    job = args[0] if args else None
    if isinstance(job, dict) and isinstance(job.get("key"), int) and isinstance(job.get("deadline"), int):
        _write(f"R {job['key']} {job['deadline']} {os.getpid()} {time.time():.4f}\n")
