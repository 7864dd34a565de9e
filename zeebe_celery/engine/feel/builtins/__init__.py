"""FEEL's built-in functions, by family, in one registry keyed by FEEL name (``"string length"``).

Each name has one or more :class:`~.signature.Overload` (FEEL parameter names and a Python function), so
calls by position and by name (``sqrt(number: 4)``) both work; the compiler picks the overload once.
A built-in that is given arguments it cannot take raises ``TypeError`` / ``ValueError`` (or an
arithmetic or lookup error); :func:`invoke` turns those into ``null``, as feel-scala does. Only
:class:`~..errors.FeelEvaluationError` (``assert``, an exceeded limit) escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import contexts, conversion, lists, misc, numbers, ranges, strings
from .signature import Overload, by_arity, by_names

__all__ = ["BUILTINS", "Overload", "by_arity", "by_names", "invoke"]

BUILTINS: dict[str, list[Overload]] = {
    **strings.FUNCTIONS,
    **numbers.FUNCTIONS,
    **lists.FUNCTIONS,
    **contexts.FUNCTIONS,
    **conversion.FUNCTIONS,
    **misc.FUNCTIONS,
    **ranges.FUNCTIONS,
}

_FAILURES = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RecursionError)


def invoke(function: Callable[..., Any], args: list[Any]) -> Any:
    """Call a built-in; a failure to apply it to these arguments gives FEEL's ``null``."""
    try:
        return function(*args)
    except _FAILURES:
        return None
