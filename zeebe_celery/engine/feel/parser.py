"""The FEEL grammar (``feel.lark``) loaded once into an LALR parser, and the text-to-nodes step."""

from __future__ import annotations

from importlib import resources
from typing import Any

from lark import Lark, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.exceptions import VisitError

from .compiler import Compiler
from .errors import FeelError, FeelSyntaxError

__all__ = ["parse"]

_GRAMMAR = resources.files(__package__).joinpath("feel.lark").read_text(encoding="utf-8")
_PARSER = Lark(_GRAMMAR, parser="lalr", regex=True, start=["expression", "unary_tests"], propagate_positions=False)


def _describe(text: str, error: UnexpectedInput) -> str:
    where = f"line {error.line}, column {error.column}" if text.count("\n") else f"column {error.column}"
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        return f"failed to parse FEEL expression '{text}': unexpected end of expression"
    if isinstance(error, UnexpectedToken):
        return f"failed to parse FEEL expression '{text}': unexpected '{error.token}' at {where}"
    if isinstance(error, UnexpectedCharacters):
        return f"failed to parse FEEL expression '{text}': unexpected character '{error.char}' at {where}"
    return f"failed to parse FEEL expression '{text}' at {where}"


def parse(text: str, start: str) -> tuple[Any, bool]:
    """The compiled form of ``text`` (a Node for ``expression``, a list of Tests for ``unary_tests``) and
    whether it is costly: whether it loops, filters or calls functions, and so needs a step budget.

    Raises FeelSyntaxError with the position of the first token that does not fit.
    """
    try:
        tree = _PARSER.parse(text, start=start)
        compiler = Compiler()
        return compiler.transform(tree), compiler.costly
    except UnexpectedInput as error:
        raise FeelSyntaxError(_describe(text, error)) from None
    except RecursionError:
        raise FeelSyntaxError(f"failed to parse FEEL expression '{text[:100]}': too deeply nested") from None
    except VisitError as error:
        if isinstance(error.orig_exc, RecursionError):
            raise FeelSyntaxError(f"failed to parse FEEL expression '{text[:100]}': too deeply nested") from None
        if isinstance(error.orig_exc, FeelError):
            raise FeelSyntaxError(f"invalid FEEL expression '{text}': {error.orig_exc}") from None
        raise
