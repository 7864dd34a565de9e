"""The budget one FEEL evaluation may spend, so that a runaway expression fails instead of taking the
engine down: steps (loop iterations and filter items, one each; calls of FEEL functions, four), the
size of any one value built (items of a list, characters of a string) and the time one regular
expression may run.

The limits are per thread (a context variable): an engine sets its own with :func:`use_limits`.
Exceeding one raises :class:`FeelLimitError`, which names the limit and its setting.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from .errors import FeelEvaluationError

__all__ = [
    "CALL_STEPS",
    "Budget",
    "FeelLimitError",
    "FeelLimits",
    "charge",
    "check_size",
    "current_budget",
    "current_limits",
    "use_limits",
]


# A call of a FEEL function costs about four loop iterations; steps are weighted so a budget is time-like.
CALL_STEPS = 4


@dataclass(frozen=True)
class FeelLimits:
    """How far one evaluation may go; the defaults are far beyond any business expression."""

    max_steps: int = 250_000
    max_size: int = 10_000_000
    regex_timeout: float = 0.5

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_size < 1 or not self.regex_timeout > 0:
            raise ValueError("FEEL limits must be positive")


class FeelLimitError(FeelEvaluationError):
    """An evaluation exceeded one of its :class:`FeelLimits`."""


class Budget:
    """What is left of one evaluation's steps."""

    __slots__ = ("limits", "steps")

    def __init__(self, limits: FeelLimits) -> None:
        self.limits = limits
        self.steps = limits.max_steps

    def charge(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise FeelLimitError(
                f"the evaluation exceeded its limit of {self.limits.max_steps} steps (FEEL limit max_steps)"
            )


_DEFAULT = FeelLimits()
_limits: ContextVar[FeelLimits] = ContextVar("feel_limits", default=_DEFAULT)
_budget: ContextVar[Budget | None] = ContextVar("feel_budget", default=None)


def use_limits(limits: FeelLimits) -> None:
    """Evaluate under ``limits`` in this thread (and context) from here on."""
    _limits.set(limits)


def current_limits() -> FeelLimits:
    return _limits.get()


def current_budget() -> ContextVar[Budget | None]:
    """The context variable holding the running evaluation's budget (None outside one)."""
    return _budget


def charge(steps: int = 1) -> None:
    """Spend steps of the running evaluation's budget; nothing outside an evaluation."""
    budget = _budget.get()
    if budget is not None:
        budget.charge(steps)


def check_size(size: int) -> None:
    """Fail if a value of ``size`` items or characters is larger than the limit allows."""
    limit = _limits.get().max_size
    if size > limit:
        raise FeelLimitError(
            f"a value of {size} items or characters exceeds the limit of {limit} (FEEL limit max_size)"
        )
