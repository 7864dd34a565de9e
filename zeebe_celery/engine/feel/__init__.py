"""FEEL, the expression language of BPMN and DMN in Camunda 8, as feel-scala evaluates it.

Compile once, evaluate often::

    expr = compile_expression("order.amount * 1.2")   # cached; raises FeelSyntaxError
    expr.evaluate({"order": {"amount": 10}})           # Decimal('12.0')
    to_json(expr.evaluate(...))                        # 12

FEEL is null-friendly: a missing variable, an operation on values of the wrong types, an unknown
function or a built-in given arguments it cannot take all give ``None`` rather than an error. Only a
failed ``assert()`` (or an internal fault) raises :class:`FeelEvaluationError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .clock import use_clock, use_wall_clock
from .errors import FeelError, FeelEvaluationError, FeelSyntaxError
from .nodes import Node, Test
from .parser import parse
from .serialize import to_json
from .temporal import YearsMonthsDuration
from .values import Range

__all__ = [
    "Expression",
    "FeelError",
    "FeelEvaluationError",
    "FeelSyntaxError",
    "Range",
    "UnaryTests",
    "YearsMonthsDuration",
    "compile_expression",
    "compile_unary_tests",
    "evaluate",
    "to_json",
    "use_clock",
    "use_wall_clock",
]

_CACHE_SIZE = 4096


class Expression:
    """A compiled FEEL expression; evaluating it never mutates it, so one instance serves every caller."""

    __slots__ = ("_fn", "_names", "source")

    def __init__(self, source: str, node: Node) -> None:
        self.source = source
        self._fn, self._names = node.fn, node.refs

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The value of the expression; raises FeelEvaluationError when evaluation must fail."""
        try:
            return self._fn(variables)
        except FeelEvaluationError:
            raise
        except RecursionError as exc:
            raise FeelEvaluationError(f"failed to evaluate expression '{self.source}': too deeply nested") from exc

    def names(self) -> frozenset[str]:
        """The top-level variable names the expression reads (best effort: loop variables excluded)."""
        return self._names

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


class UnaryTests:
    """A compiled DMN input entry: ``-``, ``< 10``, ``[1..5]``, ``"a", "b"``, ``not(...)``, ``? > x``."""

    __slots__ = ("_matches", "_names", "source")

    def __init__(self, source: str, tests: list[Test]) -> None:
        self.source = source
        self._matches = [t.match for t in tests]
        self._names = frozenset().union(*(t.refs for t in tests))

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool:
        """Whether the input value passes: any one test passing is enough; ``-`` passes everything."""
        matches = self._matches
        try:
            if len(matches) == 1:  # the common cell: one test, worth skipping the generator for
                return matches[0](value, variables)
            return not matches or any(match(value, variables) for match in matches)
        except FeelEvaluationError:
            raise
        except RecursionError as exc:
            raise FeelEvaluationError(f"failed to evaluate unary tests '{self.source}': too deeply nested") from exc

    def names(self) -> frozenset[str]:
        return self._names

    def __repr__(self) -> str:
        return f"UnaryTests({self.source!r})"


@lru_cache(maxsize=_CACHE_SIZE)
def compile_expression(text: str) -> Expression:
    """Compile a FEEL expression (without Zeebe's leading ``=``); raises FeelSyntaxError."""
    if not text.strip():
        raise FeelSyntaxError("failed to parse FEEL expression '': the expression is empty")
    return Expression(text, parse(text, "expression"))


@lru_cache(maxsize=_CACHE_SIZE)
def compile_unary_tests(text: str) -> UnaryTests:
    """Compile a DMN input entry; an empty entry is ``-``. Raises FeelSyntaxError."""
    source = text.strip()
    return UnaryTests(text, parse(source, "unary_tests") if source else [])


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """Compile (cached) and evaluate in one step."""
    return compile_expression(text).evaluate(variables)
