"""``ConnectorConfig``: the nested class that names a connector, read once when the class is defined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zeebe_celery.config import parse_duration
from zeebe_celery.job import Job

__all__ = ["RunConfig", "read_config_class"]

_MISSING = object()


def read_config_class(cls: type, *, allowed: frozenset[str]) -> dict[str, Any]:
    """The public attributes of ``cls.ConnectorConfig``. Raises TypeError naming the connector for a missing
    class or an attribute it does not know."""
    config = cls.__dict__.get("ConnectorConfig", _MISSING)
    if config is _MISSING or not isinstance(config, type):
        raise TypeError(f"connector {cls.__qualname__} needs a nested `class ConnectorConfig` (name, type ...)")
    values = {k: v for k, v in vars(config).items() if not k.startswith("_")}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TypeError(
            f"connector {cls.__qualname__}: ConnectorConfig has unknown attribute(s) {', '.join(unknown)}; "
            f"known are {', '.join(sorted(allowed))}"
        )
    return values


def seconds(owner: str, option: str, value: Any, *, minimum: float) -> float:
    """A ConnectorConfig duration in seconds. Raises TypeError naming the connector and the option."""
    try:
        result = parse_duration(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"connector {owner}: ConnectorConfig.{option}: {exc}") from None
    if result < minimum:
        raise TypeError(f"connector {owner}: ConnectorConfig.{option} must be at least {minimum:g}s, got {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class RunConfig:
    """The ``config`` an outbound connector's ``run`` receives: its ConnectorConfig values and the job."""

    name: str
    type: str
    timeout: float | None
    job: Job
