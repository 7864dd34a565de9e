"""Reading a request's JSON body: typed fields with the API's validation messages ("No name provided.",
"The value for retries is 'x' but must be an integer."), raised as 400 problem documents."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import decode
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.rest.problems import Problem, invalid

__all__ = ["Body", "parse_json", "parse_key"]

_NO_VALUE = object()


def parse_json(raw: bytes, *, required: bool) -> dict[str, Any]:
    """The request's JSON object, held to what the gRPC gateway accepts (decode.py: no NaN or Infinity, no
    nesting past its depth, no endless numbers); an empty body is ``{}`` unless ``required``."""
    if not raw.strip():
        if required:
            raise Problem(400, "Bad Request", "Required request body is missing")
        return {}
    try:
        return decode.variables(raw.decode("utf-8"), what="request body")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Bad Request", f"Failed to read request: {exc}") from exc
    except InvalidArgument as exc:
        raise Problem(400, "Bad Request", f"Failed to read request: {exc}") from exc


def parse_key(text: Any, name: str) -> int:
    """A key as the API writes it: a string of digits (a JSON number is accepted too)."""
    if isinstance(text, bool):
        raise invalid(f"The value for {name} is '{text}' but must be a non-negative numeric key.")
    if isinstance(text, int):
        return text
    if isinstance(text, str) and text.isdigit():
        return int(text)
    raise invalid(f"The value for {name} is '{text}' but must be a non-negative numeric key.")


class Body:
    """Typed access to a JSON object's fields; each getter raises a 400 problem for a wrong value."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def has(self, name: str) -> bool:
        return self.fields.get(name) is not None

    def _get(self, name: str, required: bool) -> Any:
        value = self.fields.get(name)
        if value is None:
            if required:
                raise invalid(f"No {name} provided.")
            return _NO_VALUE
        return value

    def text(self, name: str, default: str = "", *, required: bool = False) -> str:
        value = self._get(name, required)
        if value is _NO_VALUE:
            return default
        if not isinstance(value, str):
            raise invalid(f"The value for {name} is '{value}' but must be a string.")
        if required and not value.strip():
            raise invalid(f"No {name} provided.")
        return value

    def integer(self, name: str, default: int = 0, *, required: bool = False, minimum: int | None = None) -> int:
        value = self._get(name, required)
        if value is _NO_VALUE:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"The value for {name} is '{value}' but must be an integer.")
        if minimum is not None and value < minimum:
            raise invalid(f"The value for {name} is '{value}' but must be at least {minimum}.")
        return value

    def duration(self, name: str, default: int = 0, *, required: bool = False, minimum: int | None = None) -> int:
        """A duration in milliseconds, at most decode.MAX_DURATION_MS."""
        value = self.integer(name, default, required=required, minimum=minimum)
        if value > decode.MAX_DURATION_MS:
            raise invalid(f"The value for {name} is '{value}' but must be at most {decode.MAX_DURATION_MS} ms.")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is _NO_VALUE:
            return default
        if not isinstance(value, bool):
            raise invalid(f"The value for {name} is '{value}' but must be a boolean.")
        return value

    def key(self, name: str, *, required: bool = False) -> int:
        value = self._get(name, required)
        return 0 if value is _NO_VALUE else parse_key(value, name)

    def strings(self, name: str) -> list[str]:
        value = self._get(name, False)
        if value is _NO_VALUE:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(f"The value for {name} is '{value}' but must be an array of strings.")
        return value

    def object(self, name: str) -> dict[str, Any]:
        value = self._get(name, False)
        if value is _NO_VALUE:
            return {}
        if not isinstance(value, dict):
            raise invalid(f"The value for {name} is '{value}' but must be a JSON object.")
        return value

    def body(self, name: str) -> Body:
        return Body(self.object(name))

    def variables(self) -> dict[str, Any]:
        return self.object("variables")
