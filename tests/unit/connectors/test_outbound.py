"""Outbound connectors on the worker: a job's variables become the fields, ``run`` does the work, and the
result is reported to the fake gateway as the task headers ask."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from celery import Celery
from pydantic import BaseModel, Field

from zeebe_celery import BpmnError, OutboundConnector, RunConfig, outbound_connector
from zeebe_celery.connectors.outbound import outbound_connectors
from zeebe_celery.task import zeebe_task_specs
from zeebe_celery.testing.fake_gateway import FakeGateway

from .conftest import payload


class StatusModel(BaseModel):
    status: Literal["ok", "error"]
    count: int = 0


def only_call(fake: FakeGateway) -> tuple[str, Any]:
    calls = fake.calls
    assert len(calls) == 1, [c.rpc for c in calls]
    return calls[0].rpc, calls[0].request


def log_connector(app: Celery, job_type: str) -> type[OutboundConnector]:
    class LogConnector(OutboundConnector):
        message: str = Field(description="Message to log")
        times: int = 1

        async def run(self, config: RunConfig) -> StatusModel:
            return StatusModel(status="ok", count=self.times)

        class ConnectorConfig:
            name = "LogConnector"
            type = job_type
            timeout = 30
            app = None

    return LogConnector


def connector_on(app: Celery, job_type: str, run: Any, **fields: Any) -> Any:
    """A connector class of ``job_type`` on ``app`` whose run is ``run``."""
    config = type("ConnectorConfig", (), {"name": f"c-{job_type}", "type": job_type, "app": app})
    namespace: dict[str, Any] = {"run": run, "ConnectorConfig": config, "__module__": __name__}
    namespace["__annotations__"] = {name: annotation for name, (annotation, _) in fields.items()}
    namespace.update({name: default for name, (_, default) in fields.items()})
    config.__qualname__ = f"Conn{job_type}.ConnectorConfig"
    namespace["__qualname__"] = f"Conn{job_type}"
    return type(f"Conn{job_type}", (OutboundConnector,), namespace)


# -- registration -----------------------------------------------------------------------------------


def test_defining_a_connector_class_registers_it_like_a_shared_task_on_the_current_app(job_type: str) -> None:
    class Logger(OutboundConnector):
        message: str

        def run(self, config: RunConfig) -> None:
            return None

        class ConnectorConfig:
            name = "Logger"
            type = job_type
            timeout = 45

    later = Celery("created-after-the-connector", set_as_current=False)

    spec = zeebe_task_specs(later)[job_type]
    assert spec.task_name == Logger.celery_task.name
    assert later.tasks[spec.task_name].name == spec.task_name


def test_a_connector_registers_its_timeout_and_fetches_only_its_fields(app: Celery, job_type: str) -> None:
    celery_app = app

    class Bound(OutboundConnector):
        message: str
        count: int = Field(default=1, alias="howMany")

        def run(self, config: RunConfig) -> None:
            return None

        class ConnectorConfig:
            name = "Bound"
            type = job_type
            timeout = 45
            app = celery_app

    spec = zeebe_task_specs(app)[job_type]
    assert spec.task_name == Bound.celery_task.name
    assert spec.timeout == 45
    assert spec.fetch_variables == ("message", "howMany")
    assert outbound_connectors()[spec.task_name] is Bound


def test_the_decorator_form_builds_the_same_connector(app: Celery, job_type: str, fake: FakeGateway) -> None:
    @outbound_connector(name="LogConnector", type=job_type, timeout=20, app=app)
    class LogConnector:
        message: str = Field(description="Message to log")

        async def run(self, config: RunConfig) -> StatusModel:
            return StatusModel(status="ok")

    assert issubclass(LogConnector, OutboundConnector)
    spec = zeebe_task_specs(app)[job_type]
    assert spec.timeout == 20
    assert spec.fetch_variables == ("message",)
    assert LogConnector.model_fields["message"].description == "Message to log"

    outcome = LogConnector.celery_task.run(payload(job_type, {"message": "hi"}, headers={"resultVariable": "out"}))

    assert outcome == "completed"
    assert json.loads(only_call(fake)[1].variables) == {"out": {"status": "ok", "count": 0}}


@pytest.mark.parametrize("returns", ["list[int]", "set[str]", "object"])
def test_a_run_with_a_wrong_return_annotation_fails_when_the_class_is_defined(returns: str) -> None:
    with pytest.raises(TypeError, match="must return None, a pydantic model"):
        exec(  # noqa: S102 - builds the class with the annotation under test
            f"""
class Wrong(OutboundConnector):
    def run(self, config) -> {returns}:
        return None
    class ConnectorConfig:
        name = "wrong"
        type = "wrong-type"
""",
            {"OutboundConnector": OutboundConnector, "__name__": __name__},
        )


def test_a_run_without_a_return_annotation_fails_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="run must be annotated"):

        class Unannotated(OutboundConnector):
            def run(self, config):  # type: ignore[no-untyped-def]
                return None

            class ConnectorConfig:
                name = "unannotated"
                type = "unannotated-type"


def test_a_connector_without_connector_config_fails_when_defined() -> None:
    with pytest.raises(TypeError, match="needs a nested `class ConnectorConfig`"):

        class Nameless(OutboundConnector):
            def run(self, config: RunConfig) -> None:
                return None


def test_an_unknown_connector_config_option_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"unknown attribute.*retries"):

        class Odd(OutboundConnector):
            def run(self, config: RunConfig) -> None:
                return None

            class ConnectorConfig:
                name = "odd"
                type = "odd-type"
                retries = 3


# -- inputs ---------------------------------------------------------------------------------------


def test_inputs_are_validated_in_lax_mode_so_modeler_strings_fill_number_fields(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    seen: list[tuple[int, float, bool]] = []

    def run(self: Any, config: RunConfig) -> None:
        seen.append((self.count, self.ratio, self.flag))

    connector = connector_on(app, job_type, run, count=(int, ...), ratio=(float, 0.5), flag=(bool, False))

    assert connector.celery_task.run(payload(job_type, {"count": "42", "ratio": "1.5", "flag": "true"})) == "completed"
    assert seen == [(42, 1.5, True)]


def test_input_that_fails_validation_raises_an_incident_naming_the_field(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    def run(self: Any, config: RunConfig) -> None:
        raise AssertionError("must not run")

    connector = connector_on(app, job_type, run, count=(int, ...))

    assert connector.celery_task.run(payload(job_type, {"count": "many"})) == "incident"
    rpc, request = only_call(fake)
    assert rpc == "FailJob"
    assert request.retries == 0
    assert "count" in request.errorMessage
    assert f"c-{job_type}" in request.errorMessage


def test_run_receives_the_connector_config_and_the_job(app: Celery, job_type: str, fake: FakeGateway) -> None:
    configs: list[RunConfig] = []

    def run(self: Any, config: RunConfig) -> None:
        configs.append(config)

    connector = connector_on(app, job_type, run)
    connector.celery_task.run(payload(job_type, headers={"tier": "gold"}, key=99, retries=2))

    (config,) = configs
    assert (config.name, config.type, config.timeout) == (f"c-{job_type}", job_type, None)
    assert (config.job.key, config.job.retries, config.job.custom_headers) == (99, 2, {"tier": "gold"})
    assert config.job.seconds_left() > 0


# -- results --------------------------------------------------------------------------------------


def test_with_neither_result_header_the_job_completes_with_no_variables(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    def run(self: Any, config: RunConfig) -> StatusModel:
        return StatusModel(status="ok")

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type)) == "completed"
    rpc, request = only_call(fake)
    assert (rpc, request.variables) == ("CompleteJob", "")


def test_result_variable_holds_a_simple_value(app: Celery, job_type: str, fake: FakeGateway) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return 7

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type, headers={"resultVariable": "answer"})) == "completed"
    assert json.loads(only_call(fake)[1].variables) == {"answer": 7}


def test_a_sync_run_returning_a_dict_puts_it_whole_into_the_result_variable(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    def run(self: Any, config: RunConfig) -> dict[str, Any]:
        return {"a": 1, "b": [1, 2]}

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type, headers={"resultVariable": "r"})) == "completed"
    assert json.loads(only_call(fake)[1].variables) == {"r": {"a": 1, "b": [1, 2]}}


def test_a_result_that_does_not_match_the_annotation_raises_an_incident_naming_the_connector(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return "seven"  # type: ignore[return-value]

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type, headers={"resultVariable": "r"})) == "incident"
    rpc, request = only_call(fake)
    assert (rpc, request.retries) == ("FailJob", 0)
    assert f"connector 'c-{job_type}' returned str, but run is annotated int" in request.errorMessage


def test_result_expression_maps_the_results_fields_with_feel(app: Celery, job_type: str, fake: FakeGateway) -> None:
    async def run(self: Any, config: RunConfig) -> StatusModel:
        return StatusModel(status="ok", count=3)

    connector = connector_on(app, job_type, run)
    headers = {"resultExpression": '={isOk: status = "ok", doubled: count * 2}'}

    assert connector.celery_task.run(payload(job_type, headers=headers)) == "completed"
    assert json.loads(only_call(fake)[1].variables) == {"isOk": True, "doubled": 6}


def test_a_result_expression_that_is_not_a_context_raises_an_incident(
    app: Celery, job_type: str, fake: FakeGateway
) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return 4

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type, headers={"resultExpression": "=result + 1"})) == "incident"
    assert "must be a FEEL context" in only_call(fake)[1].errorMessage


# -- errors ---------------------------------------------------------------------------------------


def test_bpmn_error_from_run_throws_the_error(app: Celery, job_type: str, fake: FakeGateway) -> None:
    def run(self: Any, config: RunConfig) -> None:
        raise BpmnError("NO_STOCK", "sold out", {"reason": "none left"})

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type)) == "thrown"
    rpc, request = only_call(fake)
    assert (rpc, request.errorCode, json.loads(request.variables)) == (
        "ThrowError",
        "NO_STOCK",
        {"reason": "none left"},
    )


def test_any_other_exception_fails_the_job_with_one_retry_less(app: Celery, job_type: str, fake: FakeGateway) -> None:
    async def run(self: Any, config: RunConfig) -> None:
        raise ConnectionError("service down")

    connector = connector_on(app, job_type, run)

    assert connector.celery_task.run(payload(job_type, retries=3)) == "failed"
    rpc, request = only_call(fake)
    assert (rpc, request.retries, request.errorMessage) == ("FailJob", 2, "ConnectionError: service down")
