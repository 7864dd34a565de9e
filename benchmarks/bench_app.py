"""The Celery app the zeebe-celery contender runs: a no-op handler and a 50 ms one, and Celery's floor (a no-op
Celery task with no Zeebe).

The job types come from the environment (``BENCH_NOOP_TYPE``, ``BENCH_SLEEP_TYPE``, ``BENCH_ASYNC_WAIT_TYPE``
for an async handler awaiting 50 ms); a handler whose
variable is unset is not registered, so the poller polls exactly the type of the run at hand.
Settings are those examples/app.py recommends (prefetch 1, no kombu ack emulation);
``BENCH_ACK_EMULATION=on`` restores kombu's default, as a what-if of ``benchmarks.profile_bridge``.
"""

from __future__ import annotations

import asyncio
import os
import time

from celery import Celery

from zeebe_celery import zeebe_task

app = Celery("bench", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
# Fair dispatch, as the example app recommends: a worker process takes a job only when it is free.
app.conf.worker_prefetch_multiplier = 1
app.conf.task_serializer = "json"
app.conf.accept_content = ["json"]
if os.environ.get("BENCH_ACK_EMULATION") != "on":
    # As examples/app.py recommends: kombu's Redis transport then skips its unacked bookkeeping (a MULTI
    # on receive and on ack); a job lost with its worker comes back from Zeebe after its timeout instead.
    app.conf.broker_transport_options = {"ack_emulation": False}

if os.environ.get("BENCH_QUEUE_TYPE"):
    # On RabbitMQ (benchmarks.brokers): the zeebe.<type> queues are declared classic or quorum.
    app.conf.task_create_missing_queue_type = os.environ["BENCH_QUEUE_TYPE"]

SLEEP_SECONDS = 0.05


def noop() -> None:
    return None


def nap() -> None:
    time.sleep(SLEEP_SECONDS)


@app.task(name="bench.floor", ignore_result=True)
def floor() -> None:
    """Celery's floor: a no-op task with no Zeebe (benchmarks.celery_floor)."""
    return None


if os.environ.get("BENCH_NOOP_TYPE"):
    # BENCH_BATCH: the batched contender's jobs per message.
    noop_task = zeebe_task(os.environ["BENCH_NOOP_TYPE"], app=app, batch=int(os.environ.get("BENCH_BATCH", "1")))(noop)


async def wait() -> None:
    await asyncio.sleep(SLEEP_SECONDS)  # an async handler waiting on I/O


if os.environ.get("BENCH_ASYNC_WAIT_TYPE"):
    wait_task = zeebe_task(os.environ["BENCH_ASYNC_WAIT_TYPE"], app=app, batch=int(os.environ.get("BENCH_BATCH", "1")))(
        wait
    )
if os.environ.get("BENCH_SLEEP_TYPE"):
    nap_task = zeebe_task(os.environ["BENCH_SLEEP_TYPE"], app=app)(nap)
