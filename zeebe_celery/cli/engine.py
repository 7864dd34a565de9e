"""``zeebe-celery engine``: the project's Zeebe-compatible engine in the foreground, until SIGTERM.

The bearer token comes from ``--token-file``, else ``ZEEBE_CELERY_ENGINE_TOKEN``; ``--token`` still works
but shows in ``ps`` and ``/proc/PID/cmdline``. A data directory another engine holds ends the command with
EX_TEMPFAIL (75): the lock frees as soon as that engine stops (a rolling restart, say), so a supervisor
that retries later is right to; a directory or lock file that cannot be made is EX_CANTCREAT (73).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from zeebe_celery.cli.options import duration, int_at_least, port
from zeebe_celery.cli.output import CliError, ExitCode, Output
from zeebe_celery.engine import EngineStateError
from zeebe_celery.engine.feel import FeelLimits
from zeebe_celery.engine.lock import DataDirectoryError, DataDirectoryInUse
from zeebe_celery.engine.serve import serve
from zeebe_celery.logs import setup_logging

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["TOKEN_VARIABLE", "cmd_engine", "engine_token", "register"]

TOKEN_VARIABLE = "ZEEBE_CELERY_ENGINE_TOKEN"  # noqa: S105 - the variable's name, not a token


def engine_token(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> str | None:
    """The bearer token the engine requires, from ``--token``, ``--token-file`` or the environment; None for
    none. Raises CliError for two sources at once, a missing file or an empty token."""
    if args.token is not None and args.token_file is not None:
        raise CliError("--token and --token-file go alone: give one", ExitCode.USAGE)
    token: str
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise CliError(f"no such file: {args.token_file}", ExitCode.NOINPUT) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read the token file {args.token_file}: {exc}", ExitCode.NOINPUT) from None
        source = f"the token file {args.token_file}"
    elif args.token is not None:
        token, source = str(args.token), "--token"
    elif TOKEN_VARIABLE in environ:
        token, source = environ[TOKEN_VARIABLE].strip(), TOKEN_VARIABLE
    else:
        return None
    if not token or any(c.isspace() for c in token):
        raise CliError(f"the token from {source} is empty or holds whitespace", ExitCode.CONFIG)
    return token


def cmd_engine(args: argparse.Namespace, out: Output) -> ExitCode:
    setup_logging(args.log_level, "text", stream=out.stderr)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together", ExitCode.USAGE)
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            raise CliError(f"no such file: {path}", ExitCode.NOINPUT)
    token = engine_token(args, os.environ)
    try:
        feel_limits = FeelLimits(
            max_steps=args.feel_max_steps, max_size=args.feel_max_size, regex_timeout=args.feel_regex_timeout
        )
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    try:
        serve(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            monitoring_port=args.monitoring_port,
            rest_port=args.rest_port,
            monitoring_host=args.monitoring_host,
            certificate=args.tls_cert,
            private_key=args.tls_key,
            token=token,
            max_in_flight=args.max_in_flight,
            feel_limits=feel_limits,
            out=out.stdout,
        )
    except DataDirectoryInUse as exc:
        raise CliError(f"the engine cannot start: {exc}", ExitCode.TEMPFAIL) from None
    except DataDirectoryError as exc:
        raise CliError(f"the engine cannot start: {exc}", ExitCode.CANTCREAT) from None
    except EngineStateError as exc:
        raise CliError(f"the engine cannot start: {exc}", ExitCode.UNAVAILABLE) from None
    logging.getLogger(__name__).info("engine stopped")
    return ExitCode.OK


def register(commands: Commands) -> None:
    p = commands.add(
        "engine",
        cmd_engine,
        help="run the project's Zeebe-compatible engine (for development and tests) until SIGTERM",
        description="Run the project's open-source, Zeebe-compatible engine: the gateway protocol on\n"
        "HOST:PORT, executing BPMN with FEEL and DMN. For development and tests; production\n"
        "runs on your own Camunda 8 cluster. Runs until SIGTERM or SIGINT, then exits 0.",
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=26500, help="the gateway port (default 26500; 0 picks one)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="keep state in DIR (SQLite); default: in memory")
    p.add_argument(
        "--rest-port", type=port, metavar="N", help="serve the Orchestration Cluster REST API (v2) on N (0 picks one)"
    )
    p.add_argument(
        "--monitoring-port",
        type=port,
        metavar="N",
        help="serve the web UI (at /) and inspection JSON over HTTP on N (they show every variable; "
        "they want the token when one is set)",
    )
    p.add_argument(
        "--monitoring-host", default="127.0.0.1", help="the address the inspection port binds (default 127.0.0.1)"
    )
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate chain")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="... and this private key")
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"require the bearer token in FILE on every call and on the inspection port (or set {TOKEN_VARIABLE})",
    )
    p.add_argument("--token", help="... or this token (visible to every user in ps; prefer --token-file)")
    p.add_argument(
        "--max-in-flight", type=int_at_least(1), metavar="N", help="answer RESOURCE_EXHAUSTED beyond N commands"
    )
    limits = FeelLimits()
    p.add_argument(
        "--feel-max-steps",
        type=int_at_least(1),
        default=limits.max_steps,
        metavar="N",
        help=f"fail a FEEL evaluation after N loop iterations, filter items and calls (default {limits.max_steps})",
    )
    p.add_argument(
        "--feel-max-size",
        type=int_at_least(1),
        default=limits.max_size,
        metavar="N",
        help=f"fail a FEEL evaluation that builds a list or string longer than N (default {limits.max_size})",
    )
    p.add_argument(
        "--feel-regex-timeout",
        type=duration,
        default=limits.regex_timeout,
        metavar="DURATION",
        help=f"fail a FEEL regular expression running longer (default {limits.regex_timeout})",
    )
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO")
