"""map_grpc_error, the one place gRPC status codes are read, fed with real gRPC errors from the engine's
gateway for every status code there is."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from zeebe_celery import errors
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import (
    AlreadyExistsError,
    AuthorizationServerError,
    BackPressureError,
    BpmnError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayError,
    GatewayInternalError,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InvalidArgumentError,
    MessageTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    TerminalError,
    TransientError,
    UnauthenticatedError,
    UnknownGatewayError,
    ZeebeCeleryError,
    map_grpc_error,
)
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

S = grpc.StatusCode

# (code, error for any command, error for an idempotent job command)
TABLE = [
    (S.CANCELLED, CancelledError, CancelledError),
    (S.UNKNOWN, UnknownGatewayError, UnknownGatewayError),
    (S.INVALID_ARGUMENT, InvalidArgumentError, InvalidArgumentError),
    (S.DEADLINE_EXCEEDED, DeadlineExceededError, GatewayTimeoutError),
    (S.NOT_FOUND, NotFoundError, NotFoundError),
    (S.ALREADY_EXISTS, AlreadyExistsError, AlreadyExistsError),
    (S.PERMISSION_DENIED, PermissionDeniedError, PermissionDeniedError),
    (S.RESOURCE_EXHAUSTED, BackPressureError, BackPressureError),
    (S.FAILED_PRECONDITION, FailedPreconditionError, FailedPreconditionError),
    (S.ABORTED, UnknownGatewayError, UnknownGatewayError),
    (S.OUT_OF_RANGE, UnknownGatewayError, UnknownGatewayError),
    (S.UNIMPLEMENTED, UnknownGatewayError, UnknownGatewayError),
    (S.INTERNAL, GatewayInternalError, GatewayInternalError),
    (S.UNAVAILABLE, GatewayUnavailableError, GatewayUnavailableError),
    (S.DATA_LOSS, UnknownGatewayError, UnknownGatewayError),
    (S.UNAUTHENTICATED, UnauthenticatedError, UnauthenticatedError),
]


Stub = tuple[ZeebeEngine, GatewayStub]


@pytest.fixture
def stub(engine: ZeebeEngine) -> Iterator[Stub]:
    with grpc.insecure_channel(engine.address) as channel:
        yield engine, GatewayStub(channel)


def real_error(stub: Stub, code: grpc.StatusCode, details: str) -> grpc.RpcError:
    """The error a Topology call really gets when the engine answers it with ``code`` and ``details``."""
    engine, gateway = stub
    engine.faults.fail("Topology", code.name, details)
    with pytest.raises(grpc.RpcError) as caught:
        gateway.Topology(pb.TopologyRequest(), timeout=5)
    return caught.value


def test_the_table_covers_every_status_code_but_ok() -> None:
    assert {code for code, _, _ in TABLE} == set(grpc.StatusCode) - {grpc.StatusCode.OK}


@pytest.mark.parametrize(("code", "expected", "expected_idempotent"), TABLE, ids=[c.name for c, _, _ in TABLE])
def test_each_status_code_maps_to_its_error_with_code_details_and_rpc(
    stub: Stub,
    code: grpc.StatusCode,
    expected: type[GatewayError],
    expected_idempotent: type[GatewayError],
) -> None:
    exc = real_error(stub, code, f"the gateway says {code.name}")

    error = map_grpc_error(exc, rpc="CompleteJob")
    idempotent_error = map_grpc_error(exc, rpc="CompleteJob", idempotent=True)

    assert type(error) is expected
    assert type(idempotent_error) is expected_idempotent
    assert error.code is code
    assert error.details == f"the gateway says {code.name}"
    assert error.rpc == "CompleteJob"
    assert str(error) == f"CompleteJob: {code.name}: the gateway says {code.name}"


@pytest.mark.parametrize(
    "details",
    [
        "grpc: received message larger than max (5242880 vs. 4194304)",
        "Sent message larger than max (5242937 vs. 4194304)",
        "Message size exceeded",
        "request TOO LARGE",
    ],
)
def test_resource_exhausted_about_message_size_is_message_too_large(stub: Stub, details: str) -> None:
    error = map_grpc_error(real_error(stub, S.RESOURCE_EXHAUSTED, details), rpc="CompleteJob", idempotent=True)

    assert type(error) is MessageTooLargeError
    assert isinstance(error, TerminalError)
    assert error.details == details


def test_back_pressure_is_transient_and_message_too_large_is_terminal(stub: Stub) -> None:
    engine, gateway = stub
    engine.back_pressure.limit = 0  # the engine's own back-pressure: every command is one too many
    try:
        with pytest.raises(grpc.RpcError) as caught:
            gateway.Topology(pb.TopologyRequest(), timeout=5)
    finally:
        engine.back_pressure.limit = None
    back_pressure = caught.value

    assert back_pressure.code() is S.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert isinstance(map_grpc_error(back_pressure), TransientError)
    assert isinstance(map_grpc_error(real_error(stub, S.RESOURCE_EXHAUSTED, "larger than max")), TerminalError)


@pytest.mark.parametrize("code", [S.UNAVAILABLE, S.NOT_FOUND, S.INTERNAL], ids=lambda code: code.name)
def test_a_gateway_error_without_details_is_named_by_its_code(stub: Stub, code: grpc.StatusCode) -> None:
    error = map_grpc_error(real_error(stub, code, ""), rpc="CompleteJob")

    assert error.code is code
    assert error.details == code.name
    assert str(error) == f"CompleteJob: {code.name}"


def test_an_rpc_error_without_a_status_or_text_is_named_by_its_type() -> None:
    error = map_grpc_error(grpc.RpcError(), rpc="Topology")

    assert str(error) == "Topology: ERROR: RpcError"


def test_an_rpc_error_without_a_status_is_unknown() -> None:
    error = map_grpc_error(grpc.RpcError("the channel broke"), rpc="Topology")

    assert type(error) is UnknownGatewayError
    assert error.code is None
    assert error.details == "the channel broke"
    assert str(error) == "Topology: ERROR: the channel broke"


def test_transient_and_terminal_branches_split_the_gateway_errors() -> None:
    transient = {
        BackPressureError,
        GatewayUnavailableError,
        AuthorizationServerError,
        GatewayTimeoutError,
        GatewayInternalError,
    }
    gateway_errors = {
        cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, GatewayError)
    } - {GatewayError, TransientError, TerminalError}

    assert {cls for cls in gateway_errors if issubclass(cls, TransientError)} == transient
    assert all(issubclass(cls, TerminalError) for cls in gateway_errors - transient)


def test_every_exported_error_derives_from_the_one_root() -> None:
    exported = [getattr(errors, name) for name in errors.__all__ if name != "map_grpc_error"]

    assert all(issubclass(cls, ZeebeCeleryError) for cls in exported)


def test_bpmn_error_keeps_code_message_and_a_copy_of_the_variables() -> None:
    variables = {"reason": "limit"}
    error = BpmnError("AMOUNT_TOO_HIGH", "needs manual approval", variables)
    variables["reason"] = "changed"

    assert (error.code, error.message, error.variables) == (
        "AMOUNT_TOO_HIGH",
        "needs manual approval",
        {"reason": "limit"},
    )
    assert str(error) == "AMOUNT_TOO_HIGH: needs manual approval"
    assert str(BpmnError("NO_STOCK")) == "NO_STOCK"


def test_bpmn_error_needs_a_code() -> None:
    with pytest.raises(ValueError, match="non-empty error code"):
        BpmnError("")
