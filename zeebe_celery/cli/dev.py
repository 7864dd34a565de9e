"""``zeebe-celery dev``: the project's Zeebe-compatible engine and Redis in the background, and the demo on them.

``dev up`` spawns ``dev _serve`` in its own session and waits for its state file; ``dev down`` stops it.
Starting, watching and stopping processes goes through :mod:`zeebe_celery.stack.process`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from zeebe_celery.cli.options import duration, port
from zeebe_celery.cli.output import PROG, CliError, ExitCode, Output, one_line
from zeebe_celery.config import parse_duration
from zeebe_celery.engine import EngineStateError, ZeebeEngine
from zeebe_celery.engine.server import PROTOCOL_VERSION
from zeebe_celery.errors import StackError
from zeebe_celery.logs import setup_logging
from zeebe_celery.stack.process import POLL_INTERVAL, log_tail, pid_alive, stop_pid
from zeebe_celery.stack.redis import RedisServer

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["cmd_dev_demo", "cmd_dev_down", "cmd_dev_serve", "cmd_dev_up", "read_state", "register"]

logger = logging.getLogger(__name__)

_DEV_STATE_FILE = "dev.json"
_DEV_LOG_FILE = "dev.log"
_DEV_STOP_TIMEOUT = 90.0


def default_state_dir() -> Path:
    """``$ZEEBE_CELERY_CACHE_DIR/dev``, else ``$XDG_CACHE_HOME/zeebe-celery/dev`` (``~/.cache`` by default)."""
    configured = os.environ.get("ZEEBE_CELERY_CACHE_DIR")
    if configured:
        return Path(configured).expanduser() / "dev"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "zeebe-celery" / "dev"


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


def cmd_dev_up(args: argparse.Namespace, out: Output) -> ExitCode:
    state_dir = _state_dir(args)
    state = read_state(state_dir)
    if state is not None and _is_dev_server(state["pid"]):
        out.note(f"the local stack is already running (pid {state['pid']}); `{PROG} dev down` stops it")
        _note_web_ui(out, state)
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
    out.note(f"starting the engine and Redis in the background (log: {log_path})")
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
                raise CliError(f"the local stack failed to start: {_short_tail(log_path)}", ExitCode.UNAVAILABLE)
            if time.monotonic() > deadline:
                stop_pid(pid, grace=_DEV_STOP_TIMEOUT)
                raise CliError(f"the local stack was not up after {args.wait:g}s; see {log_path}", ExitCode.UNAVAILABLE)
            time.sleep(POLL_INTERVAL)
    except KeyboardInterrupt:
        stop_pid(pid, grace=_DEV_STOP_TIMEOUT)
        raise
    out.note(
        f"the engine at {state['zeebe_address']} and Redis at {state['redis_url']} are up; `{PROG} dev down` stops them"
    )
    _note_web_ui(out, state)
    out.result(state, _exports(state))
    return ExitCode.OK


def _note_web_ui(out: Output, state: Mapping[str, Any]) -> None:
    if state.get("web_url"):
        out.note(f"the engine's web UI: open {state['web_url']} in a browser")


def cmd_dev_down(args: argparse.Namespace, out: Output) -> ExitCode:
    state_dir = _state_dir(args)
    state = read_state(state_dir)
    if state is None or not _is_dev_server(state["pid"]):
        (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
        out.note("the local stack is not running")
        out.result({"stopped": False, "running": False}, "")
        return ExitCode.OK
    pid = state["pid"]
    clean = stop_pid(pid, grace=_DEV_STOP_TIMEOUT)
    (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
    if not clean:
        raise CliError(
            f"the dev server (pid {pid}) did not stop within {_DEV_STOP_TIMEOUT:g}s and was killed; "
            f"the engine or Redis may still run, see {state_dir / _DEV_LOG_FILE}",
            ExitCode.SOFTWARE,
        )
    out.result(
        {"stopped": True, **state}, f"stopped the engine at {state['zeebe_address']} and Redis at {state['redis_url']}"
    )
    return ExitCode.OK


def cmd_dev_serve(args: argparse.Namespace, out: Output) -> ExitCode:
    """The background server `dev up` starts: runs the engine and Redis until SIGTERM, then stops both."""
    setup_logging("INFO", "text", stream=out.stderr)
    state_dir = _state_dir(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    redis_server = RedisServer(port=args.redis_port or None)
    # The inspection port on a free port of 127.0.0.1: the web UI a newcomer watches the demo on.
    engine = ZeebeEngine(port=args.zeebe_port or 0, monitoring_port=0)
    try:
        redis_server.start()
        if not stop.is_set():
            try:
                engine.start()
            except EngineStateError as exc:
                raise CliError(f"the engine cannot start: {exc}", ExitCode.UNAVAILABLE) from None
        if stop.is_set():
            return ExitCode.OK
        state = {
            "pid": os.getpid(),
            "zeebe_address": engine.address,
            "redis_url": redis_server.url,
            "zeebe_version": PROTOCOL_VERSION,
            "web_url": engine.web_url,
            "log": str(state_dir / _DEV_LOG_FILE),
            "started_at": time.time(),
        }
        _write_state(state_dir, state)
        logger.info("the engine at %s and Redis at %s are up", engine.address, redis_server.url)
        while not stop.wait(1.0):
            if not redis_server.running:
                logger.error("Redis exited on its own; stopping the engine")
                return ExitCode.UNAVAILABLE
        return ExitCode.OK
    except StackError as exc:
        raise CliError(str(exc), ExitCode.UNAVAILABLE) from None
    finally:
        recorded = read_state(state_dir)
        if recorded is not None and recorded["pid"] == os.getpid():
            (state_dir / _DEV_STATE_FILE).unlink(missing_ok=True)
        engine.stop()
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
        if state.get("web_url"):
            out.note(f"watch the orders run in the engine's web UI: {state['web_url']}")
    try:
        return int(demo.main(demo_args))
    except SystemExit as exc:  # the demo's own argument parser
        if exc.code is None or isinstance(exc.code, int):
            return ExitCode.USAGE if exc.code == 2 else int(exc.code or 0)
        raise CliError(str(exc.code), ExitCode.SOFTWARE) from None
    except StackError as exc:
        raise CliError(f"the demo's stack failed: {one_line(str(exc))}", ExitCode.UNAVAILABLE) from None


def _short_tail(path: Path) -> str:
    return " | ".join(line.strip() for line in log_tail(path, 5).splitlines())


def register(commands: Commands) -> None:
    _, dev = commands.group(
        "dev",
        help="a local Zeebe-compatible engine and Redis for development; the demo",
        description="The project's Zeebe-compatible engine and Redis for development, running in the background.",
        metavar="{up,down,demo}",
    )

    def dev_command(name: str, handler: Any, help: str | None, description: str) -> argparse.ArgumentParser:
        sub = dev.add(name, handler, help=help, description=description)
        sub.add_argument(
            "--state-dir",
            metavar="DIR",
            help="where the running stack is recorded (default ~/.cache/zeebe-celery/dev)",
        )
        return sub

    p = dev_command(
        "up",
        cmd_dev_up,
        "start the engine and Redis in the background and print their addresses",
        "Start the project's Zeebe-compatible engine (no Java, no Docker) and Redis on\n"
        "127.0.0.1 in the background, wait until they are ready, and print export lines:\n"
        '  eval "$(zeebe-celery dev up)"\n'
        "If they already run, print their addresses again.",
    )
    p.add_argument("--zeebe-port", type=port, default=0, metavar="N", help="the gateway port (default: a free port)")
    p.add_argument("--redis-port", type=port, default=0, metavar="N", help="the Redis port (default: a free port)")
    p.add_argument(
        "--wait",
        type=duration,
        default=parse_duration("2m"),
        metavar="DURATION",
        help="how long to wait for them (default 2m)",
    )
    dev_command("down", cmd_dev_down, "stop what `dev up` started", "Stop the engine and Redis `dev up` started.")
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
    p.add_argument("--zeebe-port", type=port, default=0)
    p.add_argument("--redis-port", type=port, default=0)
