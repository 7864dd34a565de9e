"""The Celery app the connector tests run on real prefork workers: the seed's examples, as written, with
only their import line changed (``python_camunda_sdk`` -> ``zeebe_celery``; the seed's loguru logger is the
standard one), plus a few connectors for the result conventions.

Connectors are registered on this app (``app = app`` in ConnectorConfig), so importing the module in the
test process does not add their job types to the suite's other apps.
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any, Literal

import redis
from celery import Celery
from pydantic import BaseModel, Field

from zeebe_celery import BpmnError, InboundConnector, OutboundConnector, RunConfig, outbound_connector

logger = logging.getLogger(__name__)

app = Celery("connector-tests", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.worker_prefetch_multiplier = 1
celery_app = app

_redis = redis.Redis.from_url(os.environ.get("ZEEBE_CELERY_REDIS_URL", "redis://127.0.0.1:6379/0"))


# -- seed 001, "Defining an outbound connector" ------------------------------------------------------


class StatusModel(BaseModel):
    status: Literal["ok", "error"]


class LogConnector(OutboundConnector):
    message: str = Field(description="Message to log")

    async def run(self, config) -> StatusModel:  # type: ignore[no-untyped-def]
        logger.info(f"LogConnector: {self.message}")  # noqa: G004 - as the seed writes it

        return StatusModel(status="ok")

    class ConnectorConfig:
        name = "LogConnector"
        type = "log"
        app = celery_app


@outbound_connector(name="DecoratedLogConnector", type="decorated-log", app=app)
class DecoratedLogConnector:
    message: str = Field(description="Message to log")

    async def run(self, config) -> StatusModel:  # type: ignore[no-untyped-def]
        logger.info(f"LogConnector: {self.message}")  # noqa: G004

        return StatusModel(status="ok")


# -- seed 001, "Defining an inbound connector" (a short cycle, and a count in Redis for the tests) ----


class RandomInbound(InboundConnector):
    async def loop(self) -> dict[str, Any] | None:
        # The first run has no message yet, so every test also sees a rescheduled run.
        if _redis.incr("test:random_inbound:runs") < 2:
            return None
        _redis.incr("test:random_inbound:messages")
        return {"random_number": random.randint(1, 100)}

    class ConnectorConfig:
        name = "random_inbound"
        cycle = 1
        app = celery_app


# -- the result conventions ------------------------------------------------------------------------


class Adder(OutboundConnector):
    """Adds two numbers (sync run, simple result)."""

    a: int
    b: int = 0

    def run(self, config: RunConfig) -> int:
        return self.a + self.b

    class ConnectorConfig:
        name = "Adder"
        type = "adder"
        timeout = 20
        app = celery_app


class Refuser(OutboundConnector):
    item: str

    def run(self, config: RunConfig) -> None:
        raise BpmnError("NO_STOCK", f"no {self.item} left")

    class ConnectorConfig:
        name = "Refuser"
        type = "refuser"
        app = celery_app


class Liar(OutboundConnector):
    def run(self, config: RunConfig) -> int:
        return "not a number"  # type: ignore[return-value]

    class ConnectorConfig:
        name = "Liar"
        type = "liar"
        app = celery_app


JOB_TYPES = ("log", "decorated-log", "adder", "refuser", "liar", "_activate_inbound_connector")
