"""docker-compose.yml's production topologies, one profile each (README, "Production topologies"): checked
offline, as no Docker engine runs here. Each profile's poller and workers must read, through the bridge's own
settings and the example app, the broker and the Redis the profile starts."""

from __future__ import annotations

import importlib.util
import re
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from celery import Celery

from tests.unit.test_deploy import (
    COMPOSE_FILE,
    ROOT,
    active_services,
    celery_queues,
    container_environment,
    interpolate,
    load_compose_file,
    settings_from,
)
from zeebe_celery.broker import check_broker, is_amqp_url
from zeebe_celery.config import BridgeSettings, broker_redis, flow_control_redis
from zeebe_celery.env_names import env_names

PROFILES = {
    "rabbitmq": {"rabbitmq", "poller-rabbitmq", "worker-rabbitmq"},
    "sentinel": {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3", "poller-sentinel", "worker-sentinel"},
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    model: dict[str, Any] = interpolate(load_compose_file(COMPOSE_FILE), {})
    return model


def example_app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Celery:
    """examples/app.py as a container of the profile imports it (a fresh module, so a fresh app)."""
    settings_from(env, monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(f"compose_app_{uuid.uuid4().hex}", ROOT / "examples" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.app
    assert isinstance(app, Celery)
    return app


def test_each_profile_adds_its_services_and_leaves_the_default_stack_alone(compose: dict[str, Any]) -> None:
    default = set(active_services(compose))
    assert default == {"zeebe", "redis", "poller", "worker", "flower"}
    for profile, services in PROFILES.items():
        assert set(active_services(compose, profile)) - default == services, profile
        for name in services:
            assert compose["services"][name]["profiles"] == [profile], name


def test_a_profiles_poller_and_workers_are_the_default_ones_on_another_broker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for profile in PROFILES:
        poller, worker = services[f"poller-{profile}"], services[f"worker-{profile}"]
        assert poller["environment"] == worker["environment"], profile
        for key in ("image", "command", "healthcheck", "stop_grace_period"):
            assert poller[key] == services["poller"][key], (profile, key)
            assert worker[key] == services["worker"][key], (profile, key)
        # Its own host port for /healthz, so that it runs beside the default poller.
        host_ports = {
            port.rsplit(":", 2)[1] for s in active_services(compose, profile).values() for port in s.get("ports", [])
        }
        assert len(host_ports) == sum(len(s.get("ports", [])) for s in active_services(compose, profile).values())
        prefix = worker["environment"]["ZEEBE_CELERY_QUEUE_PREFIX"]
        assert all(queue.startswith(prefix) for queue in celery_queues(worker["command"]))


def test_every_bridge_variable_of_a_profile_is_a_setting_the_bridge_reads(compose: dict[str, Any]) -> None:
    known = {name.upper() for field in BridgeSettings.model_fields for name in env_names(BridgeSettings, field)}
    for profile in PROFILES:
        env = compose["services"][f"poller-{profile}"]["environment"]
        unknown = {name for name in env if name.startswith("ZEEBE_CELERY_") and name not in known}
        assert unknown == set(), profile
        assert env["CELERY_BROKER_URL"] == env["ZEEBE_CELERY_BROKER_URL"], profile


def test_the_rabbitmq_profile_publishes_to_its_rabbitmq_with_flow_control_in_redis(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    env = container_environment(services["poller-rabbitmq"], {})
    app = example_app(env, monkeypatch)
    _, bridge = settings_from(env, monkeypatch)

    url = check_broker(bridge, app)
    assert is_amqp_url(url)
    parts = urlsplit(url)
    rabbitmq = services["rabbitmq"]["environment"]
    assert parts.hostname == "rabbitmq"
    assert (parts.port, parts.username, unquote(parts.password or "")) == (
        5672,
        rabbitmq["RABBITMQ_DEFAULT_USER"],
        rabbitmq["RABBITMQ_DEFAULT_PASS"],
    )
    assert parts.path.lstrip("/") == rabbitmq["RABBITMQ_DEFAULT_VHOST"]
    assert broker_redis(bridge, app) is None
    flow = flow_control_redis(bridge, app)
    assert flow is not None
    assert urlsplit(flow.url).hostname == "redis"
    assert app.conf.task_create_missing_queue_type == "quorum"
    for name in ("poller-rabbitmq", "worker-rabbitmq"):
        assert set(services[name]["depends_on"]) == {"zeebe", "redis", "rabbitmq"}, name


def test_the_sentinel_profile_finds_the_master_its_sentinels_watch(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    env = container_environment(services["poller-sentinel"], {})
    app = example_app(env, monkeypatch)
    _, bridge = settings_from(env, monkeypatch)

    url = check_broker(bridge, app)
    location = broker_redis(bridge, app)
    assert location is not None
    assert location.is_sentinel
    assert flow_control_redis(bridge, app) == location  # flow control and dead letters on the same master
    sentinels = {urlsplit(part).hostname: urlsplit(part).port for part in url.split(";")}
    assert sentinels == {"sentinel-1": 26379, "sentinel-2": 26379, "sentinel-3": 26379}
    for name in sentinels:
        script = services[name]["command"][0]
        monitor = re.search(r"sentinel monitor (\S+) (\S+) (\d+) (\d+)", script)
        assert monitor is not None, name
        master, host, port, quorum = monitor.groups()
        assert master == location.options["master_name"] == app.conf.broker_transport_options["master_name"]
        assert (host, int(port)) == ("redis", 6379)
        assert int(quorum) == len(sentinels) // 2 + 1
        assert "port 26379" in script
        assert master in " ".join(services[name]["healthcheck"]["test"])
    assert services["redis-replica"]["command"][1:4] == ["--replicaof", "redis", "6379"]
    for name in ("poller-sentinel", "worker-sentinel"):
        assert set(services[name]["depends_on"]) == {"zeebe", *sentinels}, name


def test_the_readme_and_the_compose_file_name_the_profiles_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    header = COMPOSE_FILE.read_text(encoding="utf-8")
    for profile in PROFILES:
        command = f"docker compose --profile {profile} up --build -d poller-{profile} worker-{profile}"
        assert command in readme, profile
        assert command in header, profile
