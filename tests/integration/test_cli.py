"""The ``zeebe-celery`` command against the session's Zeebe (the project's engine by default) and Redis.

Most tests run the command in-process through ``main([...])`` and read what it printed; a few run the
installed console script as a subprocess, as a user would. Bad input must end with one line on stderr
and a named exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis

from zeebe_celery.cli import ExitCode, main
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
CONSOLE_SCRIPT = Path(sys.executable).parent / "zeebe-celery"
UNREACHABLE = "127.0.0.1:1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ZEEBE_* or CAMUNDA_* settings of the developer's, and no .env file in the working directory."""
    for name in list(os.environ):
        if name.startswith(("ZEEBE_", "CAMUNDA_")) and not name.startswith("ZEEBE_CELERY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # load_app makes the working directory importable, as `celery -A` does; undo that afterwards.
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


class Run:
    """One in-process run of the command: its exit code and what it printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def assert_one_line_error(run: Run, code: ExitCode, *fragments: str) -> None:
    assert run.code == code, (run.code, run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write_resource(tmp_path: Path, unique: Any, filename: str, *names: str) -> Path:
    path = tmp_path / f"{Path(filename).stem}-{unique.suffix}{Path(filename).suffix}"
    path.write_text(unique.text(filename, *names), encoding="utf-8")
    return path


def deploy(cli: Any, tmp_path: Path, unique: Any, zeebe_address: str, filename: str, *names: str) -> None:
    run = cli("--address", zeebe_address, "deploy", str(write_resource(tmp_path, unique, filename, *names)))
    assert run.code == ExitCode.OK, run.err


# -- deploy ----------------------------------------------------------------------------------------


def test_deploy_prints_each_process_and_decision_with_version_and_key(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path
) -> None:
    bpmn = write_resource(tmp_path, unique, "one_task.bpmn", "one-task", "test-work")
    dmn = write_resource(tmp_path, unique, "discount.dmn", "discount", "discount-rules")

    run = cli("--address", zeebe_address, "deploy", str(bpmn), str(dmn))

    assert run.code == ExitCode.OK, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("deployment ")
    process = next(line for line in lines if line.startswith("process "))
    assert process.startswith(f"process {unique('one-task')} version 1 key ")
    assert process.endswith(f"({bpmn.name})")
    assert any(line.startswith(f"decision {unique('discount')} version 1 key ") for line in lines)
    assert any(line.startswith(f"decision requirements {unique('discount-rules')} version 1") for line in lines)

    again = cli("--output", "json", "--address", zeebe_address, "deploy", str(bpmn))
    document = again.json()
    assert again.code == ExitCode.OK
    # The same content again is no new version.
    assert [(p["bpmn_process_id"], p["version"]) for p in document["processes"]] == [(unique("one-task"), 1)]
    assert isinstance(document["key"], int)
    assert isinstance(document["processes"][0]["process_definition_key"], int)


def test_deploy_of_a_missing_file_exits_noinput_naming_it(cli: Any, zeebe_address: str, tmp_path: Path) -> None:
    run = cli("--address", zeebe_address, "deploy", str(tmp_path / "nope.bpmn"))

    assert_one_line_error(run, ExitCode.NOINPUT, "no such file", "nope.bpmn")


def test_deploy_of_invalid_bpmn_exits_dataerr_with_the_gateways_reason(cli: Any, zeebe_address: str) -> None:
    run = cli("--address", zeebe_address, "deploy", str(BPMN_DIR / "invalid_no_task_definition.bpmn"))

    assert_one_line_error(
        run, ExitCode.DATAERR, "rejected by the gateway", "invalid_no_task_definition.bpmn", "zeebe:taskDefinition"
    )


def test_deploy_json_output_of_a_failure_is_one_document(cli: Any, zeebe_address: str) -> None:
    run = cli("-o", "json", "--address", zeebe_address, "deploy", str(BPMN_DIR / "invalid_no_task_definition.bpmn"))

    assert run.code == ExitCode.DATAERR
    assert run.json() == {
        "error": run.err.strip().removeprefix("zeebe-celery deploy: "),
        "exit_code": 65,
        "exit_status": "DATAERR",
    }


# -- create-instance -------------------------------------------------------------------------------


def test_create_instance_passes_variables_from_json_and_from_a_file(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path, jobs: Any
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "one_task.bpmn", "one-task", "test-work")
    variables_file = tmp_path / "vars.json"
    variables_file.write_text('{"orderId": "o-2", "amount": 12.5}', encoding="utf-8")

    inline = cli("--address", zeebe_address, "create-instance", unique("one-task"), "--variables", '{"orderId": "o-1"}')
    from_file = cli(
        "-o",
        "json",
        "--address",
        zeebe_address,
        "create-instance",
        unique("one-task"),
        "--variables",
        f"@{variables_file}",
    )

    assert inline.code == ExitCode.OK, inline.err
    assert inline.out.startswith("instance ")
    assert f"of {unique('one-task')} version 1" in inline.out
    document = from_file.json()
    assert document["bpmn_process_id"] == unique("one-task")
    assert document["version"] == 1
    activated = {job.process_instance_key: job.variables for job in jobs.activate(unique("test-work"), count=2)}
    first_key = int(inline.out.split()[1])
    assert activated == {
        first_key: {"orderId": "o-1"},
        document["process_instance_key"]: {"orderId": "o-2", "amount": 12.5},
    }


def test_create_instance_with_result_prints_the_final_variables(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "script_sum.bpmn", "script-sum")

    text = cli(
        "--address",
        zeebe_address,
        "create-instance",
        unique("script-sum"),
        "--variables",
        '{"a": 2, "b": 3}',
        "--with-result",
    )
    document = cli(
        "-o",
        "json",
        "--address",
        zeebe_address,
        "create-instance",
        unique("script-sum"),
        "--variables",
        '{"a": 20, "b": 1}',
        "--with-result",
        "--request-timeout",
        "30s",
    ).json()

    assert text.code == ExitCode.OK, text.err
    assert "completed" in text.out
    assert 'variables: {"a": 2, "b": 3, "sum": 5}' in text.out
    assert document["variables"] == {"a": 20, "b": 1, "sum": 21}


def test_create_instance_with_result_that_does_not_finish_in_time_exits_tempfail(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "one_task.bpmn", "one-task", "test-work")

    started = time.monotonic()
    run = cli(
        "--address", zeebe_address, "create-instance", unique("one-task"), "--with-result", "--request-timeout", "1s"
    )

    assert_one_line_error(run, ExitCode.TEMPFAIL, "did not complete within 1s")
    assert time.monotonic() - started < 15


def test_create_instance_with_invalid_json_exits_dataerr_saying_where(
    cli: Any, zeebe_address: str, tmp_path: Path
) -> None:
    inline = cli("--address", zeebe_address, "create-instance", "any", "--variables", '{"orderId": ')
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("[1, 2]", encoding="utf-8")
    not_an_object = cli("--address", zeebe_address, "create-instance", "any", "--variables", f"@{bad_file}")

    assert_one_line_error(inline, ExitCode.DATAERR, "--variables is not valid JSON", "line 1 column")
    assert_one_line_error(not_an_object, ExitCode.DATAERR, str(bad_file), "must be a JSON object")


def test_create_instance_with_a_missing_variables_file_exits_noinput(
    cli: Any, zeebe_address: str, tmp_path: Path
) -> None:
    run = cli("--address", zeebe_address, "create-instance", "any", "--variables", f"@{tmp_path / 'missing.json'}")

    assert_one_line_error(run, ExitCode.NOINPUT, "--variables: no such file", "missing.json")


def test_create_instance_of_an_unknown_process_exits_noinput(cli: Any, zeebe_address: str, unique: Any) -> None:
    run = cli("--address", zeebe_address, "create-instance", unique("never-deployed"))

    assert_one_line_error(run, ExitCode.NOINPUT, "not found", unique("never-deployed"))


# -- publish, broadcast-signal, cancel -------------------------------------------------------------


def test_publish_correlates_a_message_to_the_waiting_instance(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path, jobs: Any
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "message_catch.bpmn", "message-catch", "payment-received", "ship-work")
    order = unique("order")
    created = cli("-o", "json", "--address", zeebe_address, "create-instance", unique("message-catch"),
                  "--variables", json.dumps({"orderId": order})).json()  # fmt: skip

    run = cli(
        "--address", zeebe_address, "publish", unique("payment-received"), "--correlation-key", order,
        "--variables", '{"paid": true}', "--ttl", "1m", "--message-id", unique("payment"),
    )  # fmt: skip

    assert run.code == ExitCode.OK, run.err
    assert run.out.startswith(f"message {unique('payment-received')} published, key ")
    job = jobs.activate_one(unique("ship-work"))
    assert job.process_instance_key == created["process_instance_key"]
    assert job.variables == {"orderId": order, "paid": True}


def test_publish_of_a_duplicate_message_id_exits_dataerr(cli: Any, zeebe_address: str, unique: Any) -> None:
    argv = ["--address", zeebe_address, "publish", unique("msg"), "--correlation-key", "k", "--ttl", "1m",
            "--message-id", unique("id")]  # fmt: skip
    first = cli("-o", "json", *argv)
    second = cli(*argv)

    assert first.code == ExitCode.OK
    assert first.json()["name"] == unique("msg")
    assert_one_line_error(second, ExitCode.DATAERR, "refused by the gateway", unique("id"))


def test_publish_with_a_bad_ttl_is_a_usage_error(cli: Any, zeebe_address: str) -> None:
    run = cli("--address", zeebe_address, "publish", "m", "--ttl", "soon")

    assert run.code == ExitCode.USAGE
    assert "--ttl" in run.err
    assert "not a duration" in run.err
    assert "Traceback" not in run.err


def test_broadcast_signal_releases_the_waiting_instance(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path, jobs: Any
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "signal_catch.bpmn", "signal-catch", "go-now", "proceed-work")
    created = cli("-o", "json", "--address", zeebe_address, "create-instance", unique("signal-catch")).json()
    # The signal must find the subscription, which exists once the instance waits at the catch event.
    jobs.assert_none(unique("proceed-work"), within=0.5)

    run = cli("--address", zeebe_address, "broadcast-signal", unique("go-now"), "--variables", '{"go": 1}')

    assert run.code == ExitCode.OK, run.err
    assert run.out.startswith(f"signal {unique('go-now')} broadcast, key ")
    job = jobs.activate_one(unique("proceed-work"))
    assert job.process_instance_key == created["process_instance_key"]
    assert job.variables == {"go": 1}


def test_broadcast_signal_with_invalid_variables_exits_dataerr(cli: Any, zeebe_address: str) -> None:
    run = cli("--address", zeebe_address, "broadcast-signal", "s", "--variables", "{'single': 'quotes'}")

    assert_one_line_error(run, ExitCode.DATAERR, "--variables is not valid JSON")


def test_cancel_ends_the_instance_and_a_second_cancel_exits_noinput(
    cli: Any, zeebe_address: str, unique: Any, tmp_path: Path, jobs: Any
) -> None:
    deploy(cli, tmp_path, unique, zeebe_address, "one_task.bpmn", "one-task", "test-work")
    key = cli("-o", "json", "--address", zeebe_address, "create-instance", unique("one-task")).json()[
        "process_instance_key"
    ]

    first = cli("--address", zeebe_address, "cancel", str(key))
    second = cli("--address", zeebe_address, "cancel", str(key))

    assert first.code == ExitCode.OK, first.err
    assert first.out.strip() == f"instance {key} cancelled"
    jobs.assert_none(unique("test-work"))
    assert_one_line_error(second, ExitCode.NOINPUT, "not found", str(key))


def test_cancel_of_a_key_that_is_not_a_number_is_a_usage_error(cli: Any) -> None:
    run = cli("cancel", "abc")

    assert run.code == ExitCode.USAGE
    assert "not a whole number" in run.err


# -- status ----------------------------------------------------------------------------------------


def test_status_prints_the_topology_table(cli: Any, zeebe_address: str, zeebe_client: ZeebeClient) -> None:
    topology = zeebe_client.topology()
    broker = topology.brokers[0]

    run = cli("--address", zeebe_address, "status")

    assert run.code == ExitCode.OK, run.err
    lines = [line.split() for line in run.out.splitlines()]
    assert ["Cluster", "size", "1"] in lines
    assert ["Partitions", str(topology.partitions_count)] in lines
    assert ["Replication", "factor", "1"] in lines
    assert ["Gateway", "version", "8.9.0"] in lines
    assert ["Broker", "0", f"{broker.host}:{broker.port}", "version", "8.9.0"] in lines
    assert ["Partition", "1", "LEADER", "HEALTHY"] in lines


def test_status_as_json_from_the_installed_console_script(zeebe_address: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env["ZEEBE_ADDRESS"] = zeebe_address

    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "status", "--output", "json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["healthy"] is True
    assert document["gateway_version"] == "8.9.0"
    assert document["brokers"][0]["partitions"][0] == {"partition_id": 1, "role": "LEADER", "health": "HEALTHY"}


# -- failures that apply to every gateway command --------------------------------------------------

GATEWAY_COMMANDS = [
    ["deploy", str(BPMN_DIR / "one_task.bpmn")],
    ["create-instance", "one-task", "--variables", '{"a": 1}'],
    ["create-instance", "one-task", "--with-result"],
    ["publish", "m", "--correlation-key", "k"],
    ["broadcast-signal", "s"],
    ["cancel", "1"],
    ["status"],
]


@pytest.mark.parametrize("argv", GATEWAY_COMMANDS, ids=lambda argv: " ".join(argv[:1] + argv[2:3]))
def test_an_unreachable_gateway_fails_fast_with_unavailable_naming_the_address(cli: Any, argv: list[str]) -> None:
    started = time.monotonic()
    run = cli("--address", UNREACHABLE, *argv)

    assert_one_line_error(run, ExitCode.UNAVAILABLE, f"cannot reach the Zeebe gateway at {UNREACHABLE}")
    assert time.monotonic() - started < 10


class RefusingTokenEndpoint:
    """An OAuth token endpoint on 127.0.0.1 that refuses every client with HTTP 401."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"error": "invalid_client"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RefusingTokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.mark.parametrize("argv", GATEWAY_COMMANDS[:2] + GATEWAY_COMMANDS[-1:], ids=lambda argv: argv[0])
def test_refused_credentials_exit_noperm_without_showing_the_secret(
    cli: Any, zeebe_address: str, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    secret = "s3cret-that-must-not-show"
    with RefusingTokenEndpoint() as endpoint:
        monkeypatch.setenv("ZEEBE_CLIENT_ID", "cli-tests")
        monkeypatch.setenv("ZEEBE_CLIENT_SECRET", secret)
        monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", endpoint.url)

        run = cli("--address", zeebe_address, *argv)

    assert_one_line_error(run, ExitCode.NOPERM, "credentials were refused", "cli-tests", "401")
    assert secret not in run.err + run.out


def test_inconsistent_settings_exit_config_naming_the_variable(
    cli: Any, zeebe_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "cli-tests")

    run = cli("--address", zeebe_address, "status")

    assert_one_line_error(run, ExitCode.CONFIG, "invalid settings", "ZEEBE_CLIENT_SECRET")


def test_unknown_command_from_the_console_script_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "launch-rockets"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == ExitCode.USAGE == 64
    assert "invalid choice: 'launch-rockets'" in done.stderr
    assert done.stderr.startswith("usage: zeebe-celery")
    assert "Traceback" not in done.stderr


def test_unreachable_gateway_from_the_console_script_exits_69_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--address", UNREACHABLE, "deploy", str(BPMN_DIR / "one_task.bpmn")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == ExitCode.UNAVAILABLE == 69
    assert done.stderr.strip() == (
        f"zeebe-celery deploy: cannot reach the Zeebe gateway at {UNREACHABLE}: "
        + done.stderr.strip().split(f"{UNREACHABLE}: ", 1)[1]
    )
    assert time.monotonic() - started < 10


# -- worker-types and poller -----------------------------------------------------------------------


def write_app(directory: Path, module: str, broker_url: str, body: str) -> None:
    """Write a Celery app module ``module`` with ``body`` (its @zeebe_task handlers) into ``directory``."""
    source = textwrap.dedent(
        f"""\
        from celery import Celery
        from pydantic import BaseModel

        from zeebe_celery.job import Job
        from zeebe_celery.task import zeebe_task

        app = Celery({module!r}, broker={broker_url!r})
        """
    )
    (directory / f"{module}.py").write_text(source + textwrap.dedent(body), encoding="utf-8")


def test_worker_types_lists_job_types_with_tasks_queues_and_options(
    cli: Any, tmp_path: Path, unique: Any, redis_url: str
) -> None:
    module = f"cli_types_{unique.suffix}"
    write_app(
        tmp_path,
        module,
        redis_url,
        """
        class Order(BaseModel):
            order_id: str

        @zeebe_task("charge-card", timeout="2m", max_jobs=5, app=app)
        def charge(order: Order, amount: float, job: Job) -> dict:
            return {}

        @zeebe_task("ship", timeout=90, app=app)
        def ship(**variables) -> None:
            pass
        """,
    )

    run = cli("worker-types", "-A", module)
    document = cli("-o", "json", "worker-types", "-A", f"{module}:app").json()

    assert run.code == ExitCode.OK, run.err
    rows = [line.split() for line in run.out.splitlines()]
    assert rows[0] == ["JOB", "TYPE", "TASK", "QUEUE", "TIMEOUT", "MAX", "JOBS", "FETCH", "VARIABLES"]
    assert rows[1:] == [
        ["charge-card", f"{module}.charge", "zeebe.charge-card", "120s", "5", "order,amount"],
        ["ship", f"{module}.ship", "zeebe.ship", "90s", "32", "(all)"],
    ]
    assert [(e["job_type"], e["queue"], e["fetch_variables"]) for e in document] == [
        ("charge-card", "zeebe.charge-card", ["order", "amount"]),
        ("ship", "zeebe.ship", None),
    ]


def test_worker_types_of_a_missing_module_is_a_usage_error(cli: Any, unique: Any) -> None:
    run = cli("worker-types", "-A", f"no_such_module_{unique.suffix}")

    assert_one_line_error(run, ExitCode.USAGE, "-A no_such_module_", "no module named")


def test_worker_types_of_a_module_that_fails_to_import_exits_software(cli: Any, tmp_path: Path, unique: Any) -> None:
    module = f"cli_broken_{unique.suffix}"
    (tmp_path / f"{module}.py").write_text("raise RuntimeError('the app is broken')\n", encoding="utf-8")

    run = cli("worker-types", "-A", module)

    assert_one_line_error(run, ExitCode.SOFTWARE, "importing the app failed", "RuntimeError: the app is broken")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except OSError:
        return None


@pytest.fixture
def poller_env(zeebe_address: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env.update({"ZEEBE_ADDRESS": zeebe_address, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tmp_path)})
    return env


@pytest.fixture
def poller_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Poller subprocesses a test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_poller_serves_healthz_publishes_jobs_and_exits_0_on_sigterm(
    cli: Any,
    tmp_path: Path,
    unique: Any,
    zeebe_address: str,
    redis_url: str,
    poller_env: dict[str, str],
    poller_process: list[subprocess.Popen[str]],
) -> None:
    module = f"cli_poller_{unique.suffix}"
    job_type = unique("test-work")
    write_app(
        tmp_path,
        module,
        redis_url,
        f"""
        @zeebe_task({job_type!r}, timeout="1m")
        def work(order_id: str) -> dict:
            return {{"done": True}}
        """,
    )
    deploy(cli, tmp_path, unique, zeebe_address, "one_task.bpmn", "one-task", "test-work")
    port = free_port()
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "poller", "-A", module, "--http-port", str(port), "--log-format", "json"],
        env=poller_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    poller_process.append(process)

    deadline = time.monotonic() + 60
    status = None
    while status != 200 and time.monotonic() < deadline and process.poll() is None:
        status = http_status(f"http://127.0.0.1:{port}/healthz")
        if status != 200:
            time.sleep(0.2)
    assert status == 200, f"/healthz answered {status}; exit code {process.poll()}"

    created = cli("-o", "json", "--address", zeebe_address, "create-instance", unique("one-task"),
                  "--variables", '{"order_id": "o-1"}').json()  # fmt: skip
    queue = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 30
        while queue.llen(f"zeebe.{job_type}") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        message = json.loads(queue.lindex(f"zeebe.{job_type}", 0) or b"{}")
    finally:
        queue.close()
    assert message["headers"]["task"] == f"{module}.work"

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)

    assert process.returncode == 0, stderr
    assert stdout == ""
    records = [json.loads(line) for line in stderr.splitlines()]
    assert any(r["message"].startswith(f"polling {job_type} -> queue zeebe.{job_type}") for r in records)
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert created["process_instance_key"] > 0


def test_poller_with_an_unknown_job_type_exits_config(
    tmp_path: Path, unique: Any, redis_url: str, poller_env: dict[str, str], poller_process: list[subprocess.Popen[str]]
) -> None:
    module = f"cli_poller_types_{unique.suffix}"
    write_app(
        tmp_path,
        module,
        redis_url,
        """
        @zeebe_task("known-type")
        def work() -> None:
            pass
        """,
    )
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "poller", "-A", module, "--types", "unknown-type"],
        env=poller_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    poller_process.append(process)

    _, stderr = process.communicate(timeout=60)

    assert process.returncode == ExitCode.CONFIG
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("zeebe-celery poller: no @zeebe_task handles unknown-type; the app has: known-type")
    assert "Traceback" not in stderr


def test_poller_of_an_app_without_handlers_exits_config(
    tmp_path: Path, unique: Any, redis_url: str, poller_env: dict[str, str], poller_process: list[subprocess.Popen[str]]
) -> None:
    module = f"cli_poller_empty_{unique.suffix}"
    write_app(tmp_path, module, redis_url, "")
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "poller", "-A", module, "--log-level", "ERROR"],
        env=poller_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    poller_process.append(process)

    _, stderr = process.communicate(timeout=60)

    assert process.returncode == ExitCode.CONFIG
    assert stderr.strip() == "zeebe-celery poller: the Celery app has no @zeebe_task handlers; nothing to poll"


def test_poller_with_an_invalid_log_level_exits_config(cli: Any, tmp_path: Path, unique: Any, redis_url: str) -> None:
    run = cli("poller", "-A", "anything", "--log-level", "LOUD")

    assert_one_line_error(run, ExitCode.CONFIG, "--log-level", "unknown log level 'LOUD'")


# -- dev -------------------------------------------------------------------------------------------


def test_dev_up_starts_zeebe_and_redis_in_the_background_and_dev_down_stops_them(cli: Any, tmp_path: Path) -> None:
    state_dir = tmp_path / "dev-state"
    up = cli("dev", "up", "--state-dir", str(state_dir))
    try:
        assert up.code == ExitCode.OK, up.err
        exports = dict(line.removeprefix("export ").split("=", 1) for line in up.out.splitlines())
        assert set(exports) == {"ZEEBE_ADDRESS", "ZEEBE_CELERY_BROKER_URL"}
        address, redis_url = exports["ZEEBE_ADDRESS"], exports["ZEEBE_CELERY_BROKER_URL"]
        state = json.loads((state_dir / "dev.json").read_text())
        assert (state["zeebe_address"], state["redis_url"]) == (address, redis_url)
        assert f"open {state['web_url']} in a browser" in up.err
        with urllib.request.urlopen(state["web_url"], timeout=10) as page:
            assert b"Processes" in page.read()

        status = cli("--address", address, "status")
        assert status.code == ExitCode.OK, status.err
        server = redis.Redis.from_url(redis_url)
        try:
            assert server.ping()
        finally:
            server.close()
        again = cli("-o", "json", "dev", "up", "--state-dir", str(state_dir))
        assert again.code == ExitCode.OK
        assert again.json()["pid"] == state["pid"]
        assert "already running" in again.err
    finally:
        down = cli("dev", "down", "--state-dir", str(state_dir))

    assert down.code == ExitCode.OK, down.err
    assert down.out.strip() == f"stopped the engine at {address} and Redis at {redis_url}"
    assert not (state_dir / "dev.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(state["pid"], 0)
    gone = cli("--address", address, "status")
    assert gone.code == ExitCode.UNAVAILABLE
    second = cli("dev", "down", "--state-dir", str(state_dir))
    assert second.code == ExitCode.OK
    assert "not running" in second.err


def test_dev_demo_passes_its_options_through_to_the_demo(cli: Any) -> None:
    shown = cli("dev", "demo", "--", "--help")
    refused = cli("dev", "demo", "--instances", "0")

    assert shown.code == ExitCode.OK
    assert shown.out.startswith("usage: zeebe-celery dev demo")
    assert "--instances" in shown.out
    assert refused.code == ExitCode.USAGE
    assert "--instances, --workers and --concurrency must be at least 1" in refused.err
