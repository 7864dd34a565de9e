"""Settings from the environment and .env through load_settings: Camunda's variable names and their
CAMUNDA_* aliases, SaaS derivation, TLS defaults, durations, and errors that name the variable to fix
but never echo a secret."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from zeebe_celery.config import (
    SAAS_AUTHORIZATION_SERVER_URL,
    SAAS_TOKEN_AUDIENCE,
    BridgeSettings,
    ZeebeSettings,
    load_settings,
    parse_duration,
    redact_url,
)
from zeebe_celery.errors import ConfigurationError

pytestmark = pytest.mark.usefixtures("clean_env")

SECRET = "s3cr3t-do-not-print"
OAUTH_URL = "https://auth.example.com/oauth/token"


def configuration_error(monkeypatch: pytest.MonkeyPatch, cls: type = ZeebeSettings, /, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(cls)
    return str(caught.value)


def error_lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines()[1:]]


def test_nothing_set_means_a_plaintext_gateway_on_localhost() -> None:
    settings = load_settings(ZeebeSettings)

    assert settings.gateway_address == "localhost:26500"
    assert not settings.uses_tls
    assert not settings.uses_oauth
    assert settings.request_timeout == 30.0


def test_standard_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    for name, value in {
        "ZEEBE_ADDRESS": "zeebe.internal:26500",
        "ZEEBE_CLIENT_ID": "worker",
        "ZEEBE_CLIENT_SECRET": SECRET,
        "ZEEBE_AUTHORIZATION_SERVER_URL": OAUTH_URL,
        "ZEEBE_TOKEN_AUDIENCE": "zeebe-api",
        "ZEEBE_TOKEN_SCOPE": "zeebe:all",
        "ZEEBE_CA_CERTIFICATE_PATH": str(ca),
        "ZEEBE_REQUEST_TIMEOUT": "500ms",
        "ZEEBE_KEEP_ALIVE": "2m",
    }.items():
        monkeypatch.setenv(name, value)

    settings = load_settings(ZeebeSettings)

    assert settings.gateway_address == "zeebe.internal:26500"
    assert settings.client_id == "worker"
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == SECRET
    assert (settings.oauth_url, settings.oauth_audience, settings.token_scope) == (OAUTH_URL, "zeebe-api", "zeebe:all")
    assert settings.ca_certificate_path == ca
    assert (settings.request_timeout, settings.keepalive) == (0.5, 120.0)
    assert settings.uses_tls
    assert settings.uses_oauth


def test_camunda_aliases_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CAMUNDA_ZEEBE_GRPC_ADDRESS": "zeebe.internal:26500",
        "CAMUNDA_CLIENT_ID": "worker",
        "CAMUNDA_CLIENT_SECRET": SECRET,
        "CAMUNDA_OAUTH_URL": OAUTH_URL,
        "CAMUNDA_TOKEN_AUDIENCE": "zeebe-api",
        "CAMUNDA_INSECURE_CONNECTION": "true",
    }.items():
        monkeypatch.setenv(name, value)

    settings = load_settings(ZeebeSettings)

    assert settings.gateway_address == "zeebe.internal:26500"
    assert settings.client_id == "worker"
    assert (settings.oauth_url, settings.oauth_audience) == (OAUTH_URL, "zeebe-api")
    assert not settings.uses_tls


def test_the_audience_defaults_to_the_gateway_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ZEEBE_ADDRESS": "zeebe.internal:26500",
        "ZEEBE_CLIENT_ID": "worker",
        "ZEEBE_CLIENT_SECRET": SECRET,
        "ZEEBE_AUTHORIZATION_SERVER_URL": OAUTH_URL,
    }.items():
        monkeypatch.setenv(name, value)

    assert load_settings(ZeebeSettings).oauth_audience == "zeebe.internal"


@pytest.mark.parametrize(("region", "expected_region"), [("syd-1", "syd-1"), (None, "bru-2")])
def test_saas_address_audience_and_oauth_url_derive_from_the_cluster(
    monkeypatch: pytest.MonkeyPatch, region: str | None, expected_region: str
) -> None:
    monkeypatch.setenv("CAMUNDA_CLUSTER_ID", "c0ffee")
    if region:
        monkeypatch.setenv("CAMUNDA_CLUSTER_REGION", region)
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "worker")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", SECRET)

    settings = load_settings(ZeebeSettings)

    assert settings.gateway_address == f"c0ffee.{expected_region}.zeebe.camunda.io:443"
    assert settings.oauth_audience == SAAS_TOKEN_AUDIENCE == "zeebe.camunda.io"
    assert settings.oauth_url == SAAS_AUTHORIZATION_SERVER_URL == "https://login.cloud.camunda.io/oauth/token"
    assert settings.uses_tls
    assert settings.uses_oauth


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ZEEBE_CLIENT_ID": "worker", "ZEEBE_AUTHORIZATION_SERVER_URL": OAUTH_URL}, "ZEEBE_CLIENT_SECRET"),
        ({"ZEEBE_CLIENT_SECRET": SECRET, "ZEEBE_AUTHORIZATION_SERVER_URL": OAUTH_URL}, "ZEEBE_CLIENT_ID"),
        ({"ZEEBE_CLIENT_ID": "worker", "ZEEBE_CLIENT_SECRET": SECRET}, "ZEEBE_AUTHORIZATION_SERVER_URL"),
        ({"CAMUNDA_CLUSTER_ID": "c0ffee"}, "CAMUNDA_CLUSTER_ID"),
        (
            {
                "CAMUNDA_CLUSTER_ID": "c0ffee",
                "ZEEBE_CLIENT_ID": "worker",
                "ZEEBE_CLIENT_SECRET": SECRET,
                "ZEEBE_INSECURE_CONNECTION": "true",
            },
            "ZEEBE_INSECURE_CONNECTION",
        ),
        ({"CAMUNDA_CLUSTER_REGION": "syd-1"}, "CAMUNDA_CLUSTER_ID"),
        (
            {
                "ZEEBE_CLIENT_ID": "worker",
                "ZEEBE_CLIENT_SECRET": SECRET,
                "ZEEBE_AUTHORIZATION_SERVER_URL": "ftp://auth.example.com",
            },
            "ZEEBE_AUTHORIZATION_SERVER_URL",
        ),
        ({"ZEEBE_CA_CERTIFICATE_PATH": "/nonexistent/ca.pem"}, "ZEEBE_CA_CERTIFICATE_PATH"),
    ],
    ids=[
        "id-without-secret",
        "secret-without-id",
        "id-without-oauth-url",
        "saas-without-credentials",
        "saas-insecure",
        "region-without-cluster",
        "oauth-url-not-http",
        "missing-ca-file",
    ],
)
def test_inconsistent_settings_name_the_variable_and_never_the_secret(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str
) -> None:
    message = configuration_error(monkeypatch, **env)

    assert names in message
    assert SECRET not in message


def test_a_ca_file_with_tls_turned_off_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")

    message = configuration_error(monkeypatch, ZEEBE_CA_CERTIFICATE_PATH=str(ca), ZEEBE_INSECURE_CONNECTION="true")

    assert "ZEEBE_CA_CERTIFICATE_PATH" in message
    assert "ZEEBE_INSECURE_CONNECTION" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ZEEBE_INSECURE_CONNECTION", "maybe"),
        ("CAMUNDA_INSECURE_CONNECTION", "maybe"),
        ("ZEEBE_REQUEST_TIMEOUT", "soon"),
        ("ZEEBE_CELERY_REQUEST_TIMEOUT", "soon"),
        ("ZEEBE_CELERY_MAX_MESSAGE_SIZE", "big"),
        ("ZEEBE_KEEP_ALIVE", "0"),
    ],
)
def test_a_malformed_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    message = configuration_error(monkeypatch, **{name: value})

    assert error_lines(message)[0].startswith(f"{name}: ")


def test_a_malformed_value_in_dotenv_names_the_variable_set_there(clean_env: Path) -> None:
    (clean_env / ".env").write_text("CAMUNDA_INSECURE_CONNECTION=maybe\n", encoding="utf-8")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(ZeebeSettings)

    assert error_lines(str(caught.value))[0].startswith("CAMUNDA_INSECURE_CONNECTION: ")


def test_a_malformed_override_given_by_its_variable_name_is_named_so() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(ZeebeSettings, CAMUNDA_INSECURE_CONNECTION="maybe")

    assert error_lines(str(caught.value))[0].startswith("CAMUNDA_INSECURE_CONNECTION: ")


def test_a_malformed_override_names_its_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(ZeebeSettings, request_timeout="soon", insecure_connection="maybe")

    lines = error_lines(str(caught.value))
    assert any(line.startswith("ZEEBE_REQUEST_TIMEOUT: ") and "'soon' is not a duration" in line for line in lines)
    assert any(line.startswith("ZEEBE_INSECURE_CONNECTION: ") for line in lines)


def test_every_problem_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = configuration_error(
        monkeypatch, BridgeSettings, ZEEBE_CELERY_MAX_JOBS="0", ZEEBE_CELERY_POLL_TIMEOUT="later"
    )

    lines = error_lines(message)
    assert len(lines) == 2
    assert lines[0].startswith("ZEEBE_CELERY_MAX_JOBS: ")
    assert lines[1].startswith("ZEEBE_CELERY_POLL_TIMEOUT: ")


def test_secrets_stay_out_of_repr_str_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "worker")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", OAUTH_URL)

    settings = load_settings(ZeebeSettings)

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in settings.model_dump_json()


def test_a_dotenv_file_in_the_working_directory_is_read(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "ZEEBE_ADDRESS=from-dotenv:26500\nZEEBE_REQUEST_TIMEOUT=2m\nZEEBE_CELERY_MAX_JOBS=7\n", encoding="utf-8"
    )
    monkeypatch.setenv("ZEEBE_REQUEST_TIMEOUT", "5s")

    settings = load_settings(ZeebeSettings)

    assert settings.gateway_address == "from-dotenv:26500"
    assert settings.request_timeout == 5.0  # the environment wins over .env
    assert load_settings(BridgeSettings).max_jobs == 7


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", "from-env:26500")

    assert load_settings(ZeebeSettings, address="given:1").gateway_address == "given:1"


@pytest.mark.parametrize(
    "address", ["localhost:26500", "127.0.0.1:26500", "127.8.9.1:1", "[::1]:26500", "localhost", "127.0.0.1"]
)
def test_a_loopback_address_is_plaintext_by_default(address: str) -> None:
    assert not load_settings(ZeebeSettings, address=address).uses_tls


@pytest.mark.parametrize("address", ["zeebe:26500", "10.0.0.7:26500", "gateway.example.com:443", "[2001:db8::1]:26500"])
def test_any_other_address_is_tls_by_default(address: str) -> None:
    assert load_settings(ZeebeSettings, address=address).uses_tls


def test_an_explicit_insecure_connection_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load_settings(ZeebeSettings, address="zeebe:26500", insecure_connection=True).uses_tls
    assert load_settings(ZeebeSettings, address="localhost:26500", insecure_connection=False).uses_tls
    monkeypatch.setenv("ZEEBE_INSECURE_CONNECTION", "false")
    assert load_settings(ZeebeSettings, address="localhost:26500").uses_tls


def test_a_ca_file_turns_on_tls_even_for_loopback(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")

    assert load_settings(ZeebeSettings, address="localhost:26500", ca_certificate_path=ca).uses_tls


def test_bridge_options_are_read_from_zeebe_celery_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ZEEBE_CELERY_BROKER_URL": "redis://broker:6379/0",
        "ZEEBE_CELERY_REDIS_URL": "redis://flow:6379/1",
        "ZEEBE_CELERY_QUEUE_PREFIX": "bpmn.",
        "ZEEBE_CELERY_MAX_JOBS": "64",
        "ZEEBE_CELERY_JOB_TIMEOUT": "2m",
        "ZEEBE_CELERY_RETRY_BACKOFF": "500ms",
        "ZEEBE_CELERY_POLL_TIMEOUT": "20s",
        "ZEEBE_CELERY_WORKER_NAME": "poller-1",
        "ZEEBE_CELERY_STREAM": "true",
        "ZEEBE_CELERY_TENANT_FILTER": "assigned",
        "ZEEBE_CELERY_HTTP_PORT": "9100",
        "ZEEBE_CELERY_HTTP_HOST": "10.0.0.7",
        "ZEEBE_CELERY_LOG_FORMAT": "json",
        "ZEEBE_CELERY_REPORT_BUDGET": "1h",
        "ZEEBE_CELERY_ACTIVATION_THRESHOLD": "0.5",
        "ZEEBE_CELERY_REPORT_CONCURRENCY": "16",
        "ZEEBE_CELERY_BATCH_SIZE": "32",
        "ZEEBE_CELERY_BATCH_CONCURRENCY": "8",
    }.items():
        monkeypatch.setenv(name, value)

    bridge = load_settings(BridgeSettings)

    assert bridge.model_dump() == {
        "broker_url": "redis://broker:6379/0",
        "redis_url": "redis://flow:6379/1",
        "queue_prefix": "bpmn.",
        "max_jobs": 64,
        "job_timeout": 120.0,
        "retry_backoff": 0.5,
        "poll_timeout": 20.0,
        "worker_name": "poller-1",
        "stream": True,
        "tenant_filter": "assigned",
        "http_port": 9100,
        "http_host": "10.0.0.7",
        "log_format": "json",
        "log_level": "INFO",
        "report_budget": 3600.0,
        "report_concurrency": 16,
        "batch_size": 32,
        "batch_concurrency": 8,
        "activation_threshold": 0.5,
    }


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ZEEBE_CELERY_MAX_JOBS", "0", "greater than 0"),
        ("ZEEBE_CELERY_JOB_TIMEOUT", "500ms", "at least 1s"),
        ("ZEEBE_CELERY_QUEUE_PREFIX", "  ", "must not be blank"),
        ("ZEEBE_CELERY_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("ZEEBE_CELERY_STREAM", "perhaps", "valid boolean"),
        ("ZEEBE_CELERY_HTTP_PORT", "70000", "less than or equal to 65535"),
        ("ZEEBE_CELERY_ACTIVATION_THRESHOLD", "1.5", "less than or equal to 1"),
    ],
)
def test_bad_bridge_options_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    message = configuration_error(monkeypatch, BridgeSettings, **{name: value})

    assert name in message
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("30s", 30.0),
        (" 30 s ", 30.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1.5h", 5400.0),
        ("1d", 86400.0),
        (12, 12.0),
        (0.25, 0.25),
        (timedelta(minutes=3), 180.0),
    ],
)
def test_durations_parse_to_seconds(text: str | float | timedelta, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 weeks", "is not a duration"),
        ("-1s", "is not a duration"),
        ("", "is not a duration"),
        (-1, "cannot be negative"),
        (timedelta(seconds=-1), "cannot be negative"),
    ],
)
def test_malformed_or_negative_durations_are_refused(text: str | float | timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ZEEBE_HOSTNAME": "a.example", "ZEBEE_HOSTNAME": "b.example"}, "ZEEBE_HOSTNAME and ZEBEE_HOSTNAME"),
        ({"ZEEBE_HOSTNAME": "a.example", "ZEEBE_PORT": "1", "ZEBEE_PORT": "2"}, "ZEEBE_PORT and ZEBEE_PORT"),
        (
            {
                "ZEEBE_CLIENT_ID": "x",
                "CAMUNDA_CLIENT_ID": "y",
                "CAMUNDA_CLIENT_SECRET": SECRET,
                "CAMUNDA_CLUSTER_ID": "c",
            },
            "ZEEBE_CLIENT_ID and CAMUNDA_CLIENT_ID",
        ),
        (
            {"ZEEBE_CLIENT_SECRET": SECRET, "CAMUNDA_CLIENT_SECRET": "an0ther-s3cr3t", "ZEEBE_CLIENT_ID": "x"},
            "ZEEBE_CLIENT_SECRET",
        ),
    ],
)
def test_two_spellings_of_one_setting_with_different_values_are_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str
) -> None:
    message = configuration_error(monkeypatch, **env)

    assert names in message
    assert "different values" in message
    assert SECRET not in message
    assert "an0ther-s3cr3t" not in message


def test_two_spellings_of_one_setting_with_the_same_value_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_HOSTNAME", "gw.example")
    monkeypatch.setenv("ZEBEE_HOSTNAME", "gw.example")

    assert load_settings(ZeebeSettings).gateway_address == "gw.example:26500"


def test_camunda_cloud_with_an_explicit_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = configuration_error(
        monkeypatch,
        CAMUNDA_CONNECTION_TYPE="CAMUNDA_CLOUD",
        CAMUNDA_CLUSTER_ID="c",
        CAMUNDA_CLIENT_ID="y",
        CAMUNDA_CLIENT_SECRET=SECRET,
        ZEEBE_ADDRESS="elsewhere:1",
    )

    assert "ZEEBE_ADDRESS" in message
    assert "CAMUNDA_CONNECTION_TYPE=CAMUNDA_CLOUD" in message


def test_a_hostname_with_a_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = configuration_error(monkeypatch, ZEBEE_HOSTNAME="h:1234")

    assert "ZEBEE_HOSTNAME must be a host name without a port" in message


def test_a_missing_secret_is_named_in_the_spelling_of_the_client_id_the_user_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = configuration_error(monkeypatch, CAMUNDA_CLUSTER_ID="c", CAMUNDA_CLIENT_ID="y")

    assert "CAMUNDA_CLIENT_SECRET is required when CAMUNDA_CLIENT_ID is set" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
        (
            "rediss://user:hunter2@redis:6380/1?ssl_cert_reqs=required",
            "rediss://user:***@redis:6380/1?ssl_cert_reqs=required",
        ),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
        ("redis://:hunter2@[::1", "<a URL that cannot be read>"),
    ],
)
def test_redact_url_masks_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_bridge_settings_repr_and_str_mask_the_redis_passwords(clean_env: Path) -> None:
    bridge = BridgeSettings(broker_url="redis://:hunter2@broker:6379/0", redis_url="redis://:hunter2@flow:6379/1")
    for text in (repr(bridge), str(bridge)):
        assert "hunter2" not in text
        assert "redis://:***@broker:6379/0" in text
    assert bridge.broker_url == "redis://:hunter2@broker:6379/0"
