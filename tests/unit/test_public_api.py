"""The public API: ``zeebe_celery.__all__`` lists exactly the names ``__init__`` exports, sorted."""

from __future__ import annotations

import ast
import inspect

import zeebe_celery


def _names_imported_in_init() -> set[str]:
    tree = ast.parse(inspect.getsource(zeebe_celery))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def test_all_is_sorted() -> None:
    assert list(zeebe_celery.__all__) == sorted(zeebe_celery.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(set(zeebe_celery.__all__)) == len(zeebe_celery.__all__)


def test_all_lists_every_public_name_imported_in_init() -> None:
    public = {name for name in _names_imported_in_init() if not name.startswith("_") or name == "__version__"}

    assert public == set(zeebe_celery.__all__)


def test_every_name_in_all_is_importable() -> None:
    missing = [name for name in zeebe_celery.__all__ if not hasattr(zeebe_celery, name)]

    assert missing == []


def test_all_offers_what_a_handler_author_needs() -> None:
    assert {"zeebe_task", "BpmnError", "Job", "ZeebeClient"} <= set(zeebe_celery.__all__)


def test_exported_names_are_the_library_objects() -> None:
    from zeebe_celery.errors import BpmnError
    from zeebe_celery.gateway.client import ZeebeClient
    from zeebe_celery.job import Job
    from zeebe_celery.task import zeebe_task

    assert zeebe_celery.zeebe_task is zeebe_task
    assert zeebe_celery.BpmnError is BpmnError
    assert zeebe_celery.Job is Job
    assert zeebe_celery.ZeebeClient is ZeebeClient
