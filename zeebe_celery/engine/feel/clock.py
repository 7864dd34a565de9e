"""The time ``now()`` and ``today()`` read: the wall clock (UTC), unless an engine with a clock of its own
(a test's, say) evaluates the expression, so that FEEL agrees with its timers and deadlines."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["current_time", "use_clock", "use_wall_clock"]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_clock: ContextVar[Callable[[], datetime]] = ContextVar("feel_clock", default=_wall_clock)


def current_time() -> datetime:
    return _clock.get()()


def use_clock(clock: Callable[[], datetime]) -> None:
    """Make ``now()`` read ``clock`` in this thread (and context) from here on."""
    _clock.set(clock)


def use_wall_clock() -> None:
    """Back to the wall clock in this thread: an engine's command is over."""
    _clock.set(_wall_clock)
