"""DMN 1.5 boxed expressions: each evaluates against a scope of FEEL variables.

Contexts, lists, relations, invocations, function definitions, conditionals, filters and the iterators
``for``, ``some`` and ``every``; a decision table is boxed as :class:`TableExpression`, a literal expression
is ``model.LiteralExpression``. What could not be read (a lazily parsed model) is :class:`Unreadable`, which
fails only when evaluated. Evaluation follows FEEL: a value of the wrong kind gives ``null``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from zeebe_celery.engine.feel.values import FeelFunction, Scope

from .errors import DmnExpressionError
from .model import Boxed, DecisionTable
from .tables import table_output
from .types import Types

__all__ = [
    "Conditional",
    "ContextExpression",
    "Filter",
    "FunctionDefinition",
    "Invocation",
    "Iterator",
    "ListExpression",
    "Relation",
    "TableExpression",
    "Typed",
    "TypedFunction",
    "Unreadable",
    "call",
]


class Unreadable:
    """An expression that could not be read; evaluating it fails with why, naming the element."""

    __slots__ = ("problem", "source")
    kind = "UNKNOWN"

    def __init__(self, problem: str, source: str = "") -> None:
        self.problem, self.source = problem, source

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        raise DmnExpressionError(self.problem)

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool:
        raise DmnExpressionError(self.problem)


class TableExpression:
    __slots__ = ("table",)
    kind = "DECISION_TABLE"

    def __init__(self, table: DecisionTable) -> None:
        self.table = table

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return table_output(self.table, scope)


class ContextExpression:
    """Entries evaluated in order, each seeing those before it; a last entry without a name is the result."""

    __slots__ = ("entries", "result")
    kind = "CONTEXT"

    def __init__(self, entries: Sequence[tuple[str, Boxed]], result: Boxed | None) -> None:
        self.entries, self.result = tuple(entries), result

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        local: dict[str, Any] = {}
        inner = Scope(scope, local)
        for name, expression in self.entries:
            local[name] = expression.evaluate(inner)
        if self.result is not None:
            return self.result.evaluate(inner)
        return local


class ListExpression:
    __slots__ = ("items",)
    kind = "LIST"

    def __init__(self, items: Sequence[Boxed]) -> None:
        self.items = tuple(items)

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return [item.evaluate(scope) for item in self.items]


class Relation:
    """A list of contexts, one per row, keyed by the column names."""

    __slots__ = ("columns", "rows")
    kind = "RELATION"

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Boxed]]) -> None:
        self.columns, self.rows = tuple(columns), tuple(tuple(row) for row in rows)

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return [{name: cell.evaluate(scope) for name, cell in zip(self.columns, row, strict=True)} for row in self.rows]


class Typed:
    """A boxed expression with a declared type (``typeRef``): its value converted to it, or a failure."""

    __slots__ = ("inner", "type_ref", "types", "what")

    def __init__(self, inner: Boxed, type_ref: str, types: Types, what: str) -> None:
        self.inner, self.type_ref, self.types, self.what = inner, type_ref, types, what

    @property
    def kind(self) -> str:
        return self.inner.kind

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return self.types.convert(self.inner.evaluate(scope), self.type_ref, self.what)


class TypedFunction(FeelFunction):
    """A FEEL function whose parameters have declared types: each argument is converted, or the call fails.
    A parameter named like a path (``Person.Name``) is also readable as that path."""

    __slots__ = ("name", "param_types", "types")

    def __init__(
        self,
        name: str,
        params: Sequence[str],
        param_types: Sequence[str],
        body: Callable[[Mapping[str, Any]], Any],
        closure: Mapping[str, Any],
        types: Types,
    ) -> None:
        dotted = [param for param in params if "." in param]
        super().__init__(params, _with_paths(dotted, body) if dotted else body, closure)
        self.name, self.param_types, self.types = name, tuple(param_types), types

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.params):
            return None
        converted = [
            self.types.convert(value, type_ref, f"parameter '{param}' of '{self.name}'")
            for value, type_ref, param in zip(args, self.param_types, self.params, strict=True)
        ]
        return super().__call__(*converted)


def _with_paths(dotted: list[str], body: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Any]:
    def run(scope: Mapping[str, Any]) -> Any:
        paths: dict[str, Any] = {}
        for name in dotted:
            *steps, last = name.split(".")
            target: Any = paths
            for step in steps:
                target = target.setdefault(step, {})
                if not isinstance(target, dict):
                    break
            else:
                target.setdefault(last, scope.get(name))
        return body(Scope(scope, {k: v for k, v in paths.items() if k not in scope}))

    return run


class FunctionDefinition:
    """A FEEL function value closing over the scope it is made in; its body is any boxed expression."""

    __slots__ = ("body", "param_types", "parameters", "types")
    kind = "FUNCTION_DEFINITION"

    def __init__(
        self, parameters: Sequence[str], body: Boxed, param_types: Sequence[str] = (), types: Types | None = None
    ) -> None:
        self.parameters, self.body = tuple(parameters), body
        self.param_types, self.types = tuple(param_types) or ("",) * len(self.parameters), types or Types()

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        if any(self.param_types):
            return TypedFunction("function", self.parameters, self.param_types, self.body.evaluate, scope, self.types)
        return FeelFunction(self.parameters, self.body.evaluate, scope)


def call(function: Any, arguments: Mapping[str, Any]) -> Any:
    """Call a FEEL function value with named arguments; a parameter not given is null; not a function gives null."""
    if not isinstance(function, FeelFunction):
        return None
    return function(*(arguments.get(name) for name in function.params))


class Invocation:
    """A call of the function a name stands for (a business knowledge model, mostly), with named bindings."""

    __slots__ = ("bindings", "target")
    kind = "INVOCATION"

    def __init__(self, target: str, bindings: Sequence[tuple[str, Boxed | None]]) -> None:
        self.target, self.bindings = target, tuple(bindings)

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        function = scope.get(self.target)
        if function is None:
            raise DmnExpressionError(f"no function or business knowledge model named '{self.target}' to invoke")
        arguments = {name: None if value is None else value.evaluate(scope) for name, value in self.bindings}
        if isinstance(function, FeelFunction):
            unknown = [name for name in arguments if name not in function.params]
            if unknown:
                raise DmnExpressionError(f"'{self.target}' has no parameter '{unknown[0]}'")
        return call(function, arguments)


class Conditional:
    __slots__ = ("condition", "otherwise", "then")
    kind = "CONDITIONAL"

    def __init__(self, condition: Boxed, then: Boxed, otherwise: Boxed) -> None:
        self.condition, self.then, self.otherwise = condition, then, otherwise

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        condition = self.condition.evaluate(scope)
        if condition is not None and type(condition) is not bool:
            return None  # a condition that is not a boolean gives null
        return (self.then if condition is True else self.otherwise).evaluate(scope)


class Filter:
    """The items of a list for which ``match`` is true, with the item as ``item`` (and a context's entries)."""

    __slots__ = ("match", "source")
    kind = "FILTER"

    def __init__(self, source: Boxed, match: Boxed) -> None:
        self.source, self.match = source, match

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        items = self.source.evaluate(scope)
        if not isinstance(items, list):
            items = [items]
        kept = []
        for item in items:
            local = dict(item) if isinstance(item, Mapping) else {}
            local["item"] = item
            matched = self.match.evaluate(Scope(scope, local))
            if matched is True:
                kept.append(item)
            elif matched is not None and matched is not False:
                return None  # a match that is not a boolean gives null
        return kept


class Iterator:
    """``for`` (a list of the results), ``some`` or ``every`` (whether the condition holds) over a list."""

    __slots__ = ("body", "quantifier", "source", "variable")

    def __init__(self, quantifier: str, variable: str, source: Boxed, body: Boxed) -> None:
        self.quantifier, self.variable, self.source, self.body = quantifier, variable, source, body

    @property
    def kind(self) -> str:
        return self.quantifier.upper()

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        items = self.source.evaluate(scope)
        if not isinstance(items, list):
            return None
        if self.quantifier == "for":
            results: list[Any] = []
            for item in items:
                results.append(self.body.evaluate(Scope(scope, {self.variable: item, "partial": results})))
            return results
        outcomes = [self.body.evaluate(Scope(scope, {self.variable: item})) for item in items]
        if any(outcome is not None and type(outcome) is not bool for outcome in outcomes):
            return None  # a condition that is not a boolean gives null
        if self.quantifier == "every":
            return all(outcome is True for outcome in outcomes)
        return any(outcome is True for outcome in outcomes)
