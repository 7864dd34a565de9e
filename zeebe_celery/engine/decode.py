"""Decoding what a request carries: JSON variables and durations in milliseconds, refused with
InvalidArgument (the gateway's INVALID_ARGUMENT) when malformed, so no bad value reaches the runtime and
no request ends in UNKNOWN.

JSON documents are held to what Zeebe's gateway (Jackson) accepts: nesting at most ``MAX_DEPTH`` deep,
numbers finite and integers at most ``MAX_NUMBER_LENGTH`` digits long. Durations are held to MAX_DURATION_MS,
so that a deadline in epoch milliseconds stays an int64 on the wire and on disk.
"""

from __future__ import annotations

import json
import math
from typing import Any

from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.timers import MAX_DURATION_MS

__all__ = ["MAX_DEPTH", "MAX_DURATION_MS", "MAX_NUMBER_LENGTH", "duration", "variables"]

# Jackson's StreamReadConstraints defaults, which Zeebe's gateway parses variables with.
MAX_DEPTH = 1000
MAX_NUMBER_LENGTH = 1000


class _Malformed(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: Java and Go clients could not read them back.
    raise _Malformed(f"{name} is not a JSON value")


# One decoder for every request: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)

# Numbers longer than MAX_NUMBER_LENGTH digits are refused; an int is compared, not printed, to tell.
_INT_LIMIT = 10**MAX_NUMBER_LENGTH


def _check(value: Any) -> None:
    """Raise _Malformed when containers nest deeper than MAX_DEPTH, or hold a number that is not finite or
    is too long. Iterative, so no document exhausts the stack; the parser's own C speed is kept for numbers."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Malformed(f"the document nests deeper than {MAX_DEPTH} levels")
        for child in node.values() if isinstance(node, dict) else node:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is float and not math.isfinite(child):
                raise _Malformed("a number is out of range (not a finite double)")
            elif kind is int and not -_INT_LIMIT < child < _INT_LIMIT:
                raise _Malformed(f"a number is longer than {MAX_NUMBER_LENGTH} digits")


def variables(text: str, *, what: str = "variables") -> dict[str, Any]:
    """The JSON object of a request's ``what`` field; '' is empty. Raises InvalidArgument as the gateway does."""
    if not text:
        return {}
    try:
        value = _DECODER.decode(text)
        if isinstance(value, dict):
            _check(value)
    except _Malformed as exc:
        raise InvalidArgument(f"Property '{what}' is invalid: {exc}") from exc
    except RecursionError as exc:
        raise InvalidArgument(
            f"Property '{what}' is invalid: the document nests deeper than {MAX_DEPTH} levels"
        ) from exc
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # past Python's own limit on an int's digits
            raise InvalidArgument(
                f"Property '{what}' is invalid: a number is longer than {MAX_NUMBER_LENGTH} digits"
            ) from exc
        raise InvalidArgument(
            f"Property '{what}' is invalid: Expected document to be a root level object, but was '{text[:100]}'"
        ) from exc
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"Property '{what}' is invalid: Expected document to be a root level object, but was "
            f"'{type(value).__name__.upper()}'"
        )
    return value


def duration(value: int, *, what: str) -> int:
    """A duration in ms from a request, at most MAX_DURATION_MS (a negative one is left to the command, which
    may read it as none); raises InvalidArgument."""
    if value > MAX_DURATION_MS:
        raise InvalidArgument(f"Expected {what} to be at most {MAX_DURATION_MS} ms, but was {value}")
    return value
