"""The Celery app of the secured-stack tests: a broker with a password (and TLS), OAuth to the gateway.

Its broker comes from ZEEBE_CELERY_BROKER_URL, as a deployment's would.
"""

from __future__ import annotations

import os

from celery import Celery

from zeebe_celery import BpmnError, zeebe_task

app = Celery("secured", broker=os.environ["ZEEBE_CELERY_BROKER_URL"])
app.conf.worker_prefetch_multiplier = 1


@zeebe_task("secured-sum", app=app)
def secured_sum(a: int, b: int) -> dict[str, object]:
    return {"sum": a + b}


@zeebe_task("secured-refuse", app=app)
def secured_refuse(a: int) -> dict[str, object]:
    if a % 2:
        raise BpmnError("ODD", f"{a} is odd")
    raise RuntimeError(f"{a} is even, and this handler fails on even numbers")
