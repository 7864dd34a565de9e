"""``zeebe-celery templates``: Camunda Modeler element templates for the app's connectors and handlers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from zeebe_celery.cli.output import CliError, ExitCode, Output
from zeebe_celery.cli.poller import load_app
from zeebe_celery.templates import write_templates

if TYPE_CHECKING:
    from zeebe_celery.cli.commands import Commands

__all__ = ["cmd_templates", "register"]


def cmd_templates(args: argparse.Namespace, out: Output) -> ExitCode:
    app = load_app(args.app)
    try:
        written = write_templates(app, Path(args.output_dir))
    except OSError as exc:
        raise CliError(f"cannot write templates to {args.output_dir}: {exc.strerror or exc}", ExitCode.OSERR) from None
    out.result([str(p) for p in written], "\n".join(str(p) for p in written))
    return ExitCode.OK


def register(commands: Commands) -> None:
    # Without the common options: here -o is the output directory, as the seed's SDK has it.
    p = commands.add(
        "templates",
        cmd_templates,
        help="write a Camunda Modeler element template per connector and modelled @zeebe_task",
        description="Write one element template (JSON) per connector of the app, and per @zeebe_task that\n"
        "takes model parameters, into DIR (default: the current directory).",
        common=False,
    )
    p.add_argument(
        "-A", "--app", required=True, metavar="APP", help="the Celery app, as for `celery -A`: module or module:attr"
    )
    p.add_argument("-o", "--output-dir", default=".", metavar="DIR", help="where to write the templates")
