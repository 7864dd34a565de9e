"""The example shop: five Zeebe job types of the order process, handled on Celery.

Run it against a local stack (``zeebe-celery dev up`` prints the environment to export)::

    celery -A examples.app worker -Q zeebe.validate-order,zeebe.charge-card,zeebe.reserve-stock,\
zeebe.ship-order,zeebe.notify-customer
    zeebe-celery poller -A examples.app
    zeebe-celery deploy examples/order_process.bpmn
    zeebe-celery create-instance order-fulfilment --variables '{"order": {"order_id": "A-1", "amount": 42}}'

``zeebe-celery dev demo`` does all of this, runs a few hundred orders and prints a summary.
"""

from __future__ import annotations

import os

from celery import Celery
from pydantic import BaseModel, Field

from zeebe_celery import BpmnError, Job, zeebe_task

app = Celery("shop", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
# Fair dispatch: a worker process takes the next job only when it is free.
app.conf.worker_prefetch_multiplier = 1
# Zeebe, not the broker, redelivers a job whose worker died (after the job's timeout), so kombu's ack
# emulation on Redis (an unacked hash, restored after an hour, long past any job deadline) only costs time.
app.conf.broker_transport_options = {"ack_emulation": False}
# The production topologies of docker-compose.yml's profiles: on Redis behind Sentinel the broker URL lists the
# Sentinels and the master's name goes with the transport options; on RabbitMQ the zeebe.<type> queues are
# declared classic or quorum.
if os.environ.get("SHOP_SENTINEL_MASTER"):
    app.conf.broker_transport_options["master_name"] = os.environ["SHOP_SENTINEL_MASTER"]
if os.environ.get("SHOP_QUEUE_TYPE"):
    app.conf.task_create_missing_queue_type = os.environ["SHOP_QUEUE_TYPE"]

# A card is declined above this amount: the BPMN error path of the process.
CARD_LIMIT = 900.0


class Order(BaseModel):
    """The ``order`` process variable. A handler that declares it gets it validated; bad input is an
    incident that names the field, not a retry storm."""

    order_id: str
    amount: float = Field(gt=0)
    items: int = 1


@zeebe_task("validate-order", timeout="30s")
def validate_order(order: Order) -> dict[str, object]:
    return {"validated": True, "total_cents": round(order.amount * 100)}


@zeebe_task("charge-card", timeout="30s", retry_backoff="1s")
def charge_card(order: Order, job: Job) -> dict[str, object]:
    # A BpmnError is not a failure: the process catches it with a boundary event and takes another path.
    if order.amount > CARD_LIMIT:
        raise BpmnError("CARD_DECLINED", f"{order.amount} is over the limit", variables={"declined": True})
    return {"charged": True, "currency": job.custom_headers.get("currency", "EUR")}


class OutOfStockForNowError(Exception):
    """The warehouse answered 'try again': Zeebe retries the job after the task's retry_backoff."""


@zeebe_task("reserve-stock", timeout="30s", retry_backoff="1s")
def reserve_stock(order: Order, job: Job) -> dict[str, object]:
    # Every fifth order meets a busy warehouse on its first attempt (3 retries in the BPMN): the handler
    # raises, the job is failed with retries - 1, and the next attempt succeeds.
    if order.order_id.endswith(("0", "5")) and job.retries == 3:
        raise OutOfStockForNowError(f"warehouse busy for {order.order_id}, try again")
    return {"reserved": True, "stock_attempts": 4 - job.retries}


@zeebe_task("ship-order", timeout="30s")
async def ship_order(order: Order) -> dict[str, object]:
    # Handlers may be coroutines; each worker process runs them on its own event loop.
    return {"shipped": True, "tracking": f"TRK-{order.order_id}"}


@zeebe_task("notify-customer", timeout="30s")
def notify_customer(order: Order) -> dict[str, object]:
    # Reached only on the CARD_DECLINED path.
    return {"notified": True, "declined": True}
