"""Connectors on real prefork Celery workers and a poller, on the project's engine and a real Redis."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import pytest
import redis

from zeebe_celery.errors import NotFoundError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller
from zeebe_celery.stack.fleet import CeleryWorker
from zeebe_celery.templates import element_template

from .bpmn import inbound_process, one_task_process, service_task, task_from_template
from .conftest import start_workers

pytestmark = pytest.mark.usefixtures("fleet", "poller")


def run(client: ZeebeClient, task_xml: str, **variables: Any) -> dict[str, Any]:
    process_id = f"p-{uuid.uuid4().hex[:10]}"
    client.deploy_resource((f"{process_id}.bpmn", one_task_process(process_id, task_xml)))
    return client.create_process_instance_with_result(process_id, variables=variables, request_timeout=60).variables


def test_the_poller_discovers_connectors_as_job_types(poller: Poller) -> None:
    assert {"log", "decorated-log", "adder", "_activate_inbound_connector"} <= set(poller.specs)


def test_the_seed_log_connector_puts_its_model_into_the_result_variable(client: ZeebeClient) -> None:
    task = service_task("log", inputs={"message": '="hello"'}, headers={"resultVariable": "logged"})

    assert run(client, task)["logged"] == {"status": "ok"}


def test_the_decorator_form_runs_the_same(client: ZeebeClient) -> None:
    task = service_task("decorated-log", inputs={"message": '="hi"'}, headers={"resultVariable": "out"})

    assert run(client, task)["out"] == {"status": "ok"}


def test_without_result_headers_a_connector_sets_no_variables(client: ZeebeClient) -> None:
    variables = run(client, service_task("adder", inputs={"a": "=2", "b": "=3"}), keep="me")

    assert variables == {"keep": "me"}


def test_modeler_strings_are_converted_and_result_expression_maps_a_simple_value(client: ZeebeClient) -> None:
    task = service_task("adder", inputs={"a": '="40"', "b": "=2"}, headers={"resultExpression": "={sum: result}"})

    assert run(client, task)["sum"] == 42


def test_a_bpmn_error_from_a_connector_is_thrown_to_the_process(client: ZeebeClient) -> None:
    process_id = f"p-{uuid.uuid4().hex[:10]}"
    task = service_task("refuser", inputs={"item": '="tea"'})
    xml = one_task_process(process_id, task).decode()
    boundary = (
        '<bpmn:boundaryEvent id="caught" attachedToRef="task"><bpmn:outgoing>f3</bpmn:outgoing>'
        '<bpmn:errorEventDefinition errorRef="err" /></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="handled"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="handled" />'
    )
    xml = xml.replace("</bpmn:process>", boundary + "</bpmn:process>")
    xml = xml.replace("<bpmn:process ", '<bpmn:error id="err" errorCode="NO_STOCK" /><bpmn:process ', 1)
    client.deploy_resource((f"{process_id}.bpmn", xml.encode()))

    result = client.create_process_instance_with_result(process_id, request_timeout=60)

    assert result.process_instance_key > 0


def test_a_generated_template_deploys_and_runs_the_connector_with_the_modelers_inputs(
    client: ZeebeClient, app_module: Any
) -> None:
    template = element_template(app_module.Adder)
    task = task_from_template(template, {"a": 5, "b": 6, "resultVariable": "total"})

    assert run(client, task)["total"] == 11


def test_an_inbound_activation_publishes_one_correlated_message(client: ZeebeClient, store: redis.Redis) -> None:
    store.delete("test:random_inbound:runs", "test:random_inbound:messages")
    process_id = f"inbound-{uuid.uuid4().hex[:10]}"
    message = f"random-{uuid.uuid4().hex[:6]}"
    client.deploy_resource(
        (f"{process_id}.bpmn", inbound_process(process_id, connector="random_inbound", message_name=message))
    )

    result = client.create_process_instance_with_result(process_id, variables={"key": "k-1"}, request_timeout=60)

    assert 1 <= result.variables["random_number"] <= 100
    assert int(store.get("test:random_inbound:messages") or 0) == 1


def test_an_inbound_activation_survives_a_restart_of_every_worker(
    client: ZeebeClient, store: redis.Redis, fleet: list[CeleryWorker], connector_env: dict[str, str], queues: list[str]
) -> None:
    store.delete("test:random_inbound:runs", "test:random_inbound:messages")
    store.set("test:random_inbound:runs", -1000)  # no message until the runs count is set back below
    process_id = f"inbound-{uuid.uuid4().hex[:10]}"
    message = f"random-{uuid.uuid4().hex[:6]}"
    client.deploy_resource(
        (f"{process_id}.bpmn", inbound_process(process_id, connector="random_inbound", message_name=message))
    )
    instance = client.create_process_instance(process_id, variables={"key": "k-restart"})
    try:
        # This instance's activation, not any: other tests' activations share the hash, and stopping the workers
        # before this one's activation job ran would leave that job to come back only after its timeout.
        def stored() -> bool:
            values = store.hvals("zeebe-celery:inbound:activations")
            return any(json.loads(v)["process_instance_key"] == instance.process_instance_key for v in values)

        for _ in range(200):
            if stored():
                break
            store.execute_command("WAIT", 0, 100)
        assert stored()

        for worker in fleet:
            worker.stop()
        store.set("test:random_inbound:runs", 5)
        fleet[:] = start_workers(connector_env, queues)

        # Up to two minutes: on a loaded machine the restarted prefork workers take a while to boot before the
        # sweep (every 15 s) finds the run their predecessors lost.
        for _ in range(1200):
            if int(store.get("test:random_inbound:messages") or 0):
                break
            store.execute_command("WAIT", 0, 100)
        assert int(store.get("test:random_inbound:messages") or 0) == 1
        assert instance.process_instance_key > 0
    finally:
        # A stopped worker may have held the instance's activation job: on the shared engine it would come
        # back after its timeout into the next test that activates inbound activation jobs.
        with contextlib.suppress(NotFoundError):
            client.cancel_process_instance(instance.process_instance_key)
