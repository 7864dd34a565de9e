"""``zeebe-celery``: the poller, gateway commands for scripts, and a local development stack.

The command is thin: it parses arguments, builds settings, calls library code and maps failures to a
one-line message on stderr and a named exit code (:class:`ExitCode`, after BSD's sysexits). A user's
mistake never ends in a traceback. With ``--output json`` every command prints one JSON document on
stdout, also when it fails.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn

from zeebe_celery._version import __version__
from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings, parse_duration
from zeebe_celery.errors import (
    AlreadyExistsError,
    BackPressureError,
    ConfigurationError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayError,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InvalidArgumentError,
    MessageTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from zeebe_celery.logs import setup_logging

if TYPE_CHECKING:
    from celery import Celery

    from zeebe_celery.gateway.client import ZeebeClient

__all__ = ["CliError", "ExitCode", "load_app", "main"]

logger = logging.getLogger(__name__)

PROG = "zeebe-celery"

# A command a person waits for: transient failures are retried this long, then reported.
CLI_RETRY_BUDGET = 3.0
# How often `dev up` and `dev down` look at the background stack while they wait for it.
_DEV_POLL_INTERVAL = 0.2
_DEV_STATE_FILE = "dev.json"
_DEV_LOG_FILE = "dev.log"
_DEV_STOP_TIMEOUT = 90.0


class ExitCode(enum.IntEnum):
    """Exit statuses, after BSD's sysexits.h, so scripts can tell failures apart."""

    OK = 0
    USAGE = 64  # the command line is wrong: unknown command or option, bad value
    DATAERR = 65  # the input is wrong: invalid JSON or BPMN, rejected by the gateway
    NOINPUT = 66  # a file, process, instance or key does not exist
    UNAVAILABLE = 69  # the gateway, Redis or the local stack cannot be reached or started
    SOFTWARE = 70  # an internal error, in zeebe-celery or the gateway
    OSERR = 71  # the operating system refused, e.g. a port already in use
    TEMPFAIL = 75  # try again: back-pressure, or no answer within the deadline
    NOPERM = 77  # the credentials were refused or are not allowed to do this
    CONFIG = 78  # the settings are invalid (the message names the variable)
    INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """A failure to report as one line on stderr, ending the command with ``code``."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become exit code 64 instead of argparse's 2."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- output ----------------------------------------------------------------------------------------


class Output:
    """Where a command's result goes: text for people, or one JSON document for scripts."""

    def __init__(self, mode: str, stdout: IO[str], stderr: IO[str]) -> None:
        self.json = mode == "json"
        self.stdout = stdout
        self.stderr = stderr
        self.printed = False

    def result(self, document: Any, text: str) -> None:
        """Print the command's result: ``document`` as JSON, or ``text``."""
        self.printed = True
        if self.json:
            self.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
        elif text:
            self.stdout.write(text.rstrip("\n") + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        """A remark for people, on stderr, so it never mixes with the result."""
        self.stderr.write(f"{PROG}: {text}\n")
        self.stderr.flush()

    def failure(self, command: str, error: CliError) -> None:
        where = f"{PROG} {command}" if command else PROG
        self.stderr.write(f"{where}: {error.message}\n")
        self.stderr.flush()
        if self.json and not self.printed:
            document = {"error": error.message, "exit_code": int(error.code), "exit_status": error.code.name}
            self.stdout.write(json.dumps(document, indent=2) + "\n")
            self.stdout.flush()


def _asdict(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _asdict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [_asdict(v) for v in value]
    if isinstance(value, dict):
        return {k: _asdict(v) for k, v in value.items()}
    return value


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


# -- argument types --------------------------------------------------------------------------------


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _port(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def read_variables(value: str | None, option: str = "--variables") -> dict[str, Any] | None:
    """Parse ``--variables``: a JSON object, or ``@path`` of a file holding one.

    Raises CliError: NOINPUT for a missing file, DATAERR for invalid JSON or a non-object.
    """
    if value is None:
        return None
    source = f"{option}"
    text = value
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        source = f"{option} file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"{option}: no such file: {path}", ExitCode.NOINPUT) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{option}: cannot read {path}: {exc}", ExitCode.NOINPUT) from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", ExitCode.DATAERR
        ) from None
    if not isinstance(parsed, dict):
        raise CliError(f"{source} must be a JSON object, not {type(parsed).__name__}", ExitCode.DATAERR)
    return parsed


# -- failures --------------------------------------------------------------------------------------


def gateway_failure(exc: GatewayError, address: str) -> CliError:
    """The message and exit code for a failed gateway call."""
    details = _one_line(exc.details) or str(exc)
    if isinstance(exc, GatewayUnavailableError):
        if exc.code is None:  # raised on our side, e.g. the authorization server is down
            return CliError(details, ExitCode.UNAVAILABLE)
        return CliError(f"cannot reach the Zeebe gateway at {address}: {details}", ExitCode.UNAVAILABLE)
    if isinstance(exc, UnauthenticatedError):
        return CliError(f"the credentials were refused: {details}", ExitCode.NOPERM)
    if isinstance(exc, PermissionDeniedError):
        return CliError(f"permission denied: {details}", ExitCode.NOPERM)
    if isinstance(exc, InvalidArgumentError | MessageTooLargeError):
        return CliError(f"rejected by the gateway: {details}", ExitCode.DATAERR)
    if isinstance(exc, NotFoundError):
        return CliError(f"not found: {details}", ExitCode.NOINPUT)
    if isinstance(exc, FailedPreconditionError | AlreadyExistsError):
        return CliError(f"refused by the gateway: {details}", ExitCode.DATAERR)
    if isinstance(exc, DeadlineExceededError | GatewayTimeoutError):
        return CliError(f"no answer from the gateway at {address} in time: {details}", ExitCode.TEMPFAIL)
    if isinstance(exc, BackPressureError):
        return CliError(f"the broker is overloaded (back-pressure), try again: {details}", ExitCode.TEMPFAIL)
    return CliError(f"the gateway failed: {exc}", ExitCode.SOFTWARE)


def configuration_failure(exc: ConfigurationError) -> CliError:
    # "invalid settings:" and one indented line per problem become one line.
    head, _, rest = str(exc).partition("\n")
    problems = [line.strip() for line in rest.splitlines() if line.strip()]
    return CliError(f"{head} {'; '.join(problems)}" if problems else head, ExitCode.CONFIG)


# -- settings, clients, apps -----------------------------------------------------------------------


def zeebe_settings(args: argparse.Namespace) -> ZeebeSettings:
    """ZeebeSettings from the environment, ``.env`` and the global options."""
    overrides: dict[str, Any] = {}
    if args.address:
        overrides["address"] = args.address
    if args.timeout is not None:
        overrides["request_timeout"] = args.timeout
    return load_settings(ZeebeSettings, **overrides)


@contextlib.contextmanager
def gateway_client(args: argparse.Namespace) -> Iterator[ZeebeClient]:
    """A client for one command: transient failures retried for a few seconds only, closed afterwards.

    Gateway errors leave as CliError with the gateway's text.
    """
    from zeebe_celery.gateway.client import ZeebeClient

    settings = zeebe_settings(args)
    try:
        with ZeebeClient(settings) as client:
            yield client.with_options(retry_budget=CLI_RETRY_BUDGET)
    except GatewayError as exc:
        raise gateway_failure(exc, settings.gateway_address) from None


def load_app(spec: str) -> Celery:
    """Load a Celery app the way ``celery -A`` does: ``module``, ``package`` or ``module:attribute``.

    The current directory is importable. Raises CliError: USAGE when the name leads nowhere,
    SOFTWARE when importing the module fails.
    """
    from celery import Celery
    from celery.app.utils import find_app

    module_name, _, attribute = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        if attribute:
            found = importlib.import_module(module_name)
            for name in attribute.split("."):
                found = getattr(found, name)
        else:
            found = find_app(spec)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(f"-A {spec}: no module named {exc.name!r}", ExitCode.USAGE) from None
        raise CliError(f"-A {spec}: importing the app failed: {exc}", ExitCode.SOFTWARE) from None
    except AttributeError as exc:
        hint = "" if attribute else "; name it as module:attribute"
        raise CliError(f"-A {spec}: no Celery app found ({exc}){hint}", ExitCode.USAGE) from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything while importing
        raise CliError(
            f"-A {spec}: importing the app failed: {type(exc).__name__}: {_one_line(str(exc))}", ExitCode.SOFTWARE
        ) from None
    if not isinstance(found, Celery):
        raise CliError(f"-A {spec}: {type(found).__name__} object is not a Celery app", ExitCode.USAGE)
    return found


def flow_control_url(bridge: BridgeSettings, app: Celery) -> str:
    """The Redis URL of the in-flight sets: ZEEBE_CELERY_REDIS_URL, else the (Redis) Celery broker."""
    if bridge.redis_url:
        return bridge.redis_url
    broker = bridge.broker_url or str(app.conf.broker_url or "")
    if broker.startswith(("redis://", "rediss://", "unix://")):
        return broker
    shown = broker.split("://", 1)[0] + "://..." if "://" in broker else (broker or "none")
    raise ConfigurationError(
        f"ZEEBE_CELERY_REDIS_URL: flow control needs Redis, and the Celery broker ({shown}) is not Redis; set it"
    )


# -- commands: the poller and the app ------------------------------------------------------------


def cmd_poller(args: argparse.Namespace, out: Output) -> ExitCode:
    from zeebe_celery.flow import InflightStore
    from zeebe_celery.gateway.client import ZeebeClient
    from zeebe_celery.poller import Poller

    overrides: dict[str, Any] = {
        "stream": args.stream,
        "http_port": args.http_port,
        "max_jobs": args.max_jobs,
        "log_format": args.log_format,
        "log_level": args.log_level,
    }
    bridge = load_settings(BridgeSettings, **{k: v for k, v in overrides.items() if v is not None})
    try:
        setup_logging(bridge.log_level, bridge.log_format, stream=out.stderr)
    except ValueError as exc:
        raise CliError(f"ZEEBE_CELERY_LOG_LEVEL (--log-level): {exc}", ExitCode.CONFIG) from None
    app = load_app(args.app)
    if bridge.broker_url:
        # The bridge's broker setting wins over the app's own, for publishing too.
        app.conf.broker_url = bridge.broker_url
    settings = zeebe_settings(args)
    redis_url = flow_control_url(bridge, app)
    try:
        inflight = InflightStore.from_url(redis_url)
    except ValueError as exc:
        raise CliError(f"ZEEBE_CELERY_REDIS_URL: {exc}", ExitCode.CONFIG) from None
    client = ZeebeClient(settings)
    poller = Poller(app, client=client, bridge=bridge, inflight=inflight, types=args.types)
    logger.info("zeebe-celery %s poller for %s, gateway %s", __version__, args.app, settings.gateway_address)
    try:
        poller.run()
    except ValueError as exc:  # two handlers for one job type
        raise CliError(str(exc), ExitCode.CONFIG) from None
    except OSError as exc:
        what = f"cannot serve on port {bridge.http_port}" if bridge.http_port is not None else "failed"
        raise CliError(f"{what}: {exc.strerror or exc}", ExitCode.OSERR) from None
    finally:
        client.close()
        inflight.close()
    out.result({"status": "stopped", "types": sorted(poller.specs)}, "")
    return ExitCode.OK


def cmd_worker_types(args: argparse.Namespace, out: Output) -> ExitCode:
    from zeebe_celery.dispatch import queue_name
    from zeebe_celery.task import zeebe_task_specs

    bridge = load_settings(BridgeSettings)
    app = load_app(args.app)
    try:
        specs = zeebe_task_specs(app)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.CONFIG) from None
    ordered = sorted(specs.values(), key=lambda s: s.job_type)
    entries = [
        {
            "job_type": spec.job_type,
            "task": spec.task_name,
            "queue": queue_name(spec, bridge),
            "timeout": spec.timeout or bridge.job_timeout,
            "max_jobs": spec.max_jobs or bridge.max_jobs,
            "fetch_variables": list(spec.fetch_variables) if spec.fetch_variables is not None else None,
            "retry_backoff": spec.retry_backoff if spec.retry_backoff is not None else bridge.retry_backoff,
            "tenant_ids": list(spec.tenant_ids),
        }
        for spec in ordered
    ]
    if not entries:
        out.note(f"the app {args.app} has no @zeebe_task handlers")
        out.result(entries, "")
        return ExitCode.OK
    rows = [["JOB TYPE", "TASK", "QUEUE", "TIMEOUT", "MAX JOBS", "FETCH VARIABLES"]]
    for spec in ordered:
        fetch = spec.fetch_variables
        rows.append(
            [
                spec.job_type,
                spec.task_name,
                queue_name(spec, bridge),
                f"{spec.timeout or bridge.job_timeout:g}s",
                str(spec.max_jobs or bridge.max_jobs),
                "(all)" if fetch is None else (",".join(fetch) or "(none)"),
            ]
        )
    out.result(entries, _table(rows))
    return ExitCode.OK


def cmd_templates(args: argparse.Namespace, out: Output) -> ExitCode:
    from zeebe_celery.templates import write_templates

    app = load_app(args.app)
    try:
        written = write_templates(app, Path(args.output_dir))
    except OSError as exc:
        raise CliError(f"cannot write templates to {args.output_dir}: {exc.strerror or exc}", ExitCode.OSERR) from None
    out.result([str(p) for p in written], "\n".join(str(p) for p in written))
    return ExitCode.OK


# -- commands: the gateway -------------------------------------------------------------------------


def cmd_deploy(args: argparse.Namespace, out: Output) -> ExitCode:
    resources: list[tuple[str, bytes]] = []
    for name in args.files:
        path = Path(name).expanduser()
        try:
            resources.append((path.name, path.read_bytes()))
        except FileNotFoundError:
            raise CliError(f"no such file: {path}", ExitCode.NOINPUT) from None
        except IsADirectoryError:
            raise CliError(f"{path} is a directory; name the .bpmn, .dmn or .form files", ExitCode.NOINPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", ExitCode.NOINPUT) from None
    with gateway_client(args) as client:
        deployment = client.deploy_resource(*resources, tenant_id=args.tenant_id)
    lines = [f"deployment {deployment.key}"]
    lines += [
        f"process {p.bpmn_process_id} version {p.version} key {p.process_definition_key} ({p.resource_name})"
        for p in deployment.processes
    ]
    lines += [
        f"decision requirements {r.decision_requirements_id} version {r.version} key {r.decision_requirements_key}"
        f" ({r.resource_name})"
        for r in deployment.decision_requirements
    ]
    lines += [f"decision {d.decision_id} version {d.version} key {d.decision_key}" for d in deployment.decisions]
    lines += [f"form {f.form_id} version {f.version} key {f.form_key} ({f.resource_name})" for f in deployment.forms]
    out.result(_asdict(deployment), "\n".join(lines))
    return ExitCode.OK


def cmd_create_instance(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    with gateway_client(args) as client:
        if args.with_result:
            try:
                result: Any = client.create_process_instance_with_result(
                    args.process_id, version=args.version, variables=variables, request_timeout=args.request_timeout
                )
            except DeadlineExceededError:
                raise CliError(
                    f"the instance of {args.process_id} did not complete within {args.request_timeout:g}s "
                    "(--request-timeout); it may still be running",
                    ExitCode.TEMPFAIL,
                ) from None
        else:
            result = client.create_process_instance(args.process_id, version=args.version, variables=variables)
    text = (
        f"instance {result.process_instance_key} of {result.bpmn_process_id} version {result.version}"
        f" (process definition {result.process_definition_key})"
    )
    if args.with_result:
        text += f" completed\nvariables: {json.dumps(result.variables, sort_keys=True)}"
    else:
        text += " created"
    out.result(_asdict(result), text)
    return ExitCode.OK


def cmd_publish(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    with gateway_client(args) as client:
        message = client.publish_message(
            args.name,
            correlation_key=args.correlation_key,
            variables=variables,
            time_to_live=args.ttl,
            message_id=args.message_id,
            tenant_id=args.tenant_id,
        )
    document = {"name": args.name, "correlation_key": args.correlation_key, **_asdict(message)}
    out.result(document, f"message {args.name} published, key {message.key}")
    return ExitCode.OK


def cmd_broadcast_signal(args: argparse.Namespace, out: Output) -> ExitCode:
    variables = read_variables(args.variables)
    with gateway_client(args) as client:
        sent = client.broadcast_signal(args.name, variables=variables, tenant_id=args.tenant_id)
    out.result({"name": args.name, **_asdict(sent)}, f"signal {args.name} broadcast, key {sent.key}")
    return ExitCode.OK


def cmd_cancel(args: argparse.Namespace, out: Output) -> ExitCode:
    with gateway_client(args) as client:
        client.cancel_process_instance(args.key)
    out.result({"process_instance_key": args.key, "cancelled": True}, f"instance {args.key} cancelled")
    return ExitCode.OK


def cmd_status(args: argparse.Namespace, out: Output) -> ExitCode:
    with gateway_client(args) as client:
        topology = client.topology()
    rows = [
        ["Cluster size", str(topology.cluster_size)],
        ["Partitions", str(topology.partitions_count)],
        ["Replication factor", str(topology.replication_factor)],
        ["Gateway version", topology.gateway_version],
    ]
    lines = [_table(rows), ""]
    for broker in sorted(topology.brokers, key=lambda b: b.node_id):
        lines.append(f"Broker {broker.node_id}  {broker.host}:{broker.port}  version {broker.version}")
        partitions = sorted(broker.partitions, key=lambda p: p.partition_id)
        if partitions:
            table = _table([[f"Partition {p.partition_id}", p.role.name, p.health.name] for p in partitions])
            lines += ["  " + line for line in table.splitlines()]
    document = {**_asdict(topology), "healthy": topology.is_healthy}
    out.result(document, "\n".join(lines))
    if not topology.is_healthy:
        out.note("not every partition has a healthy leader")
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


# -- commands: the local development stack -------------------------------------------------------


def default_state_dir() -> Path:
    from zeebe_celery.testing.zeebe import cache_root

    return cache_root() / "dev"


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir).expanduser() if args.state_dir else default_state_dir()


def read_state(state_dir: Path) -> dict[str, Any] | None:
    """The running dev stack's state, or None when there is none (or it is unreadable)."""
    try:
        state = json.loads((state_dir / _DEV_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None


def _write_state(state_dir: Path, state: Mapping[str, Any]) -> None:
    # Written whole and renamed, so a reader never sees half of it.
    scratch = state_dir / f".{_DEV_STATE_FILE}.{os.getpid()}"
    scratch.write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.replace(scratch, state_dir / _DEV_STATE_FILE)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running; reaps it when it is our exited child."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dev_server(pid: int) -> bool:
    """Whether ``pid`` is a dev stack server (and not a process that reused its id)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        text = cmdline.read_bytes()
    except FileNotFoundError:
        return pid_alive(pid) and not Path("/proc/self").exists()
    except OSError:
        return pid_alive(pid)
    return b"zeebe_celery.cli" in text and b"_serve" in text


def _exports(state: Mapping[str, Any]) -> str:
    return f"export ZEEBE_ADDRESS={state['zeebe_address']}\nexport ZEEBE_CELERY_BROKER_URL={state['redis_url']}"


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        tail = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in tail) or "(empty log)"


def cmd_dev_up(args: argparse.Namespace, out: Output) -> ExitCode:
    state_dir = _state_dir(args)
    state = read_state(state_dir)
    if state is not None and _is_dev_server(state["pid"]):
        out.note(f"the local stack is already running (pid {state['pid']}); `{PROG} dev down` stops it")
        out.result(state, _exports(state))
        return ExitCode.OK
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
    log_path = state_dir / _DEV_LOG_FILE
    argv = [sys.executable, "-m", "zeebe_celery.cli", "dev", "_serve", "--state-dir", str(state_dir)]
    if args.zeebe_port:
        argv += ["--zeebe-port", str(args.zeebe_port)]
    if args.redis_port:
        argv += ["--redis-port", str(args.redis_port)]
    out.note(f"starting Zeebe and Redis in the background (log: {log_path}); the first start downloads Zeebe")
    # posix_spawn rather than Popen: the server outlives this command, and nobody will wait() for it.
    pid = os.posix_spawn(
        sys.executable,
        argv,
        dict(os.environ),
        setsid=True,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
    )
    deadline = time.monotonic() + args.wait
    try:
        while True:
            state = read_state(state_dir)
            if state is not None and state["pid"] == pid:
                break
            if not pid_alive(pid):
                raise CliError(f"the local stack failed to start: {_log_tail(log_path)}", ExitCode.UNAVAILABLE)
            if time.monotonic() > deadline:
                _stop_server(pid, _DEV_STOP_TIMEOUT)
                raise CliError(f"the local stack was not up after {args.wait:g}s; see {log_path}", ExitCode.UNAVAILABLE)
            time.sleep(_DEV_POLL_INTERVAL)
    except KeyboardInterrupt:
        _stop_server(pid, _DEV_STOP_TIMEOUT)
        raise
    out.note(
        f"Zeebe at {state['zeebe_address']} and Redis at {state['redis_url']} are up; `{PROG} dev down` stops them"
    )
    out.result(state, _exports(state))
    return ExitCode.OK


def _stop_server(pid: int, timeout: float) -> bool:
    """SIGTERM the dev server and wait for it; SIGKILL after ``timeout``. True when it stopped in time."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return False
        time.sleep(_DEV_POLL_INTERVAL)
    return True


def cmd_dev_down(args: argparse.Namespace, out: Output) -> ExitCode:
    state_dir = _state_dir(args)
    state = read_state(state_dir)
    if state is None or not _is_dev_server(state["pid"]):
        (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
        out.note("the local stack is not running")
        out.result({"stopped": False, "running": False}, "")
        return ExitCode.OK
    pid = state["pid"]
    clean = _stop_server(pid, _DEV_STOP_TIMEOUT)
    (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
    if not clean:
        raise CliError(
            f"the dev server (pid {pid}) did not stop within {_DEV_STOP_TIMEOUT:g}s and was killed; "
            f"Zeebe or Redis may still run, see {state_dir / _DEV_LOG_FILE}",
            ExitCode.SOFTWARE,
        )
    out.result(
        {"stopped": True, **state}, f"stopped Zeebe at {state['zeebe_address']} and Redis at {state['redis_url']}"
    )
    return ExitCode.OK


def cmd_dev_serve(args: argparse.Namespace, out: Output) -> ExitCode:
    """The background server `dev up` starts: runs Zeebe and Redis until SIGTERM, then stops both."""
    from zeebe_celery.testing import RedisServer, StackError, ZeebeBroker
    from zeebe_celery.testing.zeebe import ZEEBE_VERSION

    setup_logging("INFO", "text", stream=out.stderr)
    state_dir = _state_dir(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    redis_server = RedisServer(port=args.redis_port or None)
    broker = ZeebeBroker(gateway_port=args.zeebe_port or None)
    try:
        redis_server.start()
        if not stop.is_set():
            broker.start()
        if stop.is_set():
            return ExitCode.OK
        state = {
            "pid": os.getpid(),
            "zeebe_address": broker.address,
            "redis_url": redis_server.url,
            "zeebe_version": ZEEBE_VERSION,
            "log": str(state_dir / _DEV_LOG_FILE),
            "started_at": time.time(),
        }
        _write_state(state_dir, state)
        logger.info("Zeebe at %s and Redis at %s are up", broker.address, redis_server.url)
        while not stop.wait(1.0):
            if not broker.running or not redis_server.running:
                logger.error("Zeebe or Redis exited on its own; stopping the other")
                return ExitCode.UNAVAILABLE
        return ExitCode.OK
    except StackError as exc:
        raise CliError(str(exc), ExitCode.UNAVAILABLE) from None
    finally:
        recorded = read_state(state_dir)
        if recorded is not None and recorded["pid"] == os.getpid():
            (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
        broker.stop()
        redis_server.stop()
        logger.info("stopped")


def cmd_dev_demo(args: argparse.Namespace, out: Output) -> ExitCode | int:
    try:
        from zeebe_celery import demo
    except ImportError as exc:
        raise CliError(f"the demo is not available: {exc}", ExitCode.SOFTWARE) from None
    demo_args = list(args.demo_args)
    if demo_args[:1] == ["--"]:
        demo_args = demo_args[1:]
    given = {a.split("=", 1)[0] for a in demo_args}
    if args.address and "--address" not in given:
        demo_args += ["--address", args.address]
    state = read_state(_state_dir(args))
    if state is not None and _is_dev_server(state["pid"]) and not given & {"--address", "--redis-url"}:
        # A stack from `dev up` is there: the demo uses it instead of starting its own.
        if not args.address:
            demo_args += ["--address", state["zeebe_address"]]
        demo_args += ["--redis-url", state["redis_url"]]
    from zeebe_celery.testing import StackError

    try:
        return int(demo.main(demo_args))
    except SystemExit as exc:  # the demo's own argument parser
        if exc.code is None or isinstance(exc.code, int):
            return ExitCode.USAGE if exc.code == 2 else int(exc.code or 0)
        raise CliError(str(exc.code), ExitCode.SOFTWARE) from None
    except StackError as exc:
        raise CliError(f"the demo's stack failed: {_one_line(str(exc))}", ExitCode.UNAVAILABLE) from None


# -- the parser ------------------------------------------------------------------------------------

_EPILOG = """\
exit codes:
  0   OK           success
  64  USAGE        bad command line: unknown command or option, bad option value
  65  DATAERR      bad input: invalid JSON or BPMN, request rejected by the gateway
  66  NOINPUT      a file, process, instance or other key does not exist
  69  UNAVAILABLE  the gateway, Redis or the local stack cannot be reached or started
  70  SOFTWARE     internal error (in zeebe-celery or the gateway)
  71  OSERR        the operating system refused, e.g. a port already in use
  75  TEMPFAIL     back-pressure or no answer in time; try again
  77  NOPERM       the credentials were refused or lack permission
  78  CONFIG       invalid settings; the message names the environment variable

The gateway connection comes from Camunda's environment variables (ZEEBE_ADDRESS, ZEEBE_CLIENT_ID,
ZEEBE_CLIENT_SECRET, ZEEBE_AUTHORIZATION_SERVER_URL, CAMUNDA_CLUSTER_ID, ...) and a .env file;
the bridge's own options from ZEEBE_CELERY_* variables.
"""

_VARIABLES_HELP = "variables as a JSON object, or @FILE to read them from a file"


def _common_options(*, top: bool) -> _Parser:
    # On the top parser they have defaults; on each command they are SUPPRESSed, so an option given
    # before the command is not reset by the command's parser.
    common = _Parser(add_help=False)
    default: Any = None if top else argparse.SUPPRESS
    common.add_argument(
        "--output",
        "-o",
        choices=("text", "json"),
        default="text" if top else argparse.SUPPRESS,
        help="text for people (default), or one JSON document on stdout for scripts",
    )
    common.add_argument(
        "--address", default=default, metavar="HOST:PORT", help="the Zeebe gateway, instead of $ZEEBE_ADDRESS"
    )
    common.add_argument(
        "--timeout",
        type=_duration,
        default=default,
        metavar="DURATION",
        help="deadline of each gateway call, e.g. 10s (default $ZEEBE_REQUEST_TIMEOUT or 30s)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run Camunda 8 (Zeebe) jobs on Celery workers: the poller, gateway commands and a local stack.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(top=True)],
    )
    parser.add_argument("--version", "-V", action="version", version=f"{PROG} {__version__}")
    common = _common_options(top=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    def command(name: str, handler: Callable[..., Any], help: str, description: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name,
            help=help,
            description=description,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    p = command(
        "poller",
        cmd_poller,
        "activate jobs from Zeebe and publish them to Celery (runs until SIGTERM)",
        "Activate the jobs of the app's @zeebe_task types and publish each to its Celery queue\n"
        "(zeebe.<type> unless the handler names one), never more than the workers can take.\n"
        "Runs until SIGTERM or SIGINT, then hands back what it holds and exits 0.\n"
        "Options override the ZEEBE_CELERY_* variable of the same name.",
    )
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )
    p.add_argument(
        "--types",
        type=_names,
        action="extend",
        metavar="T,...",
        help="poll only these job types (comma-separated; default: every @zeebe_task type of the app)",
    )
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also take jobs pushed over StreamActivatedJobs ($ZEEBE_CELERY_STREAM)",
    )
    p.add_argument(
        "--http-port", type=_port, metavar="N", help="serve /healthz and /metrics on port N ($ZEEBE_CELERY_HTTP_PORT)"
    )
    p.add_argument(
        "--max-jobs",
        type=_int_at_least(1),
        metavar="N",
        help="per job type, at most N jobs queued or running (default 32, $ZEEBE_CELERY_MAX_JOBS)",
    )
    p.add_argument(
        "--log-format", choices=("text", "json"), help="log as text or JSON lines ($ZEEBE_CELERY_LOG_FORMAT)"
    )
    p.add_argument(
        "--log-level", metavar="LEVEL", help="DEBUG, INFO (default), WARNING, ERROR ($ZEEBE_CELERY_LOG_LEVEL)"
    )

    p = command(
        "worker-types",
        cmd_worker_types,
        "list the app's job types with their tasks and queues",
        "List the job types the app's @zeebe_task handlers take, with the Celery task, the queue\n"
        "workers must consume (celery -A APP worker -Q QUEUE), the job timeout, the in-flight bound\n"
        "and the variables fetched.",
    )
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )

    # Not on the common options: here -o is the output directory, as the seed's SDK has it.
    p = commands.add_parser(
        "templates",
        help="write a Camunda Modeler element template per connector and modelled @zeebe_task",
        description="Write one element template (JSON) per connector of the app, and per @zeebe_task that\n"
        "takes model parameters, into DIR (default: the current directory).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=cmd_templates)
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )
    p.add_argument("-o", "--output-dir", default=".", metavar="DIR", help="where to write the templates")

    p = command(
        "deploy",
        cmd_deploy,
        "deploy BPMN, DMN and form files",
        "Deploy the files in one atomic deployment and print what was created: processes with\n"
        "their versions and keys, decisions and decision requirements, forms.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a .bpmn, .dmn or .form file")
    p.add_argument("--tenant-id", metavar="ID", help="deploy for this tenant (multi-tenancy only)")

    p = command(
        "create-instance",
        cmd_create_instance,
        "start a process instance",
        "Start an instance of the latest version of a process (or --version N) and print its key.\n"
        "With --with-result, wait for it to complete and print its variables.",
    )
    p.add_argument("process_id", metavar="ID", help="the BPMN process id")
    p.add_argument("--variables", metavar="JSON|@FILE", help=_VARIABLES_HELP)
    p.add_argument("--version", type=_int_at_least(1), default=-1, metavar="N", help="this version (default: latest)")
    p.add_argument("--with-result", action="store_true", help="wait for the instance to complete; print its variables")
    p.add_argument(
        "--request-timeout",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="with --with-result, how long to wait, e.g. 30s or 2m (default 60s)",
    )
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")

    p = command(
        "publish",
        cmd_publish,
        "publish a message",
        "Publish a message for a subscription with the same correlation key; it waits --ttl for\none to appear.",
    )
    p.add_argument("name", metavar="MESSAGE", help="the message name")
    p.add_argument(
        "--correlation-key",
        default="",
        metavar="K",
        help="matched against the subscription's correlation key (empty for message start events)",
    )
    p.add_argument("--variables", metavar="JSON|@FILE", help=_VARIABLES_HELP)
    p.add_argument("--ttl", type=_duration, default=0.0, metavar="DURATION", help="time to live, e.g. 1m (default 0)")
    p.add_argument("--message-id", default="", metavar="ID", help="a unique id; a second message with it is refused")
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")

    p = command(
        "broadcast-signal",
        cmd_broadcast_signal,
        "broadcast a signal",
        "Broadcast a signal to every signal event waiting for NAME.",
    )
    p.add_argument("name", metavar="NAME", help="the signal name")
    p.add_argument("--variables", metavar="JSON|@FILE", help=_VARIABLES_HELP)
    p.add_argument("--tenant-id", metavar="ID", help="the tenant (multi-tenancy only)")

    p = command("cancel", cmd_cancel, "cancel a process instance", "Cancel a running process instance by its key.")
    p.add_argument("key", type=_int_at_least(1), metavar="KEY", help="the process instance key")

    command(
        "status",
        cmd_status,
        "show the cluster topology",
        "Show the cluster as the gateway sees it: size, partitions, replication factor, gateway\n"
        "version, then each broker with its address, version and the role and health of each\n"
        "partition. Exits 69 when a partition has no healthy leader.",
    )

    p = command(
        "dev",
        _no_handler,
        "a local Zeebe and Redis for development; the demo",
        "A local Zeebe broker and Redis for development, running in the background.",
    )
    dev = p.add_subparsers(dest="dev_command", metavar="{up,down,demo}", parser_class=_Parser, required=True)

    def dev_command(
        name: str, handler: Callable[..., Any], help: str | None, description: str
    ) -> argparse.ArgumentParser:
        options: dict[str, Any] = {
            "parents": [common],
            "description": description,
            "formatter_class": argparse.RawDescriptionHelpFormatter,
        }
        if help is not None:  # without help=, the command is not listed
            options["help"] = help
        sub: argparse.ArgumentParser = dev.add_parser(name, **options)
        sub.set_defaults(handler=handler)
        sub.add_argument(
            "--state-dir",
            metavar="DIR",
            help="where the running stack is recorded (default ~/.cache/zeebe-celery/dev)",
        )
        return sub

    p = dev_command(
        "up",
        cmd_dev_up,
        "start Zeebe and Redis in the background and print their addresses",
        "Start a Zeebe broker (Java 21+; downloaded with Maven on first use) and Redis on\n"
        "127.0.0.1 in the background, wait until they are ready, and print export lines:\n"
        '  eval "$(zeebe-celery dev up)"\n'
        "If they already run, print their addresses again.",
    )
    p.add_argument("--zeebe-port", type=_port, default=0, metavar="N", help="the gateway port (default: a free port)")
    p.add_argument("--redis-port", type=_port, default=0, metavar="N", help="the Redis port (default: a free port)")
    p.add_argument(
        "--wait",
        type=_duration,
        default=parse_duration("40m"),
        metavar="DURATION",
        help="how long to wait for them (default 40m, for the first download)",
    )
    dev_command("down", cmd_dev_down, "stop what `dev up` started", "Stop the Zeebe broker and Redis `dev up` started.")
    p = dev_command(
        "demo",
        cmd_dev_demo,
        "run the example shop end to end (options go to the demo, e.g. --instances 50)",
        "Run the example shop end to end: poller, Celery workers and a few hundred orders.\n"
        "It uses the stack of `dev up` when that runs, else starts its own. Other options\n"
        "go to the demo (e.g. --instances N); `dev demo -- --help` shows them.",
    )
    p.set_defaults(takes_extra=True)
    p = dev_command("_serve", cmd_dev_serve, None, "The background server of `dev up`.")
    p.add_argument("--zeebe-port", type=_port, default=0)
    p.add_argument("--redis-port", type=_port, default=0)
    return parser


def _no_handler(args: argparse.Namespace, out: Output) -> ExitCode:
    raise AssertionError("argparse requires an action")


# -- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``zeebe-celery`` command line; returns the exit status (an :class:`ExitCode`)."""
    parser = build_parser()
    stdout, stderr = sys.stdout, sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = parser.parse_known_args(arguments)
        if extra and not getattr(args, "takes_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.demo_args = extra
    except _UsageError as exc:
        exc.parser.print_usage(stderr)
        stderr.write(f"{exc.parser.prog}: error: {exc.message}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE

    out = Output(args.output, stdout, stderr)
    name = args.command + (f" {args.dev_command}" if getattr(args, "dev_command", None) else "")
    root = logging.getLogger()
    level = root.level
    handlers = list(root.handlers)
    # One-shot commands show library warnings; the poller and the dev server set their own level.
    setup_logging("WARNING", "text", stream=stderr)
    try:
        return int(args.handler(args, out))
    except CliError as exc:
        out.failure(name, exc)
        return exc.code
    except ConfigurationError as exc:
        error = configuration_failure(exc)
        out.failure(name, error)
        return error.code
    except GatewayError as exc:
        error = gateway_failure(exc, _address_for_errors(args))
        out.failure(name, error)
        return error.code
    except KeyboardInterrupt:
        out.failure(name, CliError("interrupted", ExitCode.INTERRUPTED))
        return ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: keep the traceback for the report, end with one line
        traceback.print_exc(file=stderr)
        error = CliError(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}", ExitCode.SOFTWARE)
        out.failure(name, error)
        return error.code
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def _address_for_errors(args: argparse.Namespace) -> str:
    try:
        return zeebe_settings(args).gateway_address
    except ConfigurationError:
        return str(args.address or "the configured address")


if __name__ == "__main__":
    sys.exit(main())
