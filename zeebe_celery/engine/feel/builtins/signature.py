"""A built-in's signatures: its FEEL parameter names, so that positional and named calls both find it.

``overload(fn, "string", "start position", "length?")`` reads: ``length`` may be left out.
``"list..."`` collects the remaining positional arguments (``min(1, 2)`` as ``min([1, 2])``).
``"n|number"`` accepts either name: the DMN spec's and feel-scala's, where they differ.
A call is matched to its overload once, when the expression is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Overload", "by_arity", "by_names", "overload"]


@dataclass(frozen=True)
class Overload:
    fn: Callable[..., Any]
    names: tuple[frozenset[str], ...]
    order: tuple[str, ...]
    required: int
    variadic: bool
    by_name: bool = True

    def takes(self, count: int) -> bool:
        return count >= self.required and (self.variadic or count <= len(self.names))


def overload(fn: Callable[..., Any], *params: str, by_name: bool = True) -> Overload:
    """``by_name=False``: an overload only a positional call reaches."""
    names, order, required, variadic = [], [], 0, False
    for param in params:
        optional = param.endswith("?")
        variadic = param.endswith("...")
        bare = param.rstrip("?.")
        alternatives = bare.split("|")
        names.append(frozenset(alternatives))
        order.append(alternatives[0])
        if not optional and not variadic:
            required += 1
    return Overload(fn, tuple(names), tuple(order), required, variadic, by_name)


def by_arity(overloads: Sequence[Overload], count: int) -> Overload | None:
    """The overload a positional call with ``count`` arguments invokes."""
    return next((o for o in overloads if o.takes(count) and not o.variadic), None) or next(
        (o for o in overloads if o.takes(count)), None
    )


def by_names(overloads: Sequence[Overload], names: Sequence[str]) -> tuple[Overload, list[int]] | None:
    """The overload a named call invokes, and each argument's position in it.

    Two overloads can take the same names (``before(point, range)`` and ``before(range, point)``);
    the one whose order matches the call's wins.
    """
    found: list[tuple[Overload, list[int]]] = []
    for candidate in overloads:
        if not candidate.by_name:
            continue
        positions = []
        for name in names:
            place = next((i for i, accepted in enumerate(candidate.names) if name in accepted), None)
            if place is None:
                break
            positions.append(place)
        else:
            # A required parameter left out is null, as the spec says of named invocation.
            if len(set(positions)) == len(positions):
                found.append((candidate, positions))
    for candidate, positions in found:
        if positions == sorted(positions):
            return candidate, positions
    return found[0] if found else None
