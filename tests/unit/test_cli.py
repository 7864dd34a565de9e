"""The ``zeebe-celery`` command's parsing, input handling and failure mapping, without a stack.

Faults a real gateway will not produce on demand (back-pressure, an unhealthy topology) come from the
engine's fault injection; everything else about the commands is proven against the engine in
tests/integration/test_cli.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from celery import Celery

import zeebe_celery
from zeebe_celery import cli
from zeebe_celery._version import __version__
from zeebe_celery.cli import CliError, ExitCode, main
from zeebe_celery.cli import gateway as gateway_commands
from zeebe_celery.cli import options as cli_options
from zeebe_celery.config import BridgeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import (
    AlreadyExistsError,
    AuthorizationServerError,
    BackPressureError,
    ConfigurationError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayError,
    GatewayInternalError,
    GatewayUnavailableError,
    InvalidArgumentError,
    MessageTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from zeebe_celery.gateway.proto import gateway_pb2 as pb

if TYPE_CHECKING:
    from conftest import TokenServer


@pytest.fixture(autouse=True)
def isolated(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "path", list(sys.path))
    return clean_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- exit codes and parsing ------------------------------------------------------------------------


def test_exit_codes_are_the_sysexits_values() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "USAGE": 64,
        "DATAERR": 65,
        "NOINPUT": 66,
        "UNAVAILABLE": 69,
        "SOFTWARE": 70,
        "OSERR": 71,
        "CANTCREAT": 73,
        "TEMPFAIL": 75,
        "NOPERM": 77,
        "CONFIG": 78,
        "INTERRUPTED": 130,
    }


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"zeebe-celery {__version__}\n", "")


def test_help_of_every_command_describes_it_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    commands = ["poller", "worker-types", "deploy", "create-instance", "publish", "broadcast-signal", "cancel"]
    commands += ["status", "dev", "dev up", "dev down", "dev demo"]
    for command in commands:
        code, out, _ = run(capsys, *command.split(), "--help")
        assert code == ExitCode.OK
        assert out.startswith(f"usage: zeebe-celery {command}")
        description = out.split("\n\n")[1]
        assert len(description) > 30, (command, description)


def test_top_level_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--help")

    for code in ExitCode:
        if code not in (ExitCode.INTERRUPTED,):
            assert f"{int(code):<3} {code.name}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["launch"], "invalid choice: 'launch'"),
        (["dev"], "the following arguments are required: {up,down,demo}"),
        (["status", "--colour"], "unrecognized arguments: --colour"),
        (["poller"], "the following arguments are required: -A/--app"),
        (["poller", "-A", "app", "--max-jobs", "0"], "must be at least 1, got 0"),
        (["poller", "-A", "app", "--http-port", "70000"], "a port is at most 65535"),
        (["create-instance"], "the following arguments are required: ID"),
        (["create-instance", "p", "--request-timeout", "forever"], "is not a duration"),
        (["-o", "yaml", "status"], "invalid choice: 'yaml'"),
    ],
)
def test_bad_command_lines_exit_usage_with_argparse_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)

    assert code == ExitCode.USAGE
    assert out == ""
    assert err.startswith("usage: zeebe-celery")
    assert message in err
    assert "Traceback" not in err


def test_global_options_work_before_and_after_the_command() -> None:
    parser = cli.build_parser()

    before, _ = parser.parse_known_args(["--address", "a:1", "-o", "json", "status"])
    after, _ = parser.parse_known_args(["status", "--address", "b:2", "--output", "json", "--timeout", "5s"])
    neither, _ = parser.parse_known_args(["status"])

    assert (before.address, before.output, before.timeout) == ("a:1", "json", None)
    assert (after.address, after.output, after.timeout) == ("b:2", "json", 5.0)
    assert (neither.address, neither.output, neither.timeout) == (None, "text", None)


def test_poller_types_accept_commas_and_repetition() -> None:
    args, _ = cli.build_parser().parse_known_args(["poller", "-A", "m", "--types", "a, b", "--types", "c"])

    assert args.types == ["a", "b", "c"]
    assert args.stream is None


# -- variables -------------------------------------------------------------------------------------


def test_variables_are_a_json_object_inline_or_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text('{"b": [1, 2]}', encoding="utf-8")

    assert cli.read_variables('{"a": 1}') == {"a": 1}
    assert cli.read_variables(f"@{path}") == {"b": [1, 2]}
    assert cli.read_variables(None) is None


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ('{"a": }', ExitCode.DATAERR, "--variables is not valid JSON: Expecting value at line 1 column 7"),
        ("[1]", ExitCode.DATAERR, "--variables must be a JSON object, not list"),
        ("@missing.json", ExitCode.NOINPUT, "--variables: no such file: missing.json"),
    ],
)
def test_bad_variables_name_the_option_and_the_problem(value: str, code: ExitCode, message: str) -> None:
    with pytest.raises(CliError) as caught:
        cli.read_variables(value)

    assert caught.value.code == code
    assert caught.value.message == message


def test_invalid_json_in_a_variables_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n}', encoding="utf-8")

    with pytest.raises(CliError) as caught:
        cli.read_variables(f"@{path}")

    assert caught.value.code == ExitCode.DATAERR
    assert caught.value.message.startswith(f"--variables file {path} is not valid JSON")
    assert "line 3" in caught.value.message


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (GatewayUnavailableError("down", code=grpc.StatusCode.UNAVAILABLE), ExitCode.UNAVAILABLE),
        (AuthorizationServerError("cannot reach the authorization server: refused"), ExitCode.UNAVAILABLE),
        (UnauthenticatedError("refused client 'x' (HTTP 401)"), ExitCode.NOPERM),
        (PermissionDeniedError("tenant", code=grpc.StatusCode.PERMISSION_DENIED), ExitCode.NOPERM),
        (InvalidArgumentError("bad\n  bpmn", code=grpc.StatusCode.INVALID_ARGUMENT), ExitCode.DATAERR),
        (MessageTooLargeError("too large", code=grpc.StatusCode.RESOURCE_EXHAUSTED), ExitCode.DATAERR),
        (NotFoundError("no such process", code=grpc.StatusCode.NOT_FOUND), ExitCode.NOINPUT),
        (FailedPreconditionError("state", code=grpc.StatusCode.FAILED_PRECONDITION), ExitCode.DATAERR),
        (AlreadyExistsError("same id", code=grpc.StatusCode.ALREADY_EXISTS), ExitCode.DATAERR),
        (DeadlineExceededError("slow", code=grpc.StatusCode.DEADLINE_EXCEEDED), ExitCode.TEMPFAIL),
        (BackPressureError("busy", code=grpc.StatusCode.RESOURCE_EXHAUSTED), ExitCode.TEMPFAIL),
        (GatewayInternalError("oops", code=grpc.StatusCode.INTERNAL), ExitCode.SOFTWARE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, GatewayError) else "",
)
def test_gateway_errors_map_to_named_exit_codes_with_one_line(error: GatewayError, code: ExitCode) -> None:
    failure = cli.gateway_failure(error, "gw:26500")

    assert failure.code == code
    assert "\n" not in failure.message
    assert " ".join(error.details.split()) in failure.message


def test_unavailable_names_the_address_only_for_the_gateway_itself() -> None:
    gateway = cli.gateway_failure(GatewayUnavailableError("refused", code=grpc.StatusCode.UNAVAILABLE), "gw:1")
    token = cli.gateway_failure(AuthorizationServerError("cannot reach the authorization server: x"), "gw:1")

    assert gateway.message == "cannot reach the Zeebe gateway at gw:1: refused"
    assert token.message == "cannot reach the authorization server: x"


def test_a_failing_authorization_server_is_reported_as_itself_not_as_the_gateway(
    capsys: pytest.CaptureFixture[str],
    engine: ZeebeEngine,
    token_server: TokenServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_options, "CLI_RETRY_BUDGET", 0.3)
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "worker-1")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", token_server.url)
    token_server.status = 503

    code, out, err = run(capsys, "--address", engine.address, "status")

    assert code == ExitCode.UNAVAILABLE
    assert out == ""
    assert err == "zeebe-celery status: the authorization server answered HTTP 503\n"
    assert token_server.fetches >= 1
    assert engine.faults.calls("Topology") == []


def test_configuration_errors_become_one_line() -> None:
    error = ConfigurationError("invalid settings:\n  ZEEBE_A: one\n  ZEEBE_B: two")

    failure = cli.configuration_failure(error)

    assert (failure.code, failure.message) == (ExitCode.CONFIG, "invalid settings: ZEEBE_A: one; ZEEBE_B: two")


def test_back_pressure_that_outlasts_the_retry_budget_exits_tempfail(
    capsys: pytest.CaptureFixture[str], engine: ZeebeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_options, "CLI_RETRY_BUDGET", 0.3)
    engine.faults.fail("BroadcastSignal", "RESOURCE_EXHAUSTED", "too busy", times=1000)

    started = time.monotonic()
    code, out, err = run(capsys, "--address", engine.address, "broadcast-signal", "go")

    assert code == ExitCode.TEMPFAIL
    assert out == ""
    assert err == "zeebe-celery broadcast-signal: the broker is overloaded (back-pressure), try again: too busy\n"
    assert len(engine.faults.calls("BroadcastSignal")) > 1
    assert time.monotonic() - started < 5


def test_status_of_a_cluster_without_a_healthy_leader_exits_unavailable(
    capsys: pytest.CaptureFixture[str], engine: ZeebeEngine
) -> None:
    unhealthy = pb.TopologyResponse(
        brokers=[
            pb.BrokerInfo(
                nodeId=0,
                host="10.0.0.1",
                port=26501,
                version="8.5.8",
                partitions=[pb.Partition(partitionId=1, role=pb.Partition.FOLLOWER, health=pb.Partition.UNHEALTHY)],
            )
        ],
        clusterSize=1,
        partitionsCount=1,
        replicationFactor=1,
        gatewayVersion="8.5.8",
    )
    engine.faults.respond("Topology", unhealthy, times=None)

    code, out, err = run(capsys, "-o", "json", "--address", engine.address, "status")

    assert code == ExitCode.UNAVAILABLE
    document = json.loads(out)
    assert document["healthy"] is False
    assert document["brokers"][0]["partitions"] == [{"partition_id": 1, "role": "FOLLOWER", "health": "UNHEALTHY"}]
    assert err == "zeebe-celery: not every partition has a healthy leader\n"


def test_an_unexpected_error_exits_software_ending_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: Any, out: Any) -> ExitCode:
        raise KeyError("bug")

    monkeypatch.setattr(gateway_commands, "cmd_status", broken)

    code, _, err = run(capsys, "status")

    assert code == ExitCode.SOFTWARE
    assert err.splitlines()[-1] == "zeebe-celery status: internal error: KeyError: 'bug'"


def test_main_leaves_the_root_logger_as_it_found_it(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    run(capsys, "--address", "127.0.0.1:1", "--timeout", "1s", "cancel", "1")

    assert (root.handlers, root.level) == (handlers, level)


# -- apps ------------------------------------------------------------------------------------------


def test_load_app_finds_an_app_by_module_or_attribute(tmp_path: Path) -> None:
    (tmp_path / "cli_unit_app.py").write_text(
        "from celery import Celery\nshop = Celery('shop')\nnot_an_app = 3\n", encoding="utf-8"
    )

    by_module = cli.load_app("cli_unit_app")
    by_attribute = cli.load_app("cli_unit_app:shop")

    assert by_module is by_attribute
    assert by_module.main == "shop"
    with pytest.raises(CliError) as caught:
        cli.load_app("cli_unit_app:not_an_app")
    assert (caught.value.code, caught.value.message) == (
        ExitCode.USAGE,
        "-A cli_unit_app:not_an_app: int object is not a Celery app",
    )
    with pytest.raises(CliError) as missing:
        cli.load_app("cli_unit_app:nothing")
    assert missing.value.code == ExitCode.USAGE
    assert "no Celery app found" in missing.value.message


def test_a_missing_dependency_of_the_app_is_not_mistaken_for_a_missing_app(tmp_path: Path) -> None:
    (tmp_path / "cli_unit_needs.py").write_text("import no_such_dependency_xyz\n", encoding="utf-8")

    with pytest.raises(CliError) as caught:
        cli.load_app("cli_unit_needs")

    assert caught.value.code == ExitCode.SOFTWARE
    assert "no_such_dependency_xyz" in caught.value.message


def test_flow_control_uses_the_redis_url_then_a_redis_broker() -> None:
    redis_app = Celery("a", broker="redis://r:6379/1", set_as_current=False)
    amqp_app = Celery("b", broker="amqp://user:pw@rabbit//", set_as_current=False)

    assert cli.flow_control_location(BridgeSettings(redis_url="redis://x/0"), amqp_app).url == "redis://x/0"
    assert cli.flow_control_location(BridgeSettings(), redis_app).url == "redis://r:6379/1"
    assert cli.flow_control_location(BridgeSettings(broker_url="redis://b/2"), amqp_app).url == "redis://b/2"
    with pytest.raises(ConfigurationError) as caught:
        cli.flow_control_location(BridgeSettings(), amqp_app)
    assert "ZEEBE_CELERY_REDIS_URL" in str(caught.value)
    assert "pw" not in str(caught.value)


# -- dev -------------------------------------------------------------------------------------------


def test_dev_down_without_a_stack_is_a_no_op(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "dev.json").write_text(json.dumps({"pid": 2**22 + 12345, "zeebe_address": "x", "redis_url": "y"}))

    code, out, err = run(capsys, "-o", "json", "dev", "down", "--state-dir", str(tmp_path))

    assert code == ExitCode.OK
    assert json.loads(out) == {"stopped": False, "running": False}
    assert "not running" in err
    assert not (tmp_path / "dev.json").exists()


@pytest.fixture
def stand_in_demo(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replaces zeebe_celery.demo with a module that records its argv."""
    calls: list[list[str]] = []
    module = types.ModuleType("zeebe_celery.demo")

    def demo_main(argv: list[str]) -> int:
        calls.append(list(argv))
        return 3

    module.main = demo_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zeebe_celery.demo", module)
    monkeypatch.setattr(zeebe_celery, "demo", module, raising=False)
    return calls


@pytest.fixture
def fake_dev_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A process that looks like `dev _serve` to `dev` commands, with its state file."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "zeebe_celery.cli", "dev", "_serve"],
    )
    # Until the child has exec'd, its command line is still ours.
    deadline = time.monotonic() + 10
    while b"_serve" not in Path(f"/proc/{process.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    state = {
        "pid": process.pid,
        "zeebe_address": "127.0.0.1:5",
        "redis_url": "redis://127.0.0.1:6/0",
        "web_url": "http://127.0.0.1:7/",
    }
    (tmp_path / "dev.json").write_text(json.dumps(state))
    try:
        yield state
    finally:
        process.kill()
        process.wait()


def test_dev_demo_passes_its_arguments_and_exit_code_through(
    capsys: pytest.CaptureFixture[str], stand_in_demo: list[list[str]], tmp_path: Path
) -> None:
    code, _, _ = run(capsys, "dev", "demo", "--state-dir", str(tmp_path), "--instances", "5", "--workers=1")

    assert code == 3
    assert stand_in_demo == [["--instances", "5", "--workers=1"]]


def test_dev_demo_uses_the_stack_of_dev_up(
    capsys: pytest.CaptureFixture[str],
    stand_in_demo: list[list[str]],
    fake_dev_server: dict[str, Any],
    tmp_path: Path,
) -> None:
    _, _, err = run(capsys, "dev", "demo", "--state-dir", str(tmp_path), "--instances", "2")
    run(capsys, "dev", "demo", "--state-dir", str(tmp_path), "--redis-url", "redis://mine/0")

    assert "watch the orders run in the engine's web UI: http://127.0.0.1:7/" in err

    assert stand_in_demo == [
        ["--instances", "2", "--address", "127.0.0.1:5", "--redis-url", "redis://127.0.0.1:6/0"],
        ["--redis-url", "redis://mine/0"],
    ]


def test_dev_up_with_a_running_stack_prints_its_exports_again(
    capsys: pytest.CaptureFixture[str], fake_dev_server: dict[str, Any], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "dev", "up", "--state-dir", str(tmp_path))

    assert code == ExitCode.OK
    assert out == "export ZEEBE_ADDRESS=127.0.0.1:5\nexport ZEEBE_CELERY_BROKER_URL=redis://127.0.0.1:6/0\n"
    assert f"already running (pid {fake_dev_server['pid']})" in err
    assert "the engine's web UI: open http://127.0.0.1:7/ in a browser" in err
