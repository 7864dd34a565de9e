"""The errors DMN raises.

::

    DmnError
     ├── DmnParseError        the resource is not DMN we can run; the message names the element id
     ├── DmnEvaluationError   a decision failed to evaluate (.decision_id); Zeebe raises an incident
     └── DmnExpressionError   an expression inside a decision failed (its decision turns it into the above)
"""

from __future__ import annotations

__all__ = ["DmnError", "DmnEvaluationError", "DmnExpressionError", "DmnParseError"]


class DmnError(Exception):
    """Root of every DMN error."""


class DmnParseError(DmnError):
    """The DMN resource is invalid or uses something unsupported."""


class DmnEvaluationError(DmnError):
    """Evaluating a decision failed; ``decision_id`` names the decision that failed."""

    def __init__(self, decision_id: str, message: str) -> None:
        super().__init__(message)
        self.decision_id = decision_id


class DmnExpressionError(DmnError):
    """An expression failed: it could not be read when the model was parsed lazily, or its evaluation failed
    (a hit policy violated, a function of an unsupported kind called). The message names the element."""
