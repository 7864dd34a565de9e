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

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .clock import use_clock, use_wall_clock
from .errors import FeelError, FeelEvaluationError, FeelSyntaxError
from .limits import Budget, FeelLimitError, FeelLimits, current_budget, current_limits, use_limits
from .nodes import Node, Test
from .parser import parse
from .serialize import to_json
from .temporal import YearsMonthsDuration
from .types import TypeResolver, use_type_resolver
from .values import Range

__all__ = [
    "Expression",
    "FeelError",
    "FeelEvaluationError",
    "FeelLimitError",
    "FeelLimits",
    "FeelSyntaxError",
    "Range",
    "TypeResolver",
    "UnaryTests",
    "YearsMonthsDuration",
    "compile_expression",
    "compile_unary_tests",
    "evaluate",
    "to_json",
    "use_clock",
    "use_limits",
    "use_type_resolver",
    "use_wall_clock",
]

_CACHE_SIZE = 4096


_BUDGET = current_budget()


def _budgeted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run under a fresh step budget, unless an evaluation around it already has one."""

    def run(*args: Any) -> Any:
        if _BUDGET.get() is not None:
            return fn(*args)
        token = _BUDGET.set(Budget(current_limits()))
        try:
            return fn(*args)
        finally:
            _BUDGET.reset(token)

    return run


class Expression:
    """A compiled FEEL expression; evaluating it never mutates it, so one instance serves every caller."""

    __slots__ = ("_fn", "_names", "source")

    def __init__(self, source: str, node: Node, *, costly: bool = True) -> None:
        self.source = source
        self._fn, self._names = (_budgeted(node.fn) if costly else node.fn), node.refs

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The value of the expression; raises FeelEvaluationError when evaluation must fail (a failed
        ``assert``, an exceeded :class:`FeelLimits` limit)."""
        try:
            return self._fn(variables)
        except FeelLimitError as exc:
            raise FeelLimitError(f"failed to evaluate expression '{self.source}': {exc}") from None
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

    def __init__(self, source: str, tests: list[Test], *, costly: bool = True) -> None:
        self.source = source
        self._matches = [_budgeted(t.match) if costly else t.match for t in tests]
        self._names = frozenset().union(*(t.refs for t in tests))

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool:
        """Whether the input value passes: any one test passing is enough; ``-`` passes everything."""
        matches = self._matches
        try:
            if len(matches) == 1:  # the common cell: one test, worth skipping the generator for
                return matches[0](value, variables)
            return not matches or any(match(value, variables) for match in matches)
        except FeelLimitError as exc:
            raise FeelLimitError(f"failed to evaluate unary tests '{self.source}': {exc}") from None
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
    node, costly = parse(text, "expression")
    return Expression(text, node, costly=costly)


@lru_cache(maxsize=_CACHE_SIZE)
def compile_unary_tests(text: str) -> UnaryTests:
    """Compile a DMN input entry; an empty entry is ``-``. Raises FeelSyntaxError."""
    source = text.strip()
    if not source:
        return UnaryTests(text, [], costly=False)
    tests, costly = parse(source, "unary_tests")
    return UnaryTests(text, tests, costly=costly)


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """Compile (cached) and evaluate in one step."""
    return compile_expression(text).evaluate(variables)
