"""``zeebe-celery``: the poller, gateway commands for scripts, and a local development stack.

The command is thin: it parses arguments, builds settings, calls library code and maps failures to a
one-line message on stderr and a named exit code (:class:`ExitCode`, after BSD's sysexits). A user's
mistake never ends in a traceback. With ``--output json`` every command prints one JSON document on
stdout, also when it fails. Each command group is a module of this package (see :mod:`.parser`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from zeebe_celery.cli.options import read_variables, zeebe_settings
from zeebe_celery.cli.output import (
    CliError,
    ExitCode,
    Output,
    UsageError,
    configuration_failure,
    gateway_failure,
    one_line,
)
from zeebe_celery.cli.parser import build_parser
from zeebe_celery.cli.poller import flow_control_location, load_app
from zeebe_celery.errors import ConfigurationError, GatewayError
from zeebe_celery.logs import setup_logging

__all__ = [
    "CliError",
    "ExitCode",
    "build_parser",
    "configuration_failure",
    "flow_control_location",
    "gateway_failure",
    "load_app",
    "main",
    "read_variables",
]


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
    except UsageError as exc:
        exc.parser.print_usage(stderr)
        stderr.write(f"{exc.parser.prog}: error: {exc.message}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE

    out = Output(args.output, stdout, stderr)
    name = args.command_name
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
        error = CliError(f"internal error: {type(exc).__name__}: {one_line(str(exc))}", ExitCode.SOFTWARE)
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
