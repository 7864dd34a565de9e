"""What the compiler builds: a :class:`Node` per expression and a :class:`Test` per unary test.

A node's ``fn`` takes the variables (any Mapping, or a :class:`~.values.Scope` over them) and returns the
FEEL value. ``refs`` are the free variable names the node reads, so the engine can fetch only those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .values import Range, Scope, compare, equals

__all__ = ["NO_LITERAL", "Node", "Test", "comparison_test", "expression_test", "negated_test"]

NO_LITERAL: Any = object()
Fn = Callable[[Mapping[str, Any]], Any]
Match = Callable[[Any, Mapping[str, Any]], bool]


class Node:
    """One compiled expression: its evaluator, the names it reads, its value if a literal, its name if a name."""

    __slots__ = ("fn", "literal", "refs", "tests", "unary", "var")

    def __init__(
        self,
        fn: Fn,
        refs: frozenset[str] = frozenset(),
        *,
        literal: Any = NO_LITERAL,
        tests: list[Test] | None = None,
        var: str | None = None,
        unary: Test | None = None,
    ) -> None:
        self.fn, self.refs, self.literal, self.tests, self.var = fn, refs, literal, tests, var
        self.unary = unary  # `(< 10)`: as a test, the comparison itself

    @classmethod
    def constant(cls, value: Any) -> Node:
        return cls(lambda env: value, literal=value)


class Test:
    """One unary test: does the input value pass it? ``node`` is set for a plain-expression test."""

    __slots__ = ("match", "node", "refs")

    def __init__(self, match: Match, refs: frozenset[str], node: Node | None = None) -> None:
        self.match, self.refs, self.node = match, refs, node


def comparison_test(op: str, operand: Node) -> Test:
    """``< 10``, ``>= date("2024-01-01")``, ``= "a"``, ``!= 3``: the input on the left."""
    fn = operand.fn
    if op == "=":
        return Test(lambda value, env: equals(value, fn(env)) is True, operand.refs)
    if op == "!=":
        return Test(lambda value, env: equals(value, fn(env)) is False, operand.refs)
    accept = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}[op]
    return Test(lambda value, env: compare(value, fn(env)) in accept, operand.refs)


def expression_test(node: Node) -> Test:
    """A plain expression as a unary test, the way Camunda reads it.

    It passes when the expression, with the input bound to ``?``, is true; else when its value is a range
    holding the input, a list holding it, or a value equal to it. A boolean value tested against a
    non-boolean input is taken as the answer itself, so ``x > 5`` works without ``?``.
    """
    if node.tests is not None:
        return negated_test(node.tests)
    if node.unary is not None:
        return node.unary
    fn = node.fn
    if "?" in node.refs:
        return Test(lambda value, env: fn(Scope(env, {"?": value})) is True, node.refs - {"?"}, node)

    def match(value: Any, env: Mapping[str, Any]) -> bool:
        expected = fn(env)
        if type(expected) is list:
            return any(
                item.contains(value) is True if isinstance(item, Range) else equals(value, item) is True
                for item in expected
            ) or (equals(value, expected) is True)
        if isinstance(expected, Range):
            return expected.contains(value)  # type: ignore[return-value]  # None: unknown (a null endpoint)
        if type(expected) is bool and type(value) is not bool:
            return expected
        return equals(value, expected) is True

    return Test(match, node.refs, node)


def negated_test(tests: list[Test]) -> Test:
    """``not(t1, t2)``: passes when none of the tests passes."""
    matches = [t.match for t in tests]
    refs = frozenset().union(*(t.refs for t in tests))
    return Test(lambda value, env: not any(m(value, env) for m in matches), refs)
