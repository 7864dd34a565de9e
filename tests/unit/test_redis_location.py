"""Where the bridge's Redis is: a server's URL or a master behind Sentinel, and Redis Cluster refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from redis.sentinel import SentinelConnectionPool

from zeebe_celery import transport
from zeebe_celery.config import BridgeSettings, broker_redis, flow_control_redis, load_settings, redact_url
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.flow import InflightStore
from zeebe_celery.redis_location import RedisLocation, connect, is_redis_url
from zeebe_celery.stack.process import free_ports
from zeebe_celery.stack.redis import RedisServer
from zeebe_celery.task import zeebe_task
from zeebe_celery.worker import worker_init

SENTINELS = "sentinel://:s3cret@127.0.0.1:26379/2;sentinel://127.0.0.1:26380"


def test_sentinel_urls_are_redis_urls_and_cluster_or_amqp_ones_are_not() -> None:
    assert is_redis_url(SENTINELS)
    assert is_redis_url("rediss://h:6380/0")
    assert not is_redis_url("redis+cluster://h:7000")
    assert not is_redis_url("amqp://guest@h//")


def test_a_sentinel_url_gives_a_client_of_the_master_it_names() -> None:
    client = connect(f"{SENTINELS}?master_name=orders", socket_timeout=2)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "orders"
    assert pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs["port"] == 26379
    assert [s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels] == [26379, 26380]
    assert pool.connection_kwargs["password"] == "s3cret"
    assert pool.connection_kwargs["db"] == 2
    client.close()


def test_the_brokers_sentinel_takes_the_master_name_from_celerys_transport_options() -> None:
    app = Celery("s", broker=SENTINELS, set_as_current=False)
    app.conf.broker_transport_options = {"master_name": "orders", "sentinel_kwargs": {"password": "watch"}}
    located = broker_redis(BridgeSettings(_env_file=None), app)
    assert located is not None
    assert located.setting == "the Celery app's broker_url"
    client = located.connect()
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "orders"
    assert pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs["password"] == "watch"
    assert flow_control_redis(BridgeSettings(_env_file=None), app) == located
    client.close()


def test_a_sentinel_url_without_a_master_name_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError) as caught:
        InflightStore.from_url(RedisLocation(SENTINELS, "ZEEBE_CELERY_REDIS_URL"))
    assert "ZEEBE_CELERY_REDIS_URL" in str(caught.value)
    assert "master_name" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_redis_url_the_bridge_cannot_use_is_refused_at_load_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZEEBE_CELERY_REDIS_URL", "redis+cluster://127.0.0.1:7000")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(BridgeSettings, _env_file=None)
    assert "ZEEBE_CELERY_REDIS_URL" in str(caught.value)
    assert "Redis Cluster" in str(caught.value)


@pytest.fixture
def cluster_node() -> Iterator[RedisServer]:
    # The cluster bus port is the port + 10000 unless named, which a high free port cannot have.
    port, bus = free_ports(2)
    with RedisServer(port=port, args=["--cluster-enabled", "yes", "--cluster-port", str(bus)]) as server:
        yield server


def test_a_redis_cluster_node_is_refused_at_start_naming_the_setting(cluster_node: RedisServer) -> None:
    store = InflightStore.from_url(cluster_node.url)
    with pytest.raises(ConfigurationError) as caught:
        store.refuse_cluster("ZEEBE_CELERY_REDIS_URL")
    store.close()
    assert "ZEEBE_CELERY_REDIS_URL" in str(caught.value)
    assert "Redis Cluster" in str(caught.value)


def test_a_worker_whose_broker_is_a_redis_cluster_node_is_refused_at_boot(
    cluster_node: RedisServer, clean_env: Path
) -> None:
    app = Celery("cluster-worker", broker=cluster_node.url, set_as_current=False)

    @zeebe_task("cluster-work", app=app)
    def work() -> None:
        return None

    with pytest.raises(ConfigurationError) as caught:
        worker_init(app)
    assert "the Celery app's broker_url" in str(caught.value)
    assert "Redis Cluster" in str(caught.value)


def test_a_single_redis_is_not_refused(redis_url: str) -> None:
    store = InflightStore.from_url(redis_url)
    store.refuse_cluster("ZEEBE_CELERY_REDIS_URL")
    store.close()


def test_a_sentinel_broker_is_guarded_through_the_sentinel_transport() -> None:
    app = Celery("guarded", broker=SENTINELS, set_as_current=False)
    app.conf.broker_transport_options = {"master_name": "orders"}

    @zeebe_task("sentinel-work", app=app)
    def work() -> None:
        return None

    assert transport.install(app, BridgeSettings(_env_file=None)) is True
    assert app.conf.broker_transport == "zeebe_celery.transport:SentinelTransport"
    assert app.conf.broker_transport_options["master_name"] == "orders"
    with app.connection_for_read() as connection:
        channel_class = connection.transport.Channel
    assert issubclass(channel_class, transport.GuardedSentinelChannel)
    assert transport.QUEUES_OPTION in channel_class.from_transport_options
    assert "master_name" in channel_class.from_transport_options


def test_every_password_of_a_sentinel_url_is_masked_in_reprs_and_logs() -> None:
    url = "sentinel://:s3cret-1@h1:26379;sentinel://u:s3cret-2@h2:26379/0?master_name=m"
    assert redact_url(url) == "sentinel://:***@h1:26379;sentinel://u:***@h2:26379/0?master_name=m"
    shown = repr(BridgeSettings(redis_url=url, broker_url=url, _env_file=None))
    assert "s3cret-1" not in shown
    assert "s3cret-2" not in shown
