"""The ``zeebe-celery`` argument parser, assembled from the command modules.

Each command module has a ``register(commands)`` function that adds its commands (or a group of them) to a
:class:`Commands`; adding a command group is one module and one entry in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from types import ModuleType
from typing import Any

from zeebe_celery._version import __version__
from zeebe_celery.cli import dev, gateway, poller
from zeebe_celery.cli.options import common_options
from zeebe_celery.cli.output import PROG, ExitCode, Output, Parser

__all__ = ["COMMAND_MODULES", "Commands", "Handler", "build_parser"]

Handler = Callable[[argparse.Namespace, Output], "ExitCode | int"]

# The order is the order of `zeebe-celery --help`.
COMMAND_MODULES: tuple[ModuleType, ...] = (poller, gateway, dev)

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


class Commands:
    """Where a command module adds its commands: each gets the common options, a handler and its full name."""

    def __init__(self, subparsers: Any, common: argparse.ArgumentParser, *, prefix: str = "") -> None:
        self._subparsers = subparsers
        self._common = common
        self._prefix = prefix

    def add(self, name: str, handler: Handler, *, help: str | None, description: str) -> argparse.ArgumentParser:
        """Add command ``name``; without ``help`` it is not listed."""
        options: dict[str, Any] = {
            "parents": [self._common],
            "description": description,
            "formatter_class": argparse.RawDescriptionHelpFormatter,
        }
        if help is not None:
            options["help"] = help
        sub: argparse.ArgumentParser = self._subparsers.add_parser(name, **options)
        sub.set_defaults(handler=handler, command_name=f"{self._prefix}{name}")
        return sub

    def group(
        self, name: str, *, help: str, description: str, metavar: str
    ) -> tuple[argparse.ArgumentParser, Commands]:
        """Add a command group such as ``dev``: its parser, and where its own commands go."""
        parser = self.add(name, _no_handler, help=help, description=description)
        subparsers = parser.add_subparsers(dest=f"{name}_command", metavar=metavar, parser_class=Parser, required=True)
        return parser, Commands(subparsers, self._common, prefix=f"{self._prefix}{name} ")


def _no_handler(args: argparse.Namespace, out: Output) -> ExitCode:
    raise AssertionError("argparse requires a command of the group")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Run Camunda 8 (Zeebe) jobs on Celery workers: the poller, gateway commands and a local stack.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options(top=True)],
    )
    parser.add_argument("--version", "-V", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, required=True)
    commands = Commands(subparsers, common_options(top=False))
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser
