"""What a worker's boot does to the app: on Redis, a message is taken only when a process is free."""

from __future__ import annotations

from celery import Celery

from zeebe_celery.config import BridgeSettings
from zeebe_celery.worker import fetch_only_when_free


def test_on_redis_the_worker_takes_a_message_only_when_a_process_is_free() -> None:
    app = Celery("boot-redis", broker="redis://127.0.0.1:6379/0", set_as_current=False)
    # What `celery worker` writes into the app's settings before the worker is built.
    app.conf.worker_disable_prefetch = False

    fetch_only_when_free(app, BridgeSettings(broker_url="redis://127.0.0.1:6379/0", _env_file=None))

    assert app.conf.worker_disable_prefetch is True


def test_on_another_broker_prefetching_is_left_as_the_app_has_it() -> None:
    app = Celery("boot-amqp", broker="amqp://guest@127.0.0.1//", set_as_current=False)

    fetch_only_when_free(app, BridgeSettings(broker_url="amqp://guest@127.0.0.1//", _env_file=None))

    assert app.conf.worker_disable_prefetch is False
