"""Forms: ``.form`` resources deploy with versions, and a job-based user task with ``zeebe:formDefinition
formId`` gets the latest version's key in its job's headers; the store keeps forms across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, start_event
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.forms import DeployedForm

FORM_HEADER = "io.camunda.zeebe:formKey"


def form(form_id: str, *, label: str = "Name") -> bytes:
    return json.dumps(
        {"id": form_id, "type": "default", "components": [{"key": "name", "label": label, "type": "textfield"}]}
    ).encode()


def deploy_form(engine: Harness, content: bytes, name: str = "order.form", tenant_id: str = "") -> DeployedForm:
    with engine.runtime.lock:
        [deployed] = engine.runtime.deploy([(name, content)], tenant_id=tenant_id).forms
    return deployed


def linked(form_id: str) -> bytes:
    task = (
        '<bpmn:userTask id="review"><bpmn:extensionElements>'
        f'<zeebe:formDefinition formId="{form_id}"/></bpmn:extensionElements></bpmn:userTask>'
    )
    return process("p", start_event(), task, end_event(), flows("start", "review", "end"))


def test_a_form_deploys_with_version_one_and_a_key(engine: Harness) -> None:
    deployed = deploy_form(engine, form("order"))
    assert (deployed.form_id, deployed.version, deployed.resource_name) == ("order", 1, "order.form")
    assert deployed.key > 0
    assert engine.records("FORM", "CREATED", formId="order")


def test_a_changed_form_is_a_new_version_and_the_same_one_is_not(engine: Harness) -> None:
    first = deploy_form(engine, form("order"))
    again = deploy_form(engine, form("order"))
    changed = deploy_form(engine, form("order", label="Full name"))
    assert again is first
    assert changed.version == 2
    assert changed.key != first.key


def test_forms_are_versioned_per_tenant(engine: Harness) -> None:
    deploy_form(engine, form("order"), tenant_id="a")
    assert deploy_form(engine, form("order"), tenant_id="b").version == 1


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b'{"components": []}', "Expected the form id to be present, but none given"),
        (b'{"id": "  "}', "Expected the form id to be filled, but it is blank"),
        (b"{not json", "Failed to parse form JSON. 'bad.form'"),
    ],
)
def test_a_form_without_an_id_is_refused(engine: Harness, content: bytes, complaint: str) -> None:
    with pytest.raises(InvalidArgument, match=complaint):
        deploy_form(engine, content, name="bad.form")
    assert engine.runtime.forms == {}


def test_two_forms_with_one_id_in_a_deployment_are_refused(engine: Harness) -> None:
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="duplicated id 'order'"):
        engine.runtime.deploy([("a.form", form("order")), ("b.form", form("order", label="x"))])


def test_a_deployment_lists_its_forms_after_its_processes(engine: Harness) -> None:
    with engine.runtime.lock:
        deployment = engine.runtime.deploy([("p.bpmn", linked("order")), ("order.form", form("order"))])
    assert [d.bpmn_process_id for d in deployment.processes] == ["p"]
    assert [f.form_id for f in deployment.forms] == ["order"]


def test_a_user_task_linked_by_form_id_gets_the_latest_forms_key_in_its_job_headers(engine: Harness) -> None:
    deploy_form(engine, form("order"))
    latest = deploy_form(engine, form("order", label="v2"))
    engine.deploy(linked("order"))
    engine.start("p")
    job = engine.one_job("io.camunda.zeebe:userTask")
    assert json.loads(job.custom_headers)[FORM_HEADER] == str(latest.key)


def test_a_user_task_linked_to_a_form_never_deployed_is_an_incident_until_it_is(engine: Harness) -> None:
    engine.deploy(linked("missing"))
    key = engine.start("p")
    [incident] = engine.incidents(key)
    assert incident.error_type == "FORM_NOT_FOUND"
    assert incident.error_message.startswith("Expected to find a form with id 'missing', but no form")
    deployed = deploy_form(engine, form("missing"))
    engine.resolve(incident)
    job = engine.one_job("io.camunda.zeebe:userTask")
    assert json.loads(job.custom_headers)[FORM_HEADER] == str(deployed.key)


def test_a_form_key_is_still_passed_on_as_it_is(engine: Harness) -> None:
    task = (
        '<bpmn:userTask id="review"><bpmn:extensionElements>'
        '<zeebe:formDefinition formKey="camunda-forms:bpmn:mine"/></bpmn:extensionElements></bpmn:userTask>'
    )
    engine.deploy(process("p", start_event(), task, end_event(), flows("start", "review", "end")))
    engine.start("p")
    job = engine.one_job("io.camunda.zeebe:userTask")
    assert json.loads(job.custom_headers)[FORM_HEADER] == "camunda-forms:bpmn:mine"


def test_a_form_can_be_deleted(engine: Harness) -> None:
    deployed = deploy_form(engine, form("order"))
    with engine.runtime.lock:
        engine.runtime.delete_resource(deployed.key)
    assert engine.runtime.forms == {}
    assert deploy_form(engine, form("order")).version == 2


def test_forms_survive_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    first = deploy_form(engine, form("order"))
    second = deploy_form(engine, form("order", label="v2"))
    engine = engine.restart()
    assert [(f.form_id, f.version, f.key) for f in engine.runtime.forms.values()] == [
        ("order", 1, first.key),
        ("order", 2, second.key),
    ]
    assert deploy_form(engine, form("order", label="v2")).key == second.key
    assert deploy_form(engine, form("order", label="v3")).version == 3
