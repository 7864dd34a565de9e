"""The Celery app of the worker metrics tests: one handler that takes long enough to spread over the pool."""

from __future__ import annotations

import os
import time

from celery import Celery

from zeebe_celery import zeebe_task

app = Celery("metrics-tests", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.worker_prefetch_multiplier = 1

JOB_TYPE = "metrics-work"


@zeebe_task(JOB_TYPE, app=app)
def metrics_work(n: int = 0) -> dict[str, object]:
    time.sleep(0.3)
    return {"n": n, "pid": os.getpid()}
