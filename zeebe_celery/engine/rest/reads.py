"""The two reads most resources answer from the History: one row by the key in the path, and a search."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from zeebe_celery.engine.rest.call import Answer, Call
from zeebe_celery.engine.rest.history import History, Row
from zeebe_celery.engine.rest.problems import Problem
from zeebe_celery.engine.rest.search import Fields, encode_row, search

__all__ = ["find_rows", "get_row"]


def get_row(
    call: Call, key_name: str, table: Callable[[History], Mapping[int, Row]], fields: Fields, noun: str
) -> Answer:
    """The row ``table`` holds under the path's ``key_name``; a 404 problem naming the ``noun`` if none."""
    key = call.key(key_name)
    row = call.read(lambda history: table(history).get(key))
    if row is None:
        raise Problem(404, "NOT_FOUND", f"{noun} with key '{key}' not found")
    return 200, encode_row(row, fields)


def find_rows(
    call: Call,
    rows: Callable[[History], Iterable[Row]],
    fields: Fields,
    *,
    filterable: Iterable[str],
    default_sort: str,
    extra: Mapping[str, Callable[[Any], Callable[[Mapping[str, Any]], bool]]] | None = None,
) -> Answer:
    """The search the request's body asks for over ``rows`` (see :func:`search`)."""
    query = call.body(required=False)

    def run(history: History) -> dict[str, Any]:
        return search(query, rows(history), fields, filterable=filterable, default_sort=default_sort, extra=extra)

    return 200, call.read(run)
