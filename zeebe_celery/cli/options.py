"""Argument types, the options every command takes, and the settings and client they build."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zeebe_celery.cli.output import CliError, ExitCode, Parser, gateway_failure
from zeebe_celery.config import ZeebeSettings, load_settings, parse_duration
from zeebe_celery.errors import GatewayError
from zeebe_celery.gateway.client import ZeebeClient

__all__ = [
    "CLI_RETRY_BUDGET",
    "VARIABLES_HELP",
    "common_options",
    "duration",
    "gateway_client",
    "int_at_least",
    "names",
    "port",
    "read_variables",
    "zeebe_settings",
]

# A command a person waits for: transient failures are retried this long, then reported.
CLI_RETRY_BUDGET = 3.0

VARIABLES_HELP = "variables as a JSON object, or @FILE to read them from a file"


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def port(text: str) -> int:
    value = int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def names(text: str) -> list[str]:
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


def common_options(*, top: bool) -> Parser:
    # On the top parser they have defaults; on each command they are SUPPRESSed, so an option given
    # before the command is not reset by the command's parser.
    common = Parser(add_help=False)
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
        type=duration,
        default=default,
        metavar="DURATION",
        help="deadline of each gateway call, e.g. 10s (default $ZEEBE_REQUEST_TIMEOUT or 30s)",
    )
    return common


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
    settings = zeebe_settings(args)
    try:
        with ZeebeClient(settings) as client:
            yield client.with_options(retry_budget=CLI_RETRY_BUDGET)
    except GatewayError as exc:
        raise gateway_failure(exc, settings.gateway_address) from None
