"""The Celery broker as the bridge reads it: amqps:// (TLS, verified) is RabbitMQ too, and a list of broker
URLs (Celery's failover form) is refused at start, naming the setting; Sentinel's list of Sentinels is not."""

from __future__ import annotations

import ssl
import sys
import types
from pathlib import Path

import pytest
from celery import Celery
from kombu.transport import pyamqp

from zeebe_celery import transport
from zeebe_celery.broker import broker_scheme, check_broker, is_amqp_url
from zeebe_celery.cli import ExitCode, main
from zeebe_celery.config import BridgeSettings, broker_url
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.task import zeebe_task
from zeebe_celery.transport_amqp import GuardedConnection
from zeebe_celery.worker import worker_init

FLOW_REDIS = "redis://127.0.0.1:6379/3"


def app_on(broker: str | list[str]) -> Celery:
    app = Celery("brokers", broker=broker, set_as_current=False)
    app.conf.accept_content = ["json"]

    @zeebe_task("broker-work", app=app)
    def work() -> None:
        return None

    return app


def bridge(**settings: str) -> BridgeSettings:
    return BridgeSettings(_env_file=None, **settings)  # type: ignore[arg-type]


def test_amqp_urls_with_and_without_tls_are_amqp_and_redis_ones_are_not() -> None:
    for url in ("amqp://guest@h//", "amqps://guest@h:5671//", "pyamqp://h//", "amqp://a//;amqp://b//"):
        assert is_amqp_url(url), url
    for url in ("redis://h/0", "rediss://h/0", "sentinel://h:26379", "", "h:5672"):
        assert not is_amqp_url(url), url
    assert broker_scheme("amqps://h//;amqps://g//") == "amqps"


def test_an_amqps_broker_is_guarded_through_the_tls_transport() -> None:
    app = app_on("amqps://guest:guest@rabbit.example:5671//")

    assert transport.install(app, bridge(redis_url=FLOW_REDIS)) is True

    assert app.conf.broker_transport == transport.AMQP_SSL_TRANSPORT
    assert app.conf.broker_transport_options[transport.DEAD_LETTER_URL_OPTION] == FLOW_REDIS
    with app.connection_for_read() as connection:
        used = connection.transport
        assert isinstance(used, pyamqp.SSLTransport)
        assert used.Connection is GuardedConnection
        assert connection.ssl  # TLS on although broker_use_ssl is unset
        assert (connection.hostname, connection.port) == ("rabbit.example", 5671)


def test_a_bare_amqps_broker_verifies_the_certificate_and_the_host_name() -> None:
    app = app_on("amqps://guest:guest@rabbit.example:5671//")

    assert check_broker(bridge(), app) == "amqps://guest:guest@rabbit.example:5671//"

    assert app.conf.broker_use_ssl == {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}


def test_the_apps_own_broker_use_ssl_is_kept() -> None:
    app = app_on("amqps://rabbit.example//")
    own = {"ca_certs": "/etc/ca.pem", "cert_reqs": ssl.CERT_REQUIRED}
    app.conf.broker_use_ssl = own

    check_broker(bridge(), app)

    assert app.conf.broker_use_ssl == own


def test_an_amqp_url_with_broker_use_ssl_is_taken_as_it_is() -> None:
    app = app_on("amqp://rabbit.example:5671//")
    app.conf.broker_use_ssl = {"cert_reqs": ssl.CERT_NONE}

    check_broker(bridge(), app)
    assert transport.install(app, bridge(redis_url=FLOW_REDIS)) is True

    assert app.conf.broker_transport == transport.AMQP_TRANSPORT
    assert app.conf.broker_use_ssl == {"cert_reqs": ssl.CERT_NONE}


@pytest.mark.parametrize(
    "broker",
    ["amqp://a:5672//;amqp://b:5672//", ["amqps://a//", "amqps://b//"]],
    ids=["semicolons", "list"],
)
def test_a_list_of_rabbitmq_urls_is_refused_naming_the_apps_setting(broker: str | list[str]) -> None:
    app = app_on(broker)

    with pytest.raises(ConfigurationError) as caught:
        check_broker(bridge(), app)

    message = str(caught.value)
    assert message.startswith("the Celery app's broker_url: a list of 2 broker URLs (Celery's failover form)")
    assert "load balancer" in message


def test_a_list_in_the_bridges_setting_is_refused_naming_it() -> None:
    app = app_on("amqp://one//")

    with pytest.raises(ConfigurationError, match=r"^ZEEBE_CELERY_BROKER_URL: a list of 3 broker URLs"):
        check_broker(bridge(broker_url="amqp://a//;amqp://b//;amqp://c//"), app)


def test_a_list_of_redis_urls_is_refused_pointing_to_sentinel() -> None:
    app = app_on("redis://a:6379/0;redis://b:6379/0")

    with pytest.raises(ConfigurationError, match="sentinel://h1:26379;sentinel://h2:26379"):
        check_broker(bridge(), app)


def test_sentinels_listed_in_one_url_are_one_broker() -> None:
    sentinels = "sentinel://127.0.0.1:26379;sentinel://127.0.0.1:26380"
    app = app_on(sentinels)

    assert check_broker(bridge(), app) == sentinels
    assert broker_url(bridge(), app_on(["amqp://a//"])) == "amqp://a//"


def test_a_worker_on_a_list_of_brokers_is_refused_at_boot(clean_env: Path) -> None:
    app = app_on(["amqp://a//", "amqp://b//"])

    with pytest.raises(ConfigurationError, match="the Celery app's broker_url: a list of 2 broker URLs"):
        worker_init(app)


def test_the_poller_on_a_list_of_brokers_stops_at_start_naming_the_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = types.ModuleType("failover_app")
    module.app = app_on("amqp://a//;amqp://b//")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "failover_app", module)
    monkeypatch.setenv("ZEEBE_CELERY_REDIS_URL", FLOW_REDIS)

    code = main(["poller", "-A", "failover_app:app"])

    assert code == ExitCode.CONFIG
    assert "the Celery app's broker_url: a list of 2 broker URLs" in capsys.readouterr().err
