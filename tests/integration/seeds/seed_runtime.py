# The examples of seed 001 (the Python Camunda SDK's guide), as written, with only the import lines changed:
# python_camunda_sdk -> zeebe_celery, and loguru's logger -> the standard library's.
import asyncio
import logging
import random
from typing import Literal

from pydantic import BaseModel, Field

from zeebe_celery import CamundaRuntime, InboundConnector, OutboundConnector

logging.basicConfig(level=logging.INFO)
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


RandomConnector = LogConnector  # the seed's last example names its outbound connector so

runtime = CamundaRuntime(outbound_connectors=[RandomConnector], inbound_connector=[RandomInbound])

if __name__ == "__main__":
    runtime.start()
