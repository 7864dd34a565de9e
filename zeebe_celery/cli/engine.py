"""``zeebe-celery engine``: the project's Zeebe-compatible engine in the foreground, until SIGTERM."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from zeebe_celery.cli.options import duration, int_at_least, port
from zeebe_celery.cli.output import CliError, ExitCode, Output
from zeebe_celery.engine import EngineStateError
from zeebe_celery.engine.feel import FeelLimits
from zeebe_celery.engine.serve import serve
from zeebe_celery.logs import setup_logging

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["cmd_engine", "register"]


def cmd_engine(args: argparse.Namespace, out: Output) -> ExitCode:
    setup_logging(args.log_level, "text", stream=out.stderr)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together", ExitCode.USAGE)
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            raise CliError(f"no such file: {path}", ExitCode.NOINPUT)
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
            certificate=args.tls_cert,
            private_key=args.tls_key,
            token=args.token,
            max_in_flight=args.max_in_flight,
            feel_limits=feel_limits,
            out=out.stdout,
        )
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
    p.add_argument("--monitoring-port", type=port, metavar="N", help="serve inspection JSON over HTTP on N")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate chain")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="... and this private key")
    p.add_argument("--token", help="require this bearer token in the authorization header of every call")
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
