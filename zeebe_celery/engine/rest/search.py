"""The API's search requests over History rows: ``filter`` (a value, or an object of ``$eq``, ``$neq``,
``$exists``, ``$in``, ``$notIn``, ``$like``, ``$gt``, ``$gte``, ``$lt``, ``$lte``), ``sort`` (``field`` and
``order``) and ``page`` (``from`` or a cursor ``after`` / ``before``, and ``limit``), answered as
``{"items": [...], "page": {...}}``. A field or operator this engine does not search by is a 400 problem.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from zeebe_celery.engine.rest.body import Body, parse_key
from zeebe_celery.engine.rest.problems import invalid

__all__ = ["Fields", "encode_row", "iso_date", "search"]

# Each field's kind: how a filter value is read, how it compares and how it is written out.
#   key: a long key, written as a string; date: epoch ms, written as ISO 8601; text, int, bool, enum;
#   raw: written as is, neither filtered nor sorted on.
Fields = Mapping[str, str]

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
_OPERATORS = {
    "key": {"$eq", "$neq", "$exists", "$in", "$notIn"},
    "text": {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    "enum": {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    "int": {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    "date": {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    "bool": {"$eq", "$neq", "$exists"},
}


def iso_date(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_date(value: Any, name: str) -> int:
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            return int(moment.timestamp() * 1000)
    raise invalid(f"The value for {name} is '{value}' but must be an ISO 8601 date-time.")


def encode_row(row: Mapping[str, Any], fields: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in fields.items():
        value = row.get(name)
        if kind == "key":
            out[name] = str(value) if value is not None else None
        elif kind == "date":
            out[name] = iso_date(value)
        else:
            out[name] = value
    return out


def _operand(kind: str, value: Any, name: str) -> Any:
    if kind == "key":
        return parse_key(value, name)
    if kind == "date":
        return _parse_date(value, name)
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid(f"The value for {name} is '{value}' but must be an integer.")
    if kind == "bool" and not isinstance(value, bool):
        raise invalid(f"The value for {name} is '{value}' but must be a boolean.")
    if kind in ("text", "enum") and not isinstance(value, str):
        raise invalid(f"The value for {name} is '{value}' but must be a string.")
    return value


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _compare(op: str, operand: Any) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if op == "$eq":
            return bool(value == operand)
        if op == "$neq":
            return bool(value != operand)
        if value is None:
            return False
        if op == "$gt":
            return bool(value > operand)
        if op == "$gte":
            return bool(value >= operand)
        if op == "$lt":
            return bool(value < operand)
        return bool(value <= operand)

    return test


def _exists(wanted: bool) -> Callable[[Any], bool]:
    return lambda value: (value is not None) == wanted


def _within(values: set[Any], inside: bool) -> Callable[[Any], bool]:
    return lambda value: (value in values) == inside


def _matching(regex: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and regex.fullmatch(value) is not None


def _all(tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    return lambda value: all(test(value) for test in tests)


def _test(kind: str, name: str, spec: Any) -> Callable[[Any], bool]:
    """A predicate on a row's value from one filter field's value."""
    if not isinstance(spec, dict):
        return _compare("$eq", _operand(kind, spec, name))
    tests: list[Callable[[Any], bool]] = []
    for op, operand in spec.items():
        if op not in _OPERATORS[kind]:
            raise invalid(f"The filter operator {op} is not supported for {name}.")
        if op == "$exists":
            if not isinstance(operand, bool):
                raise invalid(f"The value for {name}.$exists is '{operand}' but must be a boolean.")
            tests.append(_exists(operand))
        elif op in ("$in", "$notIn"):
            if not isinstance(operand, list):
                raise invalid(f"The value for {name}.{op} is '{operand}' but must be an array.")
            tests.append(_within({_operand(kind, o, name) for o in operand}, op == "$in"))
        elif op == "$like":
            tests.append(_matching(_like(_operand(kind, operand, name))))
        else:
            tests.append(_compare(op, _operand(kind, operand, name)))
    return _all(tests)


def _field_test(name: str, test: Callable[[Any], bool]) -> Callable[[Mapping[str, Any]], bool]:
    return lambda row: test(row.get(name))


def _sort_key(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda row: row[name]


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode()


def _from_cursor(cursor: Any) -> int:
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        if text.startswith("i:") and text[2:].isdigit():
            return int(text[2:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid(f"The cursor '{cursor}' is not one this engine handed out.")


def search(
    query: Body,
    rows: Iterable[Mapping[str, Any]],
    fields: Fields,
    *,
    filterable: Iterable[str],
    default_sort: str,
    extra: Mapping[str, Callable[[Any], Callable[[Mapping[str, Any]], bool]]] | None = None,
) -> dict[str, Any]:
    """Filter, sort and page ``rows``; ``extra``: filter fields read by a predicate of their own."""
    allowed = set(filterable)
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for name, spec in query.object("filter").items():
        if extra is not None and name in extra:
            tests.append(extra[name](spec))
            continue
        if name not in allowed:
            raise invalid(f"The filter field {name} is not supported by this engine.")
        tests.append(_field_test(name, _test(fields[name], name, spec)))
    found = [row for row in rows if all(t(row) for t in tests)]
    order: list[tuple[str, bool]] = []
    sort = query.fields.get("sort") or []
    if not isinstance(sort, list):
        raise invalid(f"The value for sort is '{sort}' but must be an array.")
    for item in sort:
        if not isinstance(item, dict) or item.get("field") not in allowed:
            raise invalid(f"The sort field {item.get('field') if isinstance(item, dict) else item} is not supported.")
        direction = str(item.get("order") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise invalid(f"The value for sort.order is '{item.get('order')}' but must be ASC or DESC.")
        order.append((item["field"], direction == "DESC"))
    found.sort(key=_sort_key(default_sort))
    for name, descending in reversed(order):
        present = [r for r in found if r.get(name) is not None]
        missing = [r for r in found if r.get(name) is None]
        present.sort(key=_sort_key(name), reverse=descending)
        found = present + missing
    page = query.body("page")
    limit = page.integer("limit", DEFAULT_LIMIT, minimum=1)
    if limit > MAX_LIMIT:
        raise invalid(f"The value for page.limit is '{limit}' but must be at most {MAX_LIMIT}.")
    start = page.integer("from", 0, minimum=0)
    end = start + limit
    if page.has("after"):
        start = _from_cursor(page.fields["after"]) + 1
        end = start + limit
    elif page.has("before"):
        end = _from_cursor(page.fields["before"])
        start = max(0, end - limit)
    items = found[start:end]
    return {
        "items": [encode_row(row, fields) for row in items],
        "page": {
            "totalItems": len(found),
            "hasMoreTotalItems": False,
            "startCursor": _cursor(start) if items else None,
            "endCursor": _cursor(start + len(items) - 1) if items else None,
        },
    }
