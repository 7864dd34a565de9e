"""JSON only: the one check that a Celery app sends and accepts nothing but JSON, shared by the poller and
the worker.

A job message is JSON. An app that also accepts pickle (or any other serializer) lets whoever can write to
the broker run code in its workers, so the poller refuses to start on one, and so does a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zeebe_celery.errors import ConfigurationError

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["JSON_CONTENT_TYPE", "check_json_only"]

JSON_CONTENT_TYPE = "application/json"
# The names Celery's serializer registry knows JSON by.
_JSON = frozenset({"json", JSON_CONTENT_TYPE})


def check_json_only(app: Celery) -> None:
    """Refuse a Celery app that serializes or accepts anything but JSON. Raises ConfigurationError."""
    serializer = str(app.conf.task_serializer or "json")
    accepted = [str(c) for c in (app.conf.accept_content or ())]
    others = sorted({c for c in [serializer, *accepted] if c not in _JSON})
    if others:
        raise ConfigurationError(
            f"the Celery app accepts {', '.join(others)} (task_serializer/accept_content); zeebe-celery sends and "
            "accepts JSON only. Set task_serializer='json' and accept_content=['json']."
        )
