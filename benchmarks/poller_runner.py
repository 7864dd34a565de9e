"""The zeebe-celery poller as its own process, for when the ``zeebe-celery poller`` command is missing.

It builds what the command builds: settings from the environment (``ZEEBE_ADDRESS``,
``ZEEBE_CELERY_*``), a ZeebeClient, the shared in-flight store, and runs the Poller until SIGTERM.
``--min-free N`` is a what-if for ``benchmarks.profile_bridge``: the poller activates only once N slots
are free, instead of on every freed slot.

    python -m benchmarks.poller_runner APP_MODULE [--min-free N]
"""

from __future__ import annotations

import argparse
import importlib
import logging

from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings
from zeebe_celery.flow import InflightStore, Reservation
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller


class ThresholdStore(InflightStore):
    """An in-flight store that reports "full" until at least ``min_free`` slots are free."""

    min_free = 1

    def reserve(self, job_type: str, *, want: int, bound: int, hold: float) -> Reservation | None:
        if self.min_free > 1 and bound - self.in_flight(job_type) < min(self.min_free, bound):
            return None
        return super().reserve(job_type, want=want, bound=bound, hold=hold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", help="module:attribute of the Celery app (attribute defaults to app)")
    parser.add_argument("--min-free", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute or "app")
    bridge = load_settings(BridgeSettings)
    redis_url = bridge.redis_url or bridge.broker_url or str(app.conf.broker_url)
    ThresholdStore.min_free = args.min_free
    with ZeebeClient(load_settings(ZeebeSettings)) as client:
        Poller(app, client=client, bridge=bridge, inflight=ThresholdStore.from_url(redis_url)).run()


if __name__ == "__main__":
    main()
