"""A Celery app of a user's own that imports the seed's connector classes: `celery -A seed_fleet_app worker`
and `zeebe-celery poller -A seed_fleet_app` run them with no extra code."""

import os

from celery import Celery

app = Celery("seed-fleet", broker=os.environ["ZEEBE_CELERY_BROKER_URL"])
app.conf.broker_transport_options = {"ack_emulation": False}

import seed_connectors  # noqa: E402, F401 -- the connectors register on the app that is current
