"""The web UI's actions over HTTP: each goes through the engine's commands, answers with a redirect to its
page, and bad input or a refused command shows its reason on the page and changes nothing."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, native_user_task, process, start_event
from tests.web.conftest import Client, eventually
from tests.web.scenario import shop_engine, start_approval, start_order
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.state import UserTask


def _incident(engine: ZeebeEngine, order_id: str, amount: float) -> tuple[int, int]:
    key = start_order(engine.runtime, order_id, amount)
    return key, engine.wait_for_incident(processInstanceKey=key)["key"]


def test_editing_a_variable_then_retrying_completes_the_instance(engine: ZeebeEngine, client: Client) -> None:
    key, incident = _incident(engine, "R-1", -1)
    edited = client.post(
        f"/ui/instances/{key}/variables", {"scope": str(key), "name": "order", "value": '{"order_id":"R-1","amount":5}'}
    )
    assert edited.status == 303
    assert edited.headers["Location"].startswith(f"/ui/instances/{key}?done=")
    assert engine.instance(key)["variables"]["order"] == {"order_id": "R-1", "amount": 5}  # type: ignore[index]
    retried = client.post(f"/ui/instances/{key}/retry", {"incident": str(incident), "retries": "2"})
    assert retried.status == 303
    engine.wait_for_completion(key)
    assert engine.records.find("INCIDENT", "RESOLVED", processInstanceKey=key)
    assert engine.records.find("JOB", "RETRIES_UPDATED", processInstanceKey=key)[0]["value"]["retries"] == 2


def test_a_variable_edit_that_is_not_json_is_refused_on_the_page_and_changes_nothing(
    engine: ZeebeEngine, client: Client
) -> None:
    key, _ = _incident(engine, "R-2", -1)
    answer = client.post(f"/ui/instances/{key}/variables", {"scope": str(key), "name": "order", "value": "{amount: 5"})
    assert answer.status == 400
    assert "the value of order is not JSON" in answer.text
    assert "Traceback" not in answer.text
    assert engine.instance(key)["variables"]["order"]["amount"] == -1  # type: ignore[index]
    foreign = client.post(f"/ui/instances/{key}/variables", {"scope": "12345", "name": "x", "value": "1"})
    assert foreign.status == 404
    assert "has no active scope 12345" in foreign.text


def test_retrying_an_incident_that_is_not_open_is_refused(engine: ZeebeEngine, client: Client) -> None:
    key, incident = _incident(engine, "R-3", -1)
    bad_retries = client.post(f"/ui/instances/{key}/retry", {"incident": str(incident), "retries": "none"})
    assert bad_retries.status == 400
    assert "retries must be a whole number" in bad_retries.text
    unknown = client.post(f"/ui/instances/{key}/retry", {"incident": "99", "retries": "1"})
    assert unknown.status == 404
    assert f"process instance {key} has no open incident 99" in unknown.text


def test_cancelling_an_instance_terminates_it(engine: ZeebeEngine, client: Client) -> None:
    key, _ = _incident(engine, "C-1", -1)
    assert client.post(f"/ui/instances/{key}/cancel", {}).status == 303
    assert engine.instance(key) is None
    assert "TERMINATED" in client.get(f"/ui/instances/{key}").text
    again = client.post(f"/ui/instances/{key}/cancel", {})
    assert again.status == 404
    assert "Expected to cancel a process instance" in again.text or "not found" in again.text.lower()


def test_moving_a_token_terminates_the_source_and_activates_the_target(engine: ZeebeEngine, client: Client) -> None:
    key, _ = _incident(engine, "M-1", -1)
    source = engine.instance(key)["children"][0]  # type: ignore[index]
    assert source["elementId"] == "validate"
    moved = client.post(f"/ui/instances/{key}/modify", {"source": str(source["key"]), "target": "ship"})
    assert moved.status == 303
    engine.wait_for_completion(key)
    assert engine.records.find("PROCESS_INSTANCE", "ELEMENT_TERMINATED", processInstanceKey=key, elementId="validate")
    assert not engine.records.find("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", processInstanceKey=key, elementId="charge")
    refused = client.post(f"/ui/instances/{key}/modify", {"source": str(source["key"]), "target": "ship"})
    assert refused.status == 404


def _task(engine: ZeebeEngine, key: int) -> UserTask:
    found: list[UserTask] = []

    def ready() -> bool:
        found[:] = [t for t in engine.runtime.user_tasks.values() if t.instance.process_instance_key == key]
        return bool(found) and found[0].state == "CREATED"

    eventually(ready)
    return found[0]


def test_assigning_and_claiming_a_user_task(engine: ZeebeEngine, client: Client) -> None:
    task = _task(engine, start_approval(engine.runtime))
    assigned = client.post(f"/ui/tasks/{task.key}/assign", {"assignee": "ana", "how": "assign"})
    assert assigned.status == 303
    assert engine.runtime.user_tasks[task.key].values["assignee"] == "ana"
    claimed = client.post(f"/ui/tasks/{task.key}/assign", {"assignee": "bo", "how": "claim"})
    assert claimed.status == 409
    assert "ana" in claimed.text
    assert engine.runtime.user_tasks[task.key].values["assignee"] == "ana"


def test_completing_a_user_task_with_its_form_sets_typed_variables(engine: ZeebeEngine, client: Client) -> None:
    key = start_approval(engine.runtime)
    task = _task(engine, key)
    form = {
        "mode": "form",
        "field:comment": "fine",
        "field:amount": "12.5",
        "field:approved": "true",
        "field:costCenter": "1",
    }
    done = client.post(f"/ui/tasks/{task.key}/complete", form)
    assert done.status == 303
    completed = engine.wait_for_completion(key)
    assert completed["value"]["elementId"] == "expense-approval"
    variables = {
        r["value"]["name"]: r["value"]["value"] for r in engine.records.find("VARIABLE", processInstanceKey=key)
    }
    assert variables == {"comment": '"fine"', "amount": "12.5", "approved": "true", "costCenter": '"SAL"'}
    assert engine.records.find("PROCESS_INSTANCE", "ELEMENT_COMPLETED", processInstanceKey=key, elementId="paid")


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"mode": "form", "field:amount": "lots"}, "Approved amount must be a number"),
        ({"mode": "form", "field:costCenter": "7"}, "Cost center has no option"),
        ({"mode": "json", "variables": "[1, 2]"}, "the variables must be a JSON object"),
        ({"mode": "json", "variables": "{approved: true}"}, "the variables is not JSON"),
    ],
)
def test_a_completion_with_bad_input_is_refused_and_the_task_stays_open(
    engine: ZeebeEngine, client: Client, form: dict[str, str], reason: str
) -> None:
    task = _task(engine, start_approval(engine.runtime))
    answer = client.post(f"/ui/tasks/{task.key}/complete", form)
    assert answer.status == 400
    assert reason in answer.text
    assert task.key in engine.runtime.user_tasks


def test_an_action_from_another_origin_is_refused(engine: ZeebeEngine, client: Client) -> None:
    key, _ = _incident(engine, "X-1", -1)
    answer = client.post(f"/ui/instances/{key}/cancel", {}, headers={"Origin": "http://evil.example"})
    assert answer.status == 403
    assert engine.instance(key) is not None
    rebinding = client.get("/", headers={"Host": "evil.example:80"})
    assert rebinding.status == 421


def test_with_a_token_the_ui_wants_a_sign_in_and_keeps_it_in_a_cookie() -> None:
    with shop_engine(token="s3cret") as (engine, _):
        assert engine.web_url is not None
        client = Client(engine.web_url)
        assert client.get("/").status == 401
        assert "This engine wants its token" in client.get("/ui/instances").text
        assert client.post("/ui/login", {"token": "wrong"}).status == 401
        signed = client.post("/ui/login", {"token": "s3cret"})
        assert signed.status == 303
        cookie = signed.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert client.get("/", headers={"Cookie": cookie.split(";")[0]}).status == 200
        assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status == 200
        assert client.get("/incidents", headers={"Cookie": cookie.split(";")[0]}).status == 401  # JSON: bearer only


def test_a_user_task_without_a_form_is_completed_with_json(engine: ZeebeEngine, client: Client) -> None:
    bpmn = process("plain", start_event(), native_user_task("check"), end_event(), flows("start", "check", "end"))
    with engine.runtime.lock:
        definition = engine.runtime.deploy([("plain.bpmn", bpmn)]).processes[0]
        key = engine.runtime.create_instance(definition, {}).key
    task = _task(engine, key)
    page = client.get(f"/ui/tasks/{task.key}").text
    assert 'textarea name="variables"' in page
    assert "field:" not in page
    done = client.post(f"/ui/tasks/{task.key}/complete", {"mode": "json", "variables": '{"ok": true, "n": [1, 2]}'})
    assert done.status == 303
    assert done.headers["Location"].startswith("/ui/tasks?done=")
    engine.wait_for_completion(key)
    variables = {
        r["value"]["name"]: r["value"]["value"] for r in engine.records.find("VARIABLE", processInstanceKey=key)
    }
    assert variables == {"ok": "true", "n": "[1, 2]"}
