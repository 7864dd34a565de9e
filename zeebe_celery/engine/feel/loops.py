"""FEEL's iterations: ``for``, ``some`` and ``every`` over lists, number ranges and date ranges.

Every iteration spends a step of the evaluation's budget, and a range is measured against the size limit
before anything is built, so ``for x in 1..10**8`` fails at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from .limits import check_size, current_budget
from .nodes import Node
from .values import Scope

__all__ = ["for_node", "quantified_node", "range_source"]

Fn = Callable[[Mapping[str, Any]], Any]
Iteration = tuple[str, Node]


def _refs(*nodes: Node) -> frozenset[str]:
    return frozenset().union(*(n.refs for n in nodes))


def range_source(start: Node, end: Node) -> Node:
    """``a..b`` in an iteration: ascending or descending whole numbers, or dates day by day."""
    sf, ef = start.fn, end.fn

    def items(env: Mapping[str, Any]) -> Any:
        low, high = sf(env), ef(env)
        if type(low) is date and type(high) is date:  # DMN 1.5 iterates dates by the day
            days = (high - low).days
            step = 1 if days >= 0 else -1
            check_size(abs(days) + 1)
            return [low + timedelta(days=d) for d in range(0, days + step, step)]
        if type(low) is not int or type(high) is not int:
            return None
        span = range(low, high + 1) if low <= high else range(low, high - 1, -1)
        check_size(len(span))
        return span

    return Node(items, _refs(start, end))


class _NotIterable(Exception):
    """An iteration context that is not a list: the whole ``for`` or quantifier is null."""


def _combinations(
    sources: list[tuple[str, Fn]], env: Mapping[str, Any], bound: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Every binding of the iteration variables, later contexts seeing the earlier variables."""
    name, source = sources[0]
    items = source(Scope(env, bound) if bound else env)
    if type(items) is not list and type(items) is not range:
        raise _NotIterable
    rest = sources[1:]
    for item in items:
        local = {**bound, name: item}
        if rest:
            yield from _combinations(rest, env, local)
        else:
            yield local


def for_node(iterations: list[Iteration], body: Node) -> Node:
    """``for x in xs, y in ys return body``, with ``partial`` the results so far."""
    sources = [(name, node.fn) for name, node in iterations]
    bf = body.fn

    def run(env: Mapping[str, Any]) -> Any:
        results: list[Any] = []
        budget = current_budget().get()
        try:
            for bound in _combinations(sources, env, {"partial": results}):
                if budget is not None:
                    budget.charge()
                results.append(bf(Scope(env, bound)))
        except _NotIterable:
            return None
        return results

    bound = {name for name, _ in iterations} | {"partial"}
    return Node(run, _refs(*(node for _, node in iterations)) | (body.refs - bound))


def quantified_node(every: bool, iterations: list[Iteration], condition: Node) -> Node:
    """``some``/``every x in xs satisfies condition``: stops at the first answer."""
    sources = [(name, node.fn) for name, node in iterations]
    cf = condition.fn

    def run(env: Mapping[str, Any]) -> Any:
        budget = current_budget().get()
        try:
            for bound in _combinations(sources, env, {}):
                if budget is not None:
                    budget.charge()
                if (cf(Scope(env, bound)) is True) is not every:
                    return not every
        except _NotIterable:
            return None
        return every

    bound = {name for name, _ in iterations}
    return Node(run, _refs(*(node for _, node in iterations)) | (condition.refs - bound))
