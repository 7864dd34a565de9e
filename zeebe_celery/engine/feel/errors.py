"""The errors FEEL raises.

::

    FeelError                  the root; str(e) is a message for a human
     ├── FeelSyntaxError       the text is not FEEL, or uses a part of FEEL we do not support
     └── FeelEvaluationError   evaluation failed in a way that must stop the caller (Zeebe: an incident)

Most evaluation failures are *not* errors: FEEL is null-friendly, so a missing variable, a value of the
wrong type or an unknown function gives ``null``, as feel-scala does.
"""

from __future__ import annotations

__all__ = ["FeelError", "FeelEvaluationError", "FeelSyntaxError"]


class FeelError(Exception):
    """Root of every FEEL error."""


class FeelSyntaxError(FeelError):
    """The expression cannot be parsed, or uses an unsupported construct; raised when it is compiled."""


class FeelEvaluationError(FeelError):
    """The expression failed while evaluated, e.g. a failed ``assert()``."""
