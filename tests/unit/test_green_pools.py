"""A worker on a green pool (gevent, eventlet) refuses async handlers, which one shared thread cannot run at
once, and runs sync ones; other pools take both."""

from __future__ import annotations

import pytest
from celery import Celery
from celery.concurrency import get_implementation

from zeebe_celery.errors import ConfigurationError
from zeebe_celery.green import refuse_async_on_green_pool
from zeebe_celery.task import zeebe_task


@pytest.fixture
def app() -> Celery:
    return Celery("green-pools", set_as_current=False)


def with_async_handler(app: Celery) -> Celery:
    @zeebe_task("green-async", app=app)
    async def ship() -> None:
        return None

    @zeebe_task("green-sync", app=app)
    def pack() -> None:
        return None

    return app


@pytest.mark.parametrize("pool", ["gevent", "eventlet"])
def test_a_green_pool_refuses_async_handlers_naming_them(app: Celery, pool: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"the {pool} pool cannot run async handlers.*ship"):
        refuse_async_on_green_pool(with_async_handler(app), pool)


def test_the_pool_class_celery_hands_the_boot_step_is_recognised(app: Celery) -> None:
    with pytest.raises(ConfigurationError, match="gevent pool"):
        refuse_async_on_green_pool(with_async_handler(app), get_implementation("gevent"))


@pytest.mark.parametrize("pool", ["prefork", "threads", "solo", None])
def test_other_pools_take_async_handlers(app: Celery, pool: str | None) -> None:
    refuse_async_on_green_pool(with_async_handler(app), get_implementation(pool) if pool else None)


def test_a_green_pool_takes_sync_handlers(app: Celery) -> None:
    @zeebe_task("green-only-sync", app=app)
    def pack() -> None:
        return None

    refuse_async_on_green_pool(app, "gevent")
