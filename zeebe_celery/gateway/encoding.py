"""How the client encodes what it sends: variables as the JSON object the gateway expects, and durations
as the milliseconds the protocol carries."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from zeebe_celery.config import parse_duration

__all__ = [
    "DEFAULT_GATEWAY_REQUEST",
    "DEFAULT_LONG_POLL",
    "LONG_POLL_SLACK",
    "DurationLike",
    "Variables",
    "dumps_variables",
    "long_poll_seconds",
    "ms",
    "poll_ms",
]

DurationLike = float | str
Variables = Mapping[str, Any] | BaseModel | str | None

# Slack on top of a long-poll's own timeout, so the gateway answers before our deadline fires.
LONG_POLL_SLACK = 10.0
# What the gateway waits for jobs when ActivateJobs leaves requestTimeout at 0.
DEFAULT_LONG_POLL = 10.0
# What the gateway waits for an instance's end when CreateProcessInstanceWithResult leaves requestTimeout
# at 0: its generic request timeout (zeebe.gateway.cluster.requestTimeout).
DEFAULT_GATEWAY_REQUEST = 15.0


def dumps_variables(variables: Variables) -> str:
    """Encode variables as the JSON object the gateway expects; None is no variables.

    Text is taken as JSON that is already encoded, so nothing is encoded twice. Raises TypeError naming
    the variable that cannot be encoded.
    """
    if variables is None:
        return ""
    if isinstance(variables, str):
        return variables
    if isinstance(variables, BaseModel):
        return variables.model_dump_json()
    try:
        # NaN and Infinity are not JSON: the gateway refuses them and other clients could not read them.
        return json.dumps(variables, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        if isinstance(variables, Mapping):
            for name, value in variables.items():
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError) as inner:
                    raise TypeError(f"variable {name!r} is not JSON-serialisable: {inner}") from None
        raise TypeError(f"variables are not JSON-serialisable: {exc}") from None


def ms(value: DurationLike) -> int:
    """Whole milliseconds, rounded to the nearest; a positive duration is never sent as 0 (which
    often means "the default"). Raises ValueError for a negative or malformed duration."""
    seconds = parse_duration(value)
    if seconds <= 0:
        return 0
    return max(1, math.floor(seconds * 1000 + 0.5))


def poll_ms(request_timeout: DurationLike) -> int:
    """ActivateJobs' requestTimeout: 0 is the gateway's default, a negative number -1 (no long poll)."""
    if isinstance(request_timeout, int | float) and request_timeout < 0:
        return -1
    return ms(request_timeout)


def long_poll_seconds(poll: int) -> float:
    """How long the gateway may hold an ActivateJobs call with requestTimeout ``poll`` (ms)."""
    if poll < 0:
        return 0.0
    if poll == 0:
        return DEFAULT_LONG_POLL
    return poll / 1000
