"""What the web UI's tests and screenshots look at: an engine with an inspection port running the demo's order
process (examples/order_process.bpmn) and an expense approval with a native user task and a Camunda form.

``ShopWorker`` plays the demo's Celery workers in-process (examples/app.py's rules, without Celery): an
order whose amount is not above 0 fails validation with no retries left (an incident, as the bridge fails
input that cannot validate), an order above the card limit is declined by a BPMN error, the rest are
shipped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.errors import EngineError
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import DEFAULT_TENANT

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ORDER_PROCESS = ROOT / "examples" / "order_process.bpmn"
RESOURCES = [ORDER_PROCESS, HERE / "approval.bpmn", HERE / "expense-review.form"]
CARD_LIMIT = 900.0
JOB_TYPES = ("validate-order", "charge-card", "reserve-stock", "ship-order", "notify-customer")


def deploy(runtime: Runtime) -> dict[str, int]:
    """Deploy the processes and the form; the definition key of each process id."""
    with runtime.lock:
        deployment = runtime.deploy([(path.name, path.read_bytes()) for path in RESOURCES])
    return {d.bpmn_process_id: d.key for d in deployment.processes}


def start_order(runtime: Runtime, order_id: str, amount: float) -> int:
    """An order instance, with its payment message already published (as the demo does)."""
    with runtime.lock:
        runtime.publish_message(
            "payment-settled",
            correlation_key=order_id,
            ttl=600_000,
            message_id=order_id,
            variables={},
            tenant_id=DEFAULT_TENANT,
        )
        definition = runtime.find_definition(process_id="order-fulfilment")
        return runtime.create_instance(definition, {"order": {"order_id": order_id, "amount": amount}}).key


def start_approval(runtime: Runtime, variables: dict[str, Any] | None = None) -> int:
    with runtime.lock:
        definition = runtime.find_definition(process_id="expense-approval")
        return runtime.create_instance(definition, dict(variables or {})).key


class ShopWorker:
    """The demo's five job types, worked in a thread of the test's process."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shop-worker", daemon=True)

    def __enter__(self) -> ShopWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for job_type in JOB_TYPES:
                try:
                    self._work(job_type)
                except EngineError:
                    continue  # the job went away meanwhile (a test cancelled its instance)

    def _work(self, job_type: str) -> None:
        runtime = self.runtime
        with runtime.lock:
            activated = runtime.activate_jobs(job_type, worker="shop", timeout=30_000, max_jobs=10, fetch=["order"])
        for job, variables_json in activated:
            order = _order(variables_json)
            amount = order.get("amount")
            with runtime.lock:
                if job_type == "validate-order" and not (isinstance(amount, int | float) and amount > 0):
                    runtime.fail_job(
                        job.key,
                        retries=0,
                        error_message="order.amount: Input should be greater than 0",
                        backoff=0,
                        variables={},
                    )
                elif job_type == "charge-card" and isinstance(amount, int | float) and amount > CARD_LIMIT:
                    runtime.throw_job_error(
                        job.key,
                        code="CARD_DECLINED",
                        message=f"{amount} is over the limit",
                        variables={"declined": True},
                    )
                else:
                    runtime.complete_job(job.key, _result(job_type, order))


def _order(variables_json: str) -> dict[str, Any]:
    order = json.loads(variables_json).get("order")
    return order if isinstance(order, dict) else {}


def _result(job_type: str, order: dict[str, Any]) -> dict[str, Any]:
    return {
        "validate-order": {"validated": True},
        "charge-card": {"charged": True},
        "reserve-stock": {"reserved": True},
        "ship-order": {"shipped": True, "tracking": f"TRK-{order.get('order_id')}"},
        "notify-customer": {"notified": True},
    }[job_type]


@contextmanager
def shop_engine(**options: Any) -> Iterator[tuple[ZeebeEngine, dict[str, int]]]:
    """An engine with an inspection port (the web UI), the processes deployed and the shop's jobs worked."""
    with ZeebeEngine(monitoring_port=0, **options) as engine, ShopWorker(engine.runtime):
        yield engine, deploy(engine.runtime)
