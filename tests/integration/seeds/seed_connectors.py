# The connector classes of seed 001 (the Python Camunda SDK's guide), as written, with only the import lines
# changed: python_camunda_sdk -> zeebe_celery, and loguru's logger -> the standard library's. Defining them
# registers them on the current Celery app, as the seed's SDK registers them with its runtime.
import asyncio
import logging
import random
from typing import Literal

from pydantic import BaseModel, Field

from zeebe_celery import InboundConnector, OutboundConnector

logger = logging.getLogger("seed")


class StatusModel(BaseModel):
    status: Literal["ok", "error"]


class LogConnector(OutboundConnector):
    message: str = Field(description="Message to log")

    async def run(self, config) -> StatusModel:
        logger.info(f"LogConnector: {self.message}")  # noqa: G004 - as the seed writes it

        return StatusModel(status="ok")

    class ConnectorConfig:
        name = "LogConnector"
        type = "log"


class RandomInbound(InboundConnector):
    async def loop(self):
        print("Random inbound in 2s")
        await asyncio.sleep(2)
        return {"random_number": random.randint(1, 100)}

    class ConnectorConfig:
        name = "random_inbound"
        cycle = 10
