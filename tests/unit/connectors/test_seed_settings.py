"""The Python Camunda SDK's connection variables are accepted as aliases; contradictions name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from zeebe_celery.config import ZeebeSettings, load_settings
from zeebe_celery.errors import ConfigurationError


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ZeebeSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(ZeebeSettings)


@pytest.mark.parametrize(("host", "port"), [("ZEEBE_HOSTNAME", "ZEEBE_PORT"), ("ZEBEE_HOSTNAME", "ZEBEE_PORT")])
def test_insecure_connection_dials_the_seeds_host_and_port_in_plaintext(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, port: str
) -> None:
    found = settings(monkeypatch, CAMUNDA_CONNECTION_TYPE="INSECURE", **{host: "zeebe.internal", port: "26600"})

    assert found.gateway_address == "zeebe.internal:26600"
    assert found.uses_tls is False


def test_the_seeds_variables_are_read_from_a_dotenv_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("CAMUNDA_CONNECTION_TYPE=INSECURE\nZEBEE_HOSTNAME=10.0.0.7\nZEBEE_PORT=26501\n")

    found = load_settings(ZeebeSettings)

    assert (found.gateway_address, found.uses_tls) == ("10.0.0.7:26501", False)


def test_camunda_cloud_derives_the_saas_address_from_the_cluster_id(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = settings(
        monkeypatch,
        CAMUNDA_CONNECTION_TYPE="CAMUNDA_CLOUD",
        CAMUNDA_CLUSTER_ID="abc-123",
        CAMUNDA_CLIENT_ID="me",
        CAMUNDA_CLIENT_SECRET="s3cret",
    )

    assert found.gateway_address == "abc-123.bru-2.zeebe.camunda.io:443"
    assert (found.uses_tls, found.uses_oauth, found.client_id) == (True, True, "me")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CAMUNDA_CONNECTION_TYPE": "CAMUNDA_CLOUD"}, "CAMUNDA_CLUSTER_ID is required"),
        (
            {"CAMUNDA_CONNECTION_TYPE": "CAMUNDA_CLOUD", "CAMUNDA_CLUSTER_ID": "abc"},
            "CAMUNDA_CLIENT_ID and CAMUNDA_CLIENT_SECRET are required",
        ),
        ({"CAMUNDA_CONNECTION_TYPE": "INSECURE"}, "ZEEBE_HOSTNAME is required"),
        ({"CAMUNDA_CONNECTION_TYPE": "INSECURE", "CAMUNDA_CLUSTER_ID": "abc"}, "CAMUNDA_CLUSTER_ID is set"),
        (
            {"CAMUNDA_CONNECTION_TYPE": "INSECURE", "ZEBEE_HOSTNAME": "h", "ZEEBE_INSECURE_CONNECTION": "false"},
            "ZEEBE_INSECURE_CONNECTION=false contradicts",
        ),
        ({"ZEBEE_PORT": "26500"}, "ZEBEE_PORT is set but ZEEBE_HOSTNAME is not"),
        (
            {"ZEBEE_HOSTNAME": "a", "ZEEBE_ADDRESS": "b:26500"},
            "ZEBEE_HOSTNAME/ZEEBE_PORT (a:26500) contradicts ZEEBE_ADDRESS",
        ),
        ({"CAMUNDA_CONNECTION_TYPE": "ON_PREM"}, "CAMUNDA_CONNECTION_TYPE"),
    ],
)
def test_contradictory_seed_variables_fail_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        settings(monkeypatch, **env)


def test_the_secret_never_appears_in_the_error(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(monkeypatch, CAMUNDA_CONNECTION_TYPE="CAMUNDA_CLOUD", CAMUNDA_CLIENT_SECRET="hunter2-secret")

    assert "hunter2-secret" not in str(caught.value)
