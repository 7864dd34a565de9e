"""What a command prints, and how failures become one line on stderr and a named exit code.

:class:`ExitCode` follows BSD's sysexits. With ``--output json`` every command prints one JSON document on
stdout, also when it fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from zeebe_celery.errors import (
    AlreadyExistsError,
    AuthorizationServerError,
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
    UnsupportedByGatewayError,
)

__all__ = [
    "PROG",
    "CliError",
    "ExitCode",
    "Output",
    "Parser",
    "UsageError",
    "asdict",
    "configuration_failure",
    "gateway_failure",
    "one_line",
    "table",
]

PROG = "zeebe-celery"


class ExitCode(enum.IntEnum):
    """Exit statuses, after BSD's sysexits.h, so scripts can tell failures apart."""

    OK = 0
    USAGE = 64  # the command line is wrong: unknown command or option, bad value
    DATAERR = 65  # the input is wrong: invalid JSON or BPMN, rejected by the gateway
    NOINPUT = 66  # a file, process, instance or key does not exist
    UNAVAILABLE = 69  # the gateway, Redis or the local stack cannot be reached or started
    SOFTWARE = 70  # an internal error, in zeebe-celery or the gateway
    OSERR = 71  # the operating system refused, e.g. a port already in use
    CANTCREAT = 73  # a file or directory cannot be created, e.g. the engine's data directory
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


class UsageError(Exception):
    """A wrong command line: ``parser`` prints its usage, and the command exits 64."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become exit code 64 instead of argparse's 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def one_line(text: str) -> str:
    return " ".join(text.split())


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


def asdict(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: asdict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [asdict(v) for v in value]
    if isinstance(value, dict):
        return {k: asdict(v) for k, v in value.items()}
    return value


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def gateway_failure(exc: GatewayError, address: str) -> CliError:
    """The message and exit code for a failed gateway call."""
    details = one_line(exc.details) or str(exc)
    if isinstance(exc, AuthorizationServerError):  # raised on our side; the gateway itself may be fine
        return CliError(details, ExitCode.UNAVAILABLE)
    if isinstance(exc, GatewayUnavailableError):
        return CliError(f"cannot reach the Zeebe gateway at {address}: {details}", ExitCode.UNAVAILABLE)
    if isinstance(exc, UnauthenticatedError):
        return CliError(f"the credentials were refused: {details}", ExitCode.NOPERM)
    if isinstance(exc, PermissionDeniedError):
        return CliError(f"permission denied: {details}", ExitCode.NOPERM)
    if isinstance(exc, InvalidArgumentError | MessageTooLargeError):
        return CliError(f"rejected by the gateway: {details}", ExitCode.DATAERR)
    if isinstance(exc, NotFoundError):
        return CliError(f"not found: {details}", ExitCode.NOINPUT)
    if isinstance(exc, UnsupportedByGatewayError):  # raised on our side, before anything was sent
        return CliError(f"not sent: {details}", ExitCode.USAGE)
    if isinstance(exc, FailedPreconditionError | AlreadyExistsError):
        return CliError(f"refused by the gateway: {details}", ExitCode.DATAERR)
    if isinstance(exc, DeadlineExceededError | GatewayTimeoutError):
        return CliError(f"no answer from the gateway at {address} in time: {details}", ExitCode.TEMPFAIL)
    if isinstance(exc, BackPressureError):
        return CliError(f"the broker is overloaded (back-pressure), try again: {details}", ExitCode.TEMPFAIL)
    return CliError(f"the gateway failed: {exc}", ExitCode.SOFTWARE)


def configuration_failure(exc: ConfigurationError) -> CliError:
    return CliError(exc.one_line(), ExitCode.CONFIG)
