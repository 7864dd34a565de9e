"""``@zeebe_task``: what a handler's signature asks for, how a job's variables are bound to it, which
options it accepts, and how the app's job types are found."""

from __future__ import annotations

import asyncio
import threading
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery import Celery
from pydantic import BaseModel

from tests.unit.builders import job_payload, make_job
from zeebe_celery import handler as handler_module
from zeebe_celery import worker
from zeebe_celery.errors import DuplicateHandlerError, HandlerInputError
from zeebe_celery.handler import Handler, output_variables
from zeebe_celery.job import Job
from zeebe_celery.spec import spec_for, zeebe_task_specs
from zeebe_celery.task import zeebe_task


class Order(BaseModel):
    order_id: str
    amount: float


class Receipt(BaseModel):
    charged: bool
    at: datetime


@pytest.fixture
def app() -> Celery:
    return Celery("task-tests", set_as_current=False)


@pytest.fixture(autouse=True)
def handler_runs_without_reporting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks decorated in these tests call their handler and return its result instead of reporting it."""

    def run_handler(task: Any, handler: Any, payload: dict[str, Any]) -> Any:
        return handler(Job.model_validate(payload), task)

    monkeypatch.setattr(worker, "run_job", run_handler)


def payload(variables: dict[str, Any] | None = None, *, key: int = 11) -> dict[str, Any]:
    return job_payload("charge-card", variables, key=key)


# -- fetch variables -----------------------------------------------------------------------------------


def test_parameters_name_the_variables_to_fetch(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order_id: str, amount: float) -> None:
        return None

    assert spec_for(charge.name).fetch_variables == ("order_id", "amount")


def test_job_parameter_is_not_fetched_as_a_variable(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order: Order, job: Job) -> None:
        return None

    assert spec_for(charge.name).fetch_variables == ("order",)


def test_bound_task_parameter_is_not_fetched_as_a_variable(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, bind=True)
    def charge(self: Any, order: Order) -> None:
        return None

    assert spec_for(charge.name).fetch_variables == ("order",)


def test_var_keyword_parameter_fetches_all_variables(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order: Order, **variables: Any) -> None:
        return None

    assert spec_for(charge.name).fetch_variables is None


def test_handler_without_parameters_fetches_no_variables(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    assert spec_for(charge.name).fetch_variables == ()


def test_explicit_fetch_variables_override_the_signature(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, fetch_variables=["order", "customer"])
    def charge(**variables: Any) -> None:
        return None

    assert spec_for(charge.name).fetch_variables == ("order", "customer")


# -- binding variables ---------------------------------------------------------------------------------


def test_model_parameter_receives_the_variable_validated_as_the_model(app: Celery) -> None:
    received: list[Order] = []

    @zeebe_task("charge-card", app=app)
    def charge(order: Order) -> None:
        received.append(order)

    charge.run(payload({"order": {"order_id": "o-1", "amount": "12.5"}}))

    assert received == [Order(order_id="o-1", amount=12.5)]


def test_model_variable_with_a_bad_field_is_an_input_error_naming_variable_and_field(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order: Order) -> None:
        raise AssertionError("the handler must not run on bad input")

    with pytest.raises(HandlerInputError) as caught:
        charge.run(payload({"order": {"order_id": "o-1", "amount": "lots"}}))

    assert "'order'" in str(caught.value)
    assert "amount" in str(caught.value)


def test_model_variable_missing_a_field_is_an_input_error_naming_the_field(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order: Order) -> None:
        raise AssertionError("the handler must not run on bad input")

    with pytest.raises(HandlerInputError, match=r"'order'.*order_id"):
        charge.run(payload({"order": {"amount": 3}}))


def test_missing_required_variable_is_an_input_error_naming_it(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(order: Order) -> None:
        raise AssertionError("the handler must not run without its variable")

    with pytest.raises(HandlerInputError, match="'order' is missing"):
        charge.run(payload({"other": 1}))


def test_typed_plain_variable_of_the_wrong_type_is_an_input_error(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(count: int) -> None:
        raise AssertionError("the handler must not run on bad input")

    with pytest.raises(HandlerInputError, match="'count'"):
        charge.run(payload({"count": "many"}))


def test_absent_variable_with_a_default_gets_the_default(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(amount: float, currency: str = "EUR") -> dict[str, Any]:
        return {"amount": amount, "currency": currency}

    assert charge.run(payload({"amount": 3})) == {"amount": 3.0, "currency": "EUR"}


def test_present_variable_overrides_the_default(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(currency: str = "EUR") -> str:
        return currency

    assert charge.run(payload({"currency": "CHF"})) == "CHF"


def test_untyped_parameter_receives_the_value_as_it_is(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(anything):  # type: ignore[no-untyped-def]
        return anything

    assert charge.run(payload({"anything": {"nested": [1, "two"]}})) == {"nested": [1, "two"]}


def test_job_parameter_receives_the_job(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(job: Job) -> Job:
        return job

    job = charge.run(payload({"x": 1}, key=987))

    assert isinstance(job, Job)
    assert job.key == 987
    assert job.variables == {"x": 1}


def test_var_keyword_receives_the_variables_not_bound_to_other_parameters(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge(amount: float, **variables: Any) -> dict[str, Any]:
        return {"amount": amount, "rest": variables}

    result = charge.run(payload({"amount": 1, "customer": "c-1", "note": None}))

    assert result == {"amount": 1.0, "rest": {"customer": "c-1", "note": None}}


def test_bind_true_passes_the_task_as_the_first_argument(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, bind=True)
    def charge(self: Any, amount: float) -> tuple[Any, float]:
        return self, amount

    task, amount = charge.run(payload({"amount": 2}))

    assert task.name == charge.name
    assert amount == 2.0


@pytest.fixture
def close_handler_loop() -> Iterator[None]:
    yield
    # Each thread keeps one loop for async handlers; a closed one is replaced on next use.
    handler_module.event_loop().close()


@pytest.mark.usefixtures("close_handler_loop")
def test_async_handler_is_run_to_completion(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    async def charge(amount: float) -> dict[str, float]:
        return {"doubled": amount * 2}

    assert charge.run(payload({"amount": 4})) == {"doubled": 8.0}
    assert charge.run(payload({"amount": 5})) == {"doubled": 10.0}


def test_var_positional_parameter_is_refused(app: Celery) -> None:
    with pytest.raises(TypeError, match=r"\*args"):

        @zeebe_task("charge-card", app=app)
        def charge(*args: Any) -> None:
            return None


def test_annotation_that_cannot_be_resolved_is_refused(app: Celery) -> None:
    with pytest.raises(TypeError, match="cannot resolve the annotations"):

        @zeebe_task("charge-card", app=app)
        def charge(order: NoSuchModel) -> None:  # type: ignore[name-defined] # noqa: F821
            return None


# -- options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", ["", "   "], ids=["empty", "blank"])
def test_empty_job_type_is_refused(job_type: str) -> None:
    with pytest.raises(ValueError, match="non-empty job type"):
        zeebe_task(job_type)


@pytest.mark.parametrize("max_jobs", [0, -1])
def test_max_jobs_below_one_is_refused(max_jobs: int) -> None:
    with pytest.raises(ValueError, match="max_jobs must be at least 1"):
        zeebe_task("charge-card", max_jobs=max_jobs)


@pytest.mark.parametrize("timeout", [0.5, "500ms", 0])
def test_job_timeout_below_one_second_is_refused(timeout: str | float) -> None:
    with pytest.raises(ValueError, match="at least 1s"):
        zeebe_task("charge-card", timeout=timeout)


@pytest.mark.parametrize("option", ["timeout", "retry_backoff"])
def test_duration_that_is_not_a_duration_is_refused(option: str) -> None:
    with pytest.raises(ValueError, match="'2x' is not a duration"):
        zeebe_task("charge-card", **{option: "2x"})


def test_durations_and_bounds_land_in_the_spec(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, timeout="2m", retry_backoff="10s", max_jobs=5, tenant_ids=["t1"])
    def charge() -> None:
        return None

    spec = spec_for(charge.name)
    assert (spec.job_type, spec.timeout, spec.retry_backoff, spec.max_jobs, spec.tenant_ids) == (
        "charge-card",
        120.0,
        10.0,
        5,
        ("t1",),
    )


def test_unset_options_leave_the_bridge_defaults_in_charge(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    spec = spec_for(charge.name)
    assert (spec.timeout, spec.retry_backoff, spec.max_jobs, spec.queue) == (None, None, None, None)


def test_celery_options_pass_through_to_the_task(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, rate_limit="10/s", time_limit=30, soft_time_limit=20, acks_late=True)
    def charge() -> None:
        return None

    assert (charge.rate_limit, charge.time_limit, charge.soft_time_limit, charge.acks_late) == ("10/s", 30, 20, True)


def test_queue_option_routes_the_job_type(app: Celery) -> None:
    @zeebe_task("charge-card", app=app, queue="payments", name="shop.charge-to-payments")
    def charge() -> None:
        return None

    assert spec_for("shop.charge-to-payments").queue == "payments"


def test_queue_option_does_not_set_celerys_deprecated_queue_task_attribute(app: Celery) -> None:
    # Celery 5.x warns that the 'queue' task attribute is removed in 6.0; routing uses the spec.
    @zeebe_task("charge-card", app=app, queue="payments")
    def charge() -> None:
        return None

    app.finalize(auto=True)

    assert charge.name in app.tasks


def test_task_sends_json_and_keeps_no_results(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    assert charge.serializer == "json"
    assert charge.ignore_result is True


def test_task_is_named_after_the_handler_unless_named_explicitly(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    @zeebe_task("refund", app=app, name="shop.refund")
    def refund() -> None:
        return None

    assert charge.name == f"{__name__}.test_task_is_named_after_the_handler_unless_named_explicitly.<locals>.charge"
    assert refund.name == "shop.refund"
    assert spec_for("shop.refund").job_type == "refund"


def test_task_keeps_the_handlers_docstring(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        """Charge the card."""

    assert charge.__doc__ == "Charge the card."


# -- finding the job types -----------------------------------------------------------------------------


def test_task_specs_find_the_job_types_of_the_apps_zeebe_tasks(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    @zeebe_task("ship-parcel", app=app)
    def ship() -> None:
        return None

    @app.task
    def ordinary() -> None:
        return None

    specs = zeebe_task_specs(app)

    assert set(specs) == {"charge-card", "ship-parcel"}
    assert specs["charge-card"].task_name == charge.name
    assert specs["ship-parcel"].task_name == ship.name


def test_task_specs_refuse_two_handlers_for_one_job_type(app: Celery) -> None:
    @zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    @zeebe_task("charge-card", app=app)
    def charge_again() -> None:
        return None

    with pytest.raises(DuplicateHandlerError, match="'charge-card' has two handlers") as caught:
        zeebe_task_specs(app)

    assert charge.name in str(caught.value)
    assert charge_again.name in str(caught.value)


def test_app_without_zeebe_tasks_has_no_job_types(app: Celery) -> None:
    @app.task
    def ordinary() -> None:
        return None

    assert zeebe_task_specs(app) == {}


def test_without_app_the_handler_becomes_a_task_of_apps_like_shared_task() -> None:
    @zeebe_task("shared-task-type")
    def shared_handler(amount: float) -> dict[str, float]:
        return {"amount": amount}

    later = Celery("later", set_as_current=False)

    name = f"{__name__}.test_without_app_the_handler_becomes_a_task_of_apps_like_shared_task.<locals>.shared_handler"
    assert name in later.tasks
    assert zeebe_task_specs(later)["shared-task-type"].task_name == name
    assert later.tasks[name].run(payload({"amount": 7})) == {"amount": 7.0}


def test_task_registered_with_one_app_is_not_a_task_of_another_app(app: Celery) -> None:
    @zeebe_task("app-only-type", app=app)
    def charge() -> None:
        return None

    other = Celery("other", set_as_current=False)

    assert charge.name not in other.tasks
    assert zeebe_task_specs(other) == {}


# -- output variables ----------------------------------------------------------------------------------


def test_dict_output_is_the_variables() -> None:
    result = {"charged": True, "nested": {"n": 1}}

    assert output_variables(result) == {"charged": True, "nested": {"n": 1}}


def test_mapping_output_becomes_a_dict() -> None:
    assert output_variables(types.MappingProxyType({"a": 1})) == {"a": 1}


def test_model_output_is_its_json_form() -> None:
    receipt = Receipt(charged=True, at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))

    assert output_variables(receipt) == {"charged": True, "at": "2024-05-01T12:00:00Z"}


def test_none_output_sets_no_variables() -> None:
    assert output_variables(None) is None


@pytest.mark.parametrize("result", [[1, 2], "done", 42, True], ids=["list", "str", "int", "bool"])
def test_other_output_is_refused_naming_its_type(result: object) -> None:
    with pytest.raises(TypeError, match=type(result).__name__):
        output_variables(result)


def test_async_handlers_on_several_threads_at_once_each_run_on_a_loop_of_their_thread() -> None:
    # A thread pool (celery worker -P threads) runs async handlers on several threads at the same time.
    barrier = threading.Barrier(4)
    loops: list[asyncio.AbstractEventLoop] = []

    async def wait() -> None:
        await asyncio.sleep(0.05)
        loops.append(asyncio.get_running_loop())

    handler = Handler(wait, bind=False)

    def one() -> None:
        barrier.wait()
        try:
            handler(make_job(), None)
        finally:
            handler_module.event_loop().close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(loop) for loop in loops}) == 4
