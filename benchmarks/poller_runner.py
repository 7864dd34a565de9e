"""The zeebe-celery poller as its own process, for when the ``zeebe-celery poller`` command is missing.

It builds what the command builds: settings from the environment (``ZEEBE_ADDRESS``,
``ZEEBE_CELERY_*``), a ZeebeClient, the shared in-flight store, and runs the Poller until SIGTERM.

    python -m benchmarks.poller_runner APP_MODULE
"""

from __future__ import annotations

import argparse
import importlib
import logging

from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", help="module:attribute of the Celery app (attribute defaults to app)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute or "app")
    bridge = load_settings(BridgeSettings)
    redis_url = bridge.redis_url or bridge.broker_url or str(app.conf.broker_url)
    with ZeebeClient(load_settings(ZeebeSettings)) as client:
        Poller(app, client=client, bridge=bridge, inflight=InflightStore.from_url(redis_url)).run()


if __name__ == "__main__":
    main()
