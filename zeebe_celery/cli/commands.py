"""Where a command module adds its commands to the ``zeebe-celery`` parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from zeebe_celery.cli.output import ExitCode, Output, Parser

__all__ = ["Commands", "Handler"]

Handler = Callable[[argparse.Namespace, Output], "ExitCode | int"]


class Commands:
    """Where a command module adds its commands: each gets the common options, a handler and its full name."""

    def __init__(self, subparsers: Any, common: argparse.ArgumentParser, *, prefix: str = "") -> None:
        self._subparsers = subparsers
        self._common = common
        self._prefix = prefix

    def add(
        self, name: str, handler: Handler, *, help: str | None, description: str, common: bool = True
    ) -> argparse.ArgumentParser:
        """Add command ``name``; without ``help`` it is not listed; ``common=False`` leaves out the common options."""
        options: dict[str, Any] = {
            "parents": [self._common] if common else [],
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
