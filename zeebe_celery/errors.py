"""Every exception zeebe-celery raises, in one tree.

::

    ZeebeCeleryError
     ├── ConfigurationError          settings that are contradictory or incomplete
     │    └── DuplicateHandlerError  two @zeebe_task handlers claim one job type
     ├── BpmnError                   raised by a handler: a business error for Zeebe to catch
     ├── HandlerInputError           a job's variables do not fit its handler's parameters
     ├── BrokerUnavailableError      the Celery broker refused jobs and does not answer yet
     ├── StackError                  a service of the local stack could not be started or stopped
     └── GatewayError                a gateway call failed (.code, .details)
          ├── TransientError         worth retrying: the retry policy retries exactly these
          │    ├── BackPressureError       RESOURCE_EXHAUSTED
          │    ├── GatewayUnavailableError UNAVAILABLE
          │    │    └── AuthorizationServerError  the OAuth token endpoint failed or cannot be reached
          │    ├── GatewayTimeoutError     DEADLINE_EXCEEDED on an idempotent job command
          │    └── GatewayInternalError    INTERNAL (retried a few times only)
          └── TerminalError          retrying cannot help; raised at once
               ├── NotFoundError           NOT_FOUND
               ├── FailedPreconditionError FAILED_PRECONDITION
               ├── InvalidArgumentError    INVALID_ARGUMENT
               ├── AlreadyExistsError      ALREADY_EXISTS
               ├── PermissionDeniedError   PERMISSION_DENIED
               ├── UnauthenticatedError    UNAUTHENTICATED (after one token refresh)
               ├── MessageTooLargeError    RESOURCE_EXHAUSTED "message larger than max"
               ├── DeadlineExceededError   DEADLINE_EXCEEDED on a command that may have applied
               ├── CancelledError          CANCELLED
               ├── UnknownGatewayError     any other code
               └── UnsupportedByGatewayError  the gateway's version lacks a feature the call uses (not sent)

gRPC errors are translated in one place, :func:`map_grpc_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc

__all__ = [
    "AlreadyExistsError",
    "AuthorizationServerError",
    "BackPressureError",
    "BpmnError",
    "BrokerUnavailableError",
    "CancelledError",
    "ConfigurationError",
    "DeadlineExceededError",
    "DuplicateHandlerError",
    "FailedPreconditionError",
    "GatewayError",
    "GatewayInternalError",
    "GatewayTimeoutError",
    "GatewayUnavailableError",
    "HandlerInputError",
    "InvalidArgumentError",
    "MessageTooLargeError",
    "NotFoundError",
    "PermissionDeniedError",
    "StackError",
    "TerminalError",
    "TransientError",
    "UnauthenticatedError",
    "UnknownGatewayError",
    "UnsupportedByGatewayError",
    "ZeebeCeleryError",
    "map_grpc_error",
]


class ZeebeCeleryError(Exception):
    """The root of every error zeebe-celery raises."""


class ConfigurationError(ZeebeCeleryError):
    """Settings are contradictory, incomplete or malformed; the message names the variable."""

    def one_line(self) -> str:
        """The message on one line: "invalid settings:" and its indented problems joined by "; "."""
        head, _, rest = str(self).partition("\n")
        problems = [line.strip() for line in rest.splitlines() if line.strip()]
        return f"{head} {'; '.join(problems)}" if problems else head


class DuplicateHandlerError(ConfigurationError):
    """Two ``@zeebe_task`` handlers of one app claim the same job type."""


class HandlerInputError(ZeebeCeleryError):
    """The job's variables do not fit the handler's parameters; retrying cannot help."""


class BrokerUnavailableError(ZeebeCeleryError):
    """The Celery broker refused jobs and does not answer yet."""


class StackError(ZeebeCeleryError):
    """A service of the stack could not be found, fetched, started or stopped; the message says what to do."""


class BpmnError(ZeebeCeleryError):
    """Raise from a handler to throw a BPMN error that an error catch event in the process handles.

    ``code`` is matched against the catch event's error code; ``variables`` are set on the scope of
    the catch event.
    """

    def __init__(self, code: str, message: str = "", variables: Mapping[str, Any] | None = None) -> None:
        if not code:
            raise ValueError("a BpmnError needs a non-empty error code")
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.variables: dict[str, Any] = dict(variables or {})


class GatewayError(ZeebeCeleryError):
    """A call to the Zeebe gateway failed.

    ``code`` is the gRPC status code and ``details`` the gateway's own message, both as received.
    """

    def __init__(self, details: str, *, code: grpc.StatusCode | None = None, rpc: str = "") -> None:
        prefix = f"{rpc}: " if rpc else ""
        name = code.name if code is not None else "ERROR"
        super().__init__(f"{prefix}{name}: {details}" if details and details != name else f"{prefix}{name}")
        self.code = code
        self.details = details
        self.rpc = rpc


class TransientError(GatewayError):
    """The gateway could not serve the call now; the same call may succeed later."""


class BackPressureError(TransientError):
    """The broker signalled back-pressure (RESOURCE_EXHAUSTED)."""


class GatewayUnavailableError(TransientError):
    """The gateway or broker cannot be reached (UNAVAILABLE)."""


class AuthorizationServerError(GatewayUnavailableError):
    """The OAuth authorization server failed or cannot be reached; raised on this side, before any call.

    It is a GatewayUnavailableError so the retry policy retries it, but it is told apart by its type:
    the gateway itself may be fine.
    """


class GatewayTimeoutError(TransientError):
    """A job command ran past its deadline; repeating it is safe, a duplicate report means 'gone'."""


class GatewayInternalError(TransientError):
    """The gateway reported INTERNAL; retried a few times, then given up."""


class TerminalError(GatewayError):
    """Retrying the same call cannot succeed."""


class NotFoundError(TerminalError):
    """The job, instance, resource or incident does not exist (any more)."""


class FailedPreconditionError(TerminalError):
    """The target is not in a state that allows the command (for a job: not activated any more)."""


class InvalidArgumentError(TerminalError):
    """The request was rejected as malformed."""


class AlreadyExistsError(TerminalError):
    """An entity with that identity already exists, e.g. a message with the same id."""


class PermissionDeniedError(TerminalError):
    """The credentials are valid but not allowed to do this, e.g. for that tenant."""


class UnauthenticatedError(TerminalError):
    """The gateway rejected the credentials, even after a fresh token."""


class MessageTooLargeError(TerminalError):
    """The request or response exceeds the maximum message size; never worth repeating."""


class DeadlineExceededError(TerminalError):
    """A non-idempotent command ran past its deadline; it may or may not have been applied."""


class CancelledError(TerminalError):
    """The call was cancelled on this side, for example by shutdown."""


class UnknownGatewayError(TerminalError):
    """A status code this client does not interpret."""


class UnsupportedByGatewayError(TerminalError):
    """The call uses a feature that the gateway's version would silently ignore; it was not sent.

    ``feature`` names it, ``required`` is the first gateway version that honours it and ``gateway_version``
    the version the gateway reported in its Topology.
    """

    def __init__(self, feature: str, *, required: str, gateway_version: str, rpc: str = "") -> None:
        reported = gateway_version or "an unknown version"
        details = (
            f"{feature} needs a Camunda {required} gateway or newer; this gateway reports {reported} "
            "and would ignore it, so the request was not sent"
        )
        super().__init__(details, rpc=rpc)
        self.args = (f"{rpc}: {details}" if rpc else details,)
        self.feature = feature
        self.required = required
        self.gateway_version = gateway_version


_BY_CODE: dict[grpc.StatusCode, type[GatewayError]] = {
    grpc.StatusCode.RESOURCE_EXHAUSTED: BackPressureError,
    grpc.StatusCode.UNAVAILABLE: GatewayUnavailableError,
    grpc.StatusCode.INTERNAL: GatewayInternalError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.CANCELLED: CancelledError,
}

_TOO_LARGE_MARKERS = ("larger than max", "message size", "too large")


def map_grpc_error(exc: grpc.RpcError, *, rpc: str = "", idempotent: bool = False) -> GatewayError:
    """Translate a gRPC error into this tree; the one place that reads gRPC status codes.

    ``idempotent`` marks job commands, for which a DEADLINE_EXCEEDED is safe to repeat.
    """
    code: grpc.StatusCode | None
    if isinstance(exc, grpc.Call | grpc.aio.AioRpcError):
        code = exc.code()
        # Without details, str() of a gRPC call is a long repr of its whole state; the code says it all.
        details = exc.details() or (code.name if code is not None else type(exc).__name__)
    else:
        code = None
        details = str(exc) or type(exc).__name__
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and any(m in details.lower() for m in _TOO_LARGE_MARKERS):
        return MessageTooLargeError(details, code=code, rpc=rpc)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        cls: type[GatewayError] = GatewayTimeoutError if idempotent else DeadlineExceededError
        return cls(details, code=code, rpc=rpc)
    cls = _BY_CODE.get(code, UnknownGatewayError) if code is not None else UnknownGatewayError
    return cls(details, code=code, rpc=rpc)
