"""The lark Transformer that turns a FEEL parse tree into :class:`~.nodes.Node` closures.

Nothing is rewritten into Python text: every construct becomes a small closure over its children's
closures, built once per expression (compiled expressions are cached by the package's API).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args

from . import ops
from .access import filter_items, index, member
from .builtins import BUILTINS
from .calls import builtin_call, function_value, value_call
from .errors import FeelSyntaxError
from .loops import for_node, quantified_node, range_source
from .nodes import Node, Test, comparison_test, expression_test
from .temporal import parse_temporal
from .types import type_predicate
from .values import NULL_END, Range, Scope, compare, equals, kind_of

__all__ = ["Compiler"]

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\", "/": "/"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{6}|.)")
_SPACES = re.compile(r"\s+")
_INSTANCE_OF = re.compile(r"instance\s+of\s+")
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": ops.add,
    "sub": ops.subtract,
    "mul": ops.multiply,
    "div": ops.divide,
    "pow": ops.power,
}
_ORDER = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}


def _unescape(token: str) -> str:
    def replace(m: re.Match[str]) -> str:
        code = m[1]
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        # Any other escape stays as written, as feel-scala keeps it: "\d+" is a regex's \d.
        return _ESCAPES.get(code, "\\" + code)

    text = _ESCAPE.sub(replace, token[1:-1])
    if any("\ud800" <= c <= "\udfff" for c in text):
        # \uD83D\uDCA9 is one character, as in Java's UTF-16 strings.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _ident(token: Token | str) -> str:
    """A name as written: backticks only quote it."""
    text = str(token)
    return text[1:-1] if text.startswith("`") else text


def _refs(*nodes: Node | Test | None) -> frozenset[str]:
    return frozenset().union(*(n.refs for n in nodes if n is not None))


def _binary(op: Callable[[Any, Any], Any]) -> Callable[[Any, Node, Node], Node]:
    def build(self: Any, left: Node, right: Node) -> Node:
        lf, rf = left.fn, right.fn
        return Node(lambda env: op(lf(env), rf(env)), _refs(left, right))

    return build


Arguments = tuple[str, Any]
Fn = Callable[[Mapping[str, Any]], Any]


@v_args(inline=True)
class Compiler(Transformer[Token, Node]):
    """Builds one expression's nodes; the start rules give a Node or a list of Tests.

    ``costly`` tells whether the expression loops, filters or calls functions of its own: only such an
    expression is evaluated under a step budget, so the common condition or mapping pays nothing for it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.costly = False

    add = _binary(ops.add)
    sub = _binary(ops.subtract)
    mul = _binary(ops.multiply)
    div = _binary(ops.divide)
    pow = _binary(ops.power)

    # --- start rules and unary tests ---
    def expression(self, node: Node) -> Node:
        return node

    def unary_tests(self, *tests: Test) -> list[Test]:
        return list(tests)

    def any_input(self) -> list[Test]:
        return []

    def compare_test(self, op: Token, operand: Node) -> Test:
        return comparison_test(str(op), operand)

    def expression_test(self, node: Node) -> Test:
        return expression_test(node)

    def not_expr(self, *tests: Test) -> Node:
        inner = tests[0].node if len(tests) == 1 else None
        if inner is None:
            return Node(lambda env: None, _refs(*tests), tests=list(tests))
        fn = inner.fn

        def negate(env: Mapping[str, Any]) -> Any:
            value = fn(env)
            return (not value) if type(value) is bool else None

        return Node(negate, inner.refs, tests=list(tests))

    def not_named(self, name: Token, operand: Node) -> Node:
        """``not(negand: x)``: the built-in ``not`` called by its parameter's name."""
        if _ident(name) != "negand":
            return Node(lambda env: None, operand.refs)
        return self.not_expr(expression_test(operand))

    def in_expr(self, left: Node, *tests: Test) -> Node:
        fn, matches = left.fn, [t.match for t in tests]

        def test(env: Mapping[str, Any]) -> bool | None:
            value = fn(env)
            outcomes = [m(value, env) for m in matches]
            if True in outcomes:
                return True
            # `null in [1..10]` and `5 in (null..10]` are unknown, not false
            return None if None in outcomes else False

        return Node(test, _refs(left, *tests))

    def unary_range(self, op: Token, operand: Node) -> Node:
        """``(< 10)``: the range of the values that pass the comparison (DMN 1.5); ``(!= 10)`` is no range."""
        fn, kind = operand.fn, str(op)

        def as_range(env: Mapping[str, Any]) -> Any:
            point = fn(env)
            if kind == "=":
                return Range(point, point, start_closed=True, end_closed=True, operator=kind)
            if kind[0] == "<":
                return Range(None, point, start_closed=False, end_closed=kind == "<=", operator=kind)
            if kind[0] == ">":
                return Range(point, None, start_closed=kind == ">=", end_closed=False, operator=kind)
            return None

        return Node(as_range, operand.refs, unary=comparison_test(kind, operand))

    # --- literals and names ---
    def number(self, token: Token) -> Node:
        if token.isdigit():
            return Node.constant(int(token))
        value = Decimal(token)
        return Node.constant(ops.normalize(value) if "e" in token.lower() else value)

    def negative_number(self, token: Token) -> Node:
        return Node.constant(ops.negate(self.number(token).literal))

    def string(self, token: Token) -> Node:
        return Node.constant(_unescape(token))

    def temporal(self, token: Token) -> Node:
        text = _unescape(token[1:])
        value = parse_temporal(text)
        if value is None:
            raise FeelSyntaxError(f'invalid temporal literal @"{text}" at column {token.column}')
        return Node.constant(value)

    def true(self) -> Node:
        return Node.constant(True)

    def false(self) -> Node:
        return Node.constant(False)

    def null(self) -> Node:
        return Node.constant(None)

    def name(self, token: Token) -> Node:
        name = _ident(token)
        return Node(lambda env: env.get(name), frozenset({name}), var=name)

    def qualified_name(self, first: Token, *rest: Token) -> Node:
        node = self.name(first)
        for part in rest:
            node = self.path(node, part)
        return node

    def list(self, *items: Node | None) -> Node:
        fns = [item.fn for item in items if item is not None]
        return Node(lambda env: [f(env) for f in fns], _refs(*items))

    def entry(self, key: Token, value: Node) -> tuple[str, Node]:
        return (_unescape(key) if key.type == "STRING" else _ident(key)), value

    def context(self, *entries: tuple[str, Node] | None) -> Node:
        pairs = [(key, node.fn) for key, node in (e for e in entries if e is not None)]
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise FeelSyntaxError(f"a context has the key {next(k for k in keys if keys.count(k) > 1)!r} twice")

        def build(env: Mapping[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = {}
            scope = Scope(env, result)
            for key, fn in pairs:
                result[key] = fn(scope)
            return result

        refs = _refs(*(node for _, node in (e for e in entries if e is not None)))
        return Node(build, refs - {key for key, _ in pairs})

    def interval(self, opening: Token, start: Node, _dots: Token, end: Node, closing: Token) -> Node:
        sf, ef = start.fn, end.fn
        start_closed, end_closed = opening == "[", closing == "]"

        def build(env: Mapping[str, Any]) -> Range:
            low, high = sf(env), ef(env)
            # A null endpoint is not an open end (that is `< 10`): nothing is inside or outside it.
            return Range(
                NULL_END if low is None else low,
                NULL_END if high is None else high,
                start_closed=start_closed,
                end_closed=end_closed,
            )

        return Node(build, _refs(start, end))

    # --- operators ---
    def neg(self, operand: Node) -> Node:
        fn = operand.fn
        return Node(lambda env: ops.negate(fn(env)), operand.refs)

    def compare(self, left: Node, op: Token, right: Node) -> Node:
        lf, rf = left.fn, right.fn
        refs = _refs(left, right)
        if op == "=":
            return Node(lambda env: equals(lf(env), rf(env)), refs)
        if op == "!=":

            def differs(env: Mapping[str, Any]) -> bool | None:
                same = equals(lf(env), rf(env))
                return None if same is None else not same

            return Node(differs, refs)
        accept = _ORDER[str(op)]

        def ordered(env: Mapping[str, Any]) -> bool | None:
            order = compare(lf(env), rf(env))
            return None if order is None else order in accept

        return Node(ordered, refs)

    def between(self, value: Node, low: Node, high: Node) -> Node:
        vf, lf, hf = value.fn, low.fn, high.fn

        def test(env: Mapping[str, Any]) -> bool | None:
            subject = vf(env)
            above, below = compare(subject, lf(env)), compare(subject, hf(env))
            if above is None or below is None:
                return None
            return above >= 0 and below <= 0

        return Node(test, _refs(value, low, high))

    def and_expr(self, left: Node, right: Node) -> Node:
        lf, rf = left.fn, right.fn

        def conjunction(env: Mapping[str, Any]) -> bool | None:
            a = lf(env)
            if a is False:
                return False
            b = rf(env)
            if b is False:
                return False
            return True if a is True and b is True else None

        return Node(conjunction, _refs(left, right))

    def or_expr(self, left: Node, right: Node) -> Node:
        lf, rf = left.fn, right.fn

        def disjunction(env: Mapping[str, Any]) -> bool | None:
            a = lf(env)
            if a is True:
                return True
            b = rf(env)
            if b is True:
                return True
            return False if a is False and b is False else None

        return Node(disjunction, _refs(left, right))

    def instance_of(self, value: Node, token: Token) -> Node:
        type_text = _INSTANCE_OF.sub("", str(token), count=1)
        try:
            check = type_predicate(_SPACES.sub(" ", type_text))
        except ValueError as error:
            raise FeelSyntaxError(f"invalid type in 'instance of {type_text}': {error}") from None
        fn = value.fn
        return Node(lambda env: check(fn(env)), value.refs)

    # --- postfix ---
    def path(self, target: Node, name: Token) -> Node:
        fn, key = target.fn, _ident(name)
        return Node(lambda env: member(fn(env), key), target.refs)

    def filter(self, target: Node, condition: Node) -> Node:
        tf, cf = target.fn, condition.fn
        refs = target.refs | (condition.refs - {"item"})
        if type(condition.literal) is int:
            position = condition.literal

            def at(env: Mapping[str, Any]) -> Any:
                items = tf(env)
                if items is None:
                    return None
                return index(items if type(items) is list else [items], position)

            return Node(at, refs)

        self.costly = True

        def select(env: Mapping[str, Any]) -> Any:
            items = tf(env)
            if items is None:
                return None
            if type(items) is not list:
                items = [items]
            outer = cf(env)
            if type(outer) is not bool and outer is not None and kind_of(outer) == "number":
                return index(items, outer)
            return filter_items(items, cf, env)

        return Node(select, refs)

    def positional(self, *args: Node) -> Arguments:
        return "positional", list(args)

    def named(self, *pairs: Token | Node) -> Arguments:
        names = [_ident(p) for p in pairs[::2] if isinstance(p, Token)]
        nodes = [p for p in pairs[1::2] if isinstance(p, Node)]
        return "named", dict(zip(names, nodes, strict=True))

    def call(self, callee: Token | Node, arguments: Arguments | None = None) -> Node:
        kind, args = arguments or ("positional", [])
        named_args: dict[str, Node] = args if isinstance(args, dict) else {}
        nodes: list[Node] = list(named_args.values()) if kind == "named" else args
        names = list(named_args) if kind == "named" else None
        refs = _refs(*nodes)
        fns = [node.fn for node in nodes]
        builtin_name = _builtin_name(callee)
        if builtin_name is not None and builtin_name in BUILTINS:
            return Node(builtin_call(BUILTINS[builtin_name], names, fns), refs)
        if not isinstance(callee, Node):
            callee = self.name(callee)  # a function value with spaces in its name, e.g. a DMN knowledge model
        self.costly = True
        return Node(value_call(callee.fn, names, fns), refs | callee.refs)

    endpoint_call = call

    # --- textual expressions ---
    def if_expr(self, condition: Node, then: Node, otherwise: Node) -> Node:
        cf, tf, of = condition.fn, then.fn, otherwise.fn
        return Node(lambda env: tf(env) if cf(env) is True else of(env), _refs(condition, then, otherwise))

    def range_iteration(self, name: Token, start: Node, end: Node) -> tuple[str, Node]:
        return _ident(name), range_source(start, end)

    def list_iteration(self, name: Token, source: Node) -> tuple[str, Node]:
        return _ident(name), source

    quantified = list_iteration

    def for_expr(self, *parts: Any) -> Node:
        *iterations, body = parts
        self.costly = True
        return for_node(iterations, body)

    def quantified_expr(self, quantifier: Token, *parts: Any) -> Node:
        *iterations, condition = parts
        self.costly = True
        return quantified_node(quantifier == "every", iterations, condition)

    def function_def(self, *parts: Any) -> Node:
        *params, body = parts
        names = [_ident(p) for p in params if isinstance(p, Token) and p.type != "TYPE"]
        self.costly = True
        typed = {
            _ident(param): type_predicate(_SPACES.sub(" ", str(declared)))
            for param, declared in itertools.pairwise(params)
            if isinstance(declared, Token) and declared.type == "TYPE"
        }
        return Node(function_value(names, typed, body.fn), body.refs - set(names))


def _builtin_name(callee: Token | Node) -> str | None:
    if isinstance(callee, Token):
        return _SPACES.sub(" ", str(callee))
    return callee.var if callee.var in BUILTINS else None
