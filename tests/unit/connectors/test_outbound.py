"""Outbound connectors on the worker: a job's variables become the fields, ``run`` does the work, and the
result is reported to the engine as the task headers ask. Jobs are real jobs of the test's own process:
what the worker sends reaches them, and the assertions read the engine's state."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from celery import Celery
from pydantic import BaseModel, Field

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import BpmnError, OutboundConnector, RunConfig, outbound_connector
from zeebe_celery.connectors.outbound import outbound_connectors
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.task import zeebe_task_specs

from .conftest import payload


class StatusModel(BaseModel):
    status: Literal["ok", "error"]
    count: int = 0


def only_call(faults: Faults) -> tuple[str, Any]:
    """The one RPC the worker made, as (name, request)."""
    calls = faults.calls()
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


def test_the_decorator_form_builds_the_same_connector(
    app: Celery, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
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

    job = payload(jobs, job_type, {"message": "hi"}, headers={"resultVariable": "out"})
    outcome = LogConnector.celery_task.run(job)

    assert outcome == "completed"
    assert only_call(faults)[0] == "CompleteJob"
    assert jobs.completed_variables(job["key"]) == {"out": {"status": "ok", "count": 0}}


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
    app: Celery, jobs: EngineJobs, job_type: str
) -> None:
    seen: list[tuple[int, float, bool]] = []

    def run(self: Any, config: RunConfig) -> None:
        seen.append((self.count, self.ratio, self.flag))

    connector = connector_on(app, job_type, run, count=(int, ...), ratio=(float, 0.5), flag=(bool, False))

    job = payload(jobs, job_type, {"count": "42", "ratio": "1.5", "flag": "true"})
    assert connector.celery_task.run(job) == "completed"
    assert seen == [(42, 1.5, True)]
    assert jobs.state(job["key"]) is None


def test_input_that_fails_validation_raises_an_incident_naming_the_field(
    app: Celery, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    def run(self: Any, config: RunConfig) -> None:
        raise AssertionError("must not run")

    connector = connector_on(app, job_type, run, count=(int, ...))

    job = payload(jobs, job_type, {"count": "many"})
    assert connector.celery_task.run(job) == "incident"
    rpc, request = only_call(faults)
    assert (rpc, request.retries) == ("FailJob", 0)
    incident = jobs.incident(job["key"])
    assert incident["errorType"] == "JOB_NO_RETRIES"
    assert "count" in incident["errorMessage"]
    assert f"c-{job_type}" in incident["errorMessage"]


def test_run_receives_the_connector_config_and_the_job(app: Celery, jobs: EngineJobs, job_type: str) -> None:
    configs: list[RunConfig] = []

    def run(self: Any, config: RunConfig) -> None:
        configs.append(config)

    connector = connector_on(app, job_type, run)
    job = payload(jobs, job_type, headers={"tier": "platinum"}, retries=2)
    connector.celery_task.run(job)

    (config,) = configs
    assert (config.name, config.type, config.timeout) == (f"c-{job_type}", job_type, None)
    assert (config.job.key, config.job.retries, config.job.custom_headers) == (job["key"], 2, {"tier": "platinum"})
    assert config.job.seconds_left() > 0


# -- results --------------------------------------------------------------------------------------


def test_with_neither_result_header_the_job_completes_with_no_variables(
    app: Celery, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    def run(self: Any, config: RunConfig) -> StatusModel:
        return StatusModel(status="ok")

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type)
    assert connector.celery_task.run(job) == "completed"
    rpc, request = only_call(faults)
    assert (rpc, request.variables) == ("CompleteJob", "")
    assert jobs.completed_variables(job["key"]) == {}


def test_result_variable_holds_a_simple_value(app: Celery, jobs: EngineJobs, job_type: str) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return 7

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type, headers={"resultVariable": "answer"})
    assert connector.celery_task.run(job) == "completed"
    assert jobs.completed_variables(job["key"]) == {"answer": 7}


def test_a_sync_run_returning_a_dict_puts_it_whole_into_the_result_variable(
    app: Celery, jobs: EngineJobs, job_type: str
) -> None:
    def run(self: Any, config: RunConfig) -> dict[str, Any]:
        return {"a": 1, "b": [1, 2]}

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type, headers={"resultVariable": "r"})
    assert connector.celery_task.run(job) == "completed"
    assert jobs.completed_variables(job["key"]) == {"r": {"a": 1, "b": [1, 2]}}


def test_a_result_that_does_not_match_the_annotation_raises_an_incident_naming_the_connector(
    app: Celery, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return "seven"  # type: ignore[return-value]

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type, headers={"resultVariable": "r"})
    assert connector.celery_task.run(job) == "incident"
    rpc, request = only_call(faults)
    assert (rpc, request.retries) == ("FailJob", 0)
    message = jobs.incident(job["key"])["errorMessage"]
    assert f"connector 'c-{job_type}' returned str, but run is annotated int" in message


def test_result_expression_maps_the_results_fields_with_feel(app: Celery, jobs: EngineJobs, job_type: str) -> None:
    async def run(self: Any, config: RunConfig) -> StatusModel:
        return StatusModel(status="ok", count=3)

    connector = connector_on(app, job_type, run)
    headers = {"resultExpression": '={isOk: status = "ok", doubled: count * 2}'}

    job = payload(jobs, job_type, headers=headers)
    assert connector.celery_task.run(job) == "completed"
    assert jobs.completed_variables(job["key"]) == {"isOk": True, "doubled": 6}


def test_a_result_expression_that_is_not_a_context_raises_an_incident(
    app: Celery, jobs: EngineJobs, job_type: str
) -> None:
    def run(self: Any, config: RunConfig) -> int:
        return 4

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type, headers={"resultExpression": "=result + 1"})
    assert connector.celery_task.run(job) == "incident"
    assert "must be a FEEL context" in jobs.incident(job["key"])["errorMessage"]


# -- errors ---------------------------------------------------------------------------------------


def test_bpmn_error_from_run_throws_the_error(
    app: Celery, engine: ZeebeEngine, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    def run(self: Any, config: RunConfig) -> None:
        raise BpmnError("NO_STOCK", "sold out", {"reason": "none left"})

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type)
    assert connector.celery_task.run(job) == "thrown"
    rpc, request = only_call(faults)
    assert (rpc, request.errorCode, json.loads(request.variables)) == (
        "ThrowError",
        "NO_STOCK",
        {"reason": "none left"},
    )
    (thrown,) = [r["value"] for r in engine.records.find("JOB", "ERROR_THROWN") if r["key"] == job["key"]]
    assert (thrown["errorCode"], thrown["errorMessage"]) == ("NO_STOCK", "sold out")
    # Nothing in the one-task process catches it, so the engine raises an incident, as Zeebe does.
    assert jobs.incident(job["key"])["errorType"] == "UNHANDLED_ERROR_EVENT"


def test_any_other_exception_fails_the_job_with_one_retry_less(
    app: Celery, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    async def run(self: Any, config: RunConfig) -> None:
        raise ConnectionError("service down")

    connector = connector_on(app, job_type, run)

    job = payload(jobs, job_type, retries=3)
    assert connector.celery_task.run(job) == "failed"
    assert only_call(faults)[0] == "FailJob"
    (failure,) = jobs.failures(job["key"])
    assert (failure["retries"], failure["errorMessage"]) == (2, "ConnectionError: service down")
    assert jobs.job_retries(job["key"]) == 2
    assert jobs.state(job["key"]) is JobState.ACTIVATABLE  # no back-off configured: offered again at once
