"""The engine's errors: what a command is rejected with, each carrying the gRPC status it maps to.

::

    EngineError
    ├── NotFound              (NOT_FOUND)
    ├── FailedPrecondition    (FAILED_PRECONDITION)
    ├── InvalidArgument       (INVALID_ARGUMENT)
    ├── AlreadyExists         (ALREADY_EXISTS)
    ├── ResourceExhausted     (RESOURCE_EXHAUSTED)
    └── InternalError         (INTERNAL: the engine's own bug; the command was rolled back)

The engine is a product of its own and never imports the bridge, so it keeps its own small tree; the
servicer turns each into the status code Zeebe's gateway answers with.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "EngineError",
    "FailedPrecondition",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "ResourceExhausted",
]


class EngineError(Exception):
    """A rejected command; ``str()`` is the rejection reason a client sees."""

    status = "UNKNOWN"


class NotFound(EngineError):
    status = "NOT_FOUND"


class FailedPrecondition(EngineError):
    status = "FAILED_PRECONDITION"


class InvalidArgument(EngineError):
    status = "INVALID_ARGUMENT"


class AlreadyExists(EngineError):
    status = "ALREADY_EXISTS"


class ResourceExhausted(EngineError):
    status = "RESOURCE_EXHAUSTED"


class InternalError(EngineError):
    status = "INTERNAL"
