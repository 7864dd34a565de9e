"""FEEL's built-in functions, by family, in one registry keyed by FEEL name (``"string length"``).

A built-in that is given arguments it cannot take raises ``TypeError`` / ``ValueError`` (or an
arithmetic or lookup error); :func:`invoke` turns those into ``null``, as feel-scala does. Only
:class:`~..errors.FeelEvaluationError` (raised by ``assert``) escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import contexts, conversion, lists, misc, numbers, strings

__all__ = ["BUILTINS", "invoke"]

BUILTINS: dict[str, Callable[..., Any]] = {
    **strings.FUNCTIONS,
    **numbers.FUNCTIONS,
    **lists.FUNCTIONS,
    **contexts.FUNCTIONS,
    **conversion.FUNCTIONS,
    **misc.FUNCTIONS,
}

_FAILURES = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, re.error)


def invoke(function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call a built-in; a failure to apply it to these arguments gives FEEL's ``null``."""
    try:
        return function(*args, **kwargs)
    except _FAILURES:
        return None
