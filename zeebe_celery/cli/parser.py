"""The ``zeebe-celery`` argument parser, assembled from the command modules.

Each command module has a ``register(commands)`` function that adds its commands (or a group of them) to a
:class:`~zeebe_celery.cli.commands.Commands`; adding a command group is one module and one entry in
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from zeebe_celery._version import __version__
from zeebe_celery.cli import dead, dev, engine, gateway, poller, templates
from zeebe_celery.cli.commands import Commands
from zeebe_celery.cli.options import common_options
from zeebe_celery.cli.output import PROG, Parser

__all__ = ["COMMAND_MODULES", "build_parser"]

# The order is the order of `zeebe-celery --help`.
COMMAND_MODULES: tuple[ModuleType, ...] = (poller, dead, templates, gateway, dev, engine)

_EPILOG = """\
exit codes:
  0   OK           success
  64  USAGE        bad command line: unknown command or option, bad option value
  65  DATAERR      bad input: invalid JSON or BPMN, request rejected by the gateway
  66  NOINPUT      a file, process, instance or other key does not exist
  69  UNAVAILABLE  the gateway, Redis or the local stack cannot be reached or started
  70  SOFTWARE     internal error (in zeebe-celery or the gateway)
  71  OSERR        the operating system refused, e.g. a port already in use
  73  CANTCREAT    a file or directory cannot be created, e.g. the engine's data directory
  75  TEMPFAIL     back-pressure or no answer in time, or the data directory is another
                   engine's; try again
  77  NOPERM       the credentials were refused or lack permission
  78  CONFIG       invalid settings; the message names the environment variable

The gateway connection comes from Camunda's environment variables (ZEEBE_ADDRESS, ZEEBE_CLIENT_ID,
ZEEBE_CLIENT_SECRET, ZEEBE_AUTHORIZATION_SERVER_URL, CAMUNDA_CLUSTER_ID, ...) and a .env file;
the bridge's own options from ZEEBE_CELERY_* variables.
"""


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
