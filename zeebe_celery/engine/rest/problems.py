"""The API's problem documents (RFC 9457, ``application/problem+json``), shaped as Camunda's REST gateway
answers them: ``type``, ``title``, ``status``, ``detail`` and ``instance`` (the request path)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.errors import EngineError

__all__ = ["Problem", "from_engine_error", "invalid"]

# What each rejection becomes on the REST API: its status and the title Camunda gives it.
_REJECTIONS: dict[str, tuple[int, str]] = {
    "NOT_FOUND": (404, "NOT_FOUND"),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT"),
    "FAILED_PRECONDITION": (409, "INVALID_STATE"),
    "ALREADY_EXISTS": (409, "ALREADY_EXISTS"),
    "RESOURCE_EXHAUSTED": (503, "RESOURCE_EXHAUSTED"),
    "INTERNAL": (500, "INTERNAL"),
}


class Problem(Exception):
    """A request the API answers with a problem document instead of its result."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail

    def document(self, instance: str) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }


def invalid(detail: str) -> Problem:
    return Problem(400, "INVALID_ARGUMENT", detail)


def from_engine_error(exc: EngineError) -> Problem:
    status, title = _REJECTIONS.get(exc.status, (500, exc.status))
    return Problem(status, title, str(exc))
