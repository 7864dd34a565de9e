"""FEEL calls: of a built-in (its overload chosen when compiled) and of a function value, and function
definitions, whose declared parameter types are checked when called."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .builtins import Overload, by_arity, by_names, invoke
from .types import Predicate
from .values import FeelFunction

__all__ = ["builtin_call", "function_value", "value_call"]

Fn = Callable[[Mapping[str, Any]], Any]


def builtin_call(overloads: list[Overload], named: list[str] | None, fns: list[Fn]) -> Fn:
    """The evaluator of a built-in call (``named``: the argument names of a named call); no fit gives null."""
    if named is not None:
        found = by_names(overloads, named)
        if found is None:
            return lambda env: None
        chosen, positions = found
        width = max(max(positions, default=-1) + 1, chosen.required)
        last = len(chosen.names) - 1
        spread_last = chosen.variadic and last in positions

        def call_named(env: Mapping[str, Any]) -> Any:
            values: list[Any] = [None] * width
            for place, f in zip(positions, fns, strict=True):
                values[place] = f(env)
            if spread_last:
                rest = values.pop()
                values.extend(rest if type(rest) is list else [rest])
            return invoke(chosen.fn, values)

        return call_named
    positional = by_arity(overloads, len(fns))
    if positional is None:
        return lambda env: None
    function = positional.fn
    if len(fns) == 1:
        (only,) = fns
        return lambda env: invoke(function, [only(env)])
    return lambda env: invoke(function, [f(env) for f in fns])


def value_call(target: Fn, named: list[str] | None, fns: list[Fn]) -> Fn:
    """The evaluator of a call of a function value (a FEEL function, a knowledge model...)."""

    def call_value(env: Mapping[str, Any]) -> Any:
        function = target(env)
        if not callable(function):
            return None  # feel-scala: calling what is not a function gives null
        values = [f(env) for f in fns]
        if named is not None:
            params = getattr(function, "params", None)
            if params is None:
                return None
            by_name = dict(zip(named, values, strict=True))
            if not by_name.keys() <= set(params):
                return None
            values = [by_name.get(p) for p in params]
        if isinstance(function, FeelFunction):
            return function(*values)
        return invoke(function, values)

    return call_value


def function_value(names: list[str], typed: dict[str, Predicate], body: Fn) -> Fn:
    """The evaluator of ``function(a, b: number) body``: a FeelFunction closing over the scope."""
    if typed:
        untyped = body

        def body(scope: Mapping[str, Any]) -> Any:
            # An argument that is not of its parameter's declared type makes the call null.
            for name, conforms in typed.items():
                value = scope.get(name)
                if value is not None and not conforms(value):
                    return None
            return untyped(scope)

    return lambda env: FeelFunction(names, body, env)
