"""The web UI's pages over HTTP: each page answers with what the engine holds, and bad input gets a clear
message on the page, never a stack trace."""

from __future__ import annotations

import json
import re

from tests.web.conftest import Client, eventually
from tests.web.scenario import start_approval, start_order
from zeebe_celery.engine import ZeebeEngine


def test_the_processes_page_lists_each_version_with_its_instance_counts(
    engine: ZeebeEngine, client: Client, keys: dict[str, int]
) -> None:
    done = start_order(engine.runtime, "P-1", 10)
    eventually(lambda: engine.instance(done) is None)
    answer = client.get("/")
    assert answer.status == 200
    assert "text/html" in answer.headers["Content-Type"]
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert f'href="/ui/processes/{keys["order-fulfilment"]}"' in answer.text
    assert "expense-approval" in answer.text
    row = re.search(r"order-fulfilment</a>.*?</tr>", answer.text, re.S)
    assert row is not None
    completed = re.search(r"state=COMPLETED\">(\d+)</a>", row.group(0))
    assert completed is not None
    assert int(completed.group(1)) >= 1


def test_a_process_with_bpmndi_is_drawn_where_its_diagram_puts_it(client: Client, keys: dict[str, int]) -> None:
    answer = client.get(f"/ui/processes/{keys['expense-approval']}")
    assert answer.status == 200
    # The user task's shape at x=250 y=80 (100x80), the flow label "yes", the gateway drawn as a diamond.
    assert '<rect class="shape" x="250.0" y="80.0" width="100.0" height="80.0"' in answer.text
    assert ">yes</tspan>" in answer.text
    assert '<polygon class="shape" points="440.0,95.0 465.0,120.0 440.0,145.0 415.0,120.0"/>' in answer.text


def test_a_process_without_bpmndi_gets_an_automatic_layout(client: Client, keys: dict[str, int]) -> None:
    answer = client.get(f"/ui/processes/{keys['order-fulfilment']}")
    assert answer.status == 200
    for element in ("order-placed", "validate", "charge", "card-declined", "payment-settled", "f1", "f6"):
        assert f'data-element-id="{element}"' in answer.text
    assert answer.text.count('marker-end="url(#arrow)"') == 8


def test_the_instances_list_filters_by_process_state_and_variable(engine: ZeebeEngine, client: Client) -> None:
    stuck = start_order(engine.runtime, "F-1", -1)
    engine.wait_for_incident(processInstanceKey=stuck)
    shipped = start_order(engine.runtime, "F-2", 20)
    engine.wait_for_completion(shipped)
    incident = client.get("/ui/instances?process=order-fulfilment&state=INCIDENT")
    assert f"/ui/instances/{stuck}" in incident.text
    assert f"/ui/instances/{shipped}" not in incident.text
    by_value = client.get('/ui/instances?var=order&value={"order_id":"F-2","amount":20}')
    assert f"/ui/instances/{shipped}" in by_value.text
    assert f"/ui/instances/{stuck}" not in by_value.text
    approvals = client.get("/ui/instances?process=expense-approval")
    assert f"/ui/instances/{stuck}" not in approvals.text


def test_a_malformed_filter_is_answered_400_with_its_reason_on_the_page(client: Client) -> None:
    for query, reason in [
        ("state=STUCK", "The state filter is &#x27;STUCK&#x27; but must be one of"),
        ("colour=red", "unknown filter colour"),
        ("value=3", "a variable filter needs the variable&#x27;s name"),
        ("state=ACTIVE&state=COMPLETED", "state is given twice"),
    ]:
        answer = client.get(f"/ui/instances?{query}")
        assert answer.status == 400, query
        assert reason in answer.text, query
        assert "Traceback" not in answer.text


def test_an_unknown_or_malformed_key_gets_a_page_saying_so(client: Client) -> None:
    missing = client.get("/ui/instances/424242")
    assert missing.status == 404
    assert "no process instance has the key 424242" in missing.text
    assert client.get("/ui/processes/77").status == 404
    assert client.get("/ui/tasks/77").status == 404
    malformed = client.get("/ui/instances/12ab")
    assert malformed.status == 400
    assert "a key is a non-negative integer, not &#x27;12ab&#x27;" in malformed.text
    assert client.get("/ui/nowhere").status == 404


def test_an_instance_shows_its_diagram_marks_incident_jobs_variables_and_waits(
    engine: ZeebeEngine, client: Client
) -> None:
    key = start_order(engine.runtime, "I-1", 0)
    engine.wait_for_incident(processInstanceKey=key)
    page = client.get(f"/ui/instances/{key}").text
    assert re.search(r'<g class="el incident" data-element-id="validate">', page)
    assert re.search(r'<g class="el taken" data-element-id="order-placed">', page)
    assert 'class="edge sequenceFlow taken" data-element-id="f1"' in page
    assert "order.amount: Input should be greater than 0" in page
    assert "JOB_NO_RETRIES" in page
    assert "validate-order" in page  # its job
    assert "&quot;order_id&quot;: &quot;I-1&quot;" in page  # the variable, escaped
    assert 'hx-trigger="every 1s"' in page  # live while it runs


def test_an_ended_instance_shows_its_path_and_last_variables_and_stops_polling(
    engine: ZeebeEngine, client: Client
) -> None:
    key = start_order(engine.runtime, "E-1", 950)
    engine.wait_for_completion(key)
    page = client.get(f"/ui/instances/{key}").text
    assert "COMPLETED" in page
    assert re.search(r'<g class="el taken" data-element-id="notify">', page)
    assert "declined" in page
    assert "hx-trigger" not in page


def test_timers_and_message_subscriptions_are_listed(engine: ZeebeEngine, client: Client) -> None:
    with engine.runtime.lock:
        definition = engine.runtime.find_definition(process_id="order-fulfilment")
        key = engine.runtime.create_instance(definition, {"order": {"order_id": "W-1", "amount": 5}}).key

    def waits() -> str:
        return client.get(f"/ui/instances/{key}").text.split("Timers and subscriptions")[1].split("User tasks")[0]

    eventually(lambda: "MESSAGE" in waits())
    assert "payment-settled" in waits()
    assert "W-1" in waits()


def test_the_live_fragment_answers_204_while_nothing_changed(engine: ZeebeEngine, client: Client) -> None:
    key = start_order(engine.runtime, "L-1", -3)
    engine.wait_for_incident(processInstanceKey=key)
    fragment = client.get(f"/ui/instances/{key}/live")
    assert fragment.status == 200
    stamp = re.search(r'data-stamp="(\w+)"', fragment.text)
    assert stamp is not None
    assert client.get(f"/ui/instances/{key}/live?since={stamp.group(1)}").status == 204


def test_the_incidents_page_lists_open_incidents_with_a_link_to_their_instance(
    engine: ZeebeEngine, client: Client
) -> None:
    key = start_order(engine.runtime, "N-1", -2)
    engine.wait_for_incident(processInstanceKey=key)
    page = client.get("/ui/incidents").text
    assert f'href="/ui/instances/{key}"' in page
    assert "order.amount: Input should be greater than 0" in page
    assert ">validate<" in page


def test_the_user_tasks_page_lists_open_tasks_and_a_task_renders_its_form(engine: ZeebeEngine, client: Client) -> None:
    key = start_approval(engine.runtime, {"comment": "<script>alert(1)</script>"})
    eventually(lambda: any(t.instance.process_instance_key == key for t in engine.runtime.user_tasks.values()))
    task = next(t for t in engine.runtime.user_tasks.values() if t.instance.process_instance_key == key)
    listing = client.get("/ui/tasks").text
    assert f'href="/ui/tasks/{task.key}"' in listing
    assert "finance" in listing
    page = client.get(f"/ui/tasks/{task.key}").text
    assert 'name="field:comment"' in page
    assert 'type="number" name="field:amount"' in page
    assert 'type="checkbox" name="field:approved"' in page
    assert '<select name="field:costCenter"' in page
    assert ">Engineering</option>" in page
    assert "Check the receipt before you approve." in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_htmx_is_served_from_the_package(client: Client) -> None:
    answer = client.get("/ui/static/htmx.min.js")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/javascript")
    assert "htmx" in answer.text[:2000]
    assert client.get("/ui/static/../app.py").status == 404


def test_the_history_behind_the_pages_is_built_when_first_opened_and_shared_with_the_rest_api() -> None:
    with ZeebeEngine(monitoring_port=0) as quiet:
        assert quiet.runtime.records.listeners == []  # nobody looks: no rows built per record
        assert quiet.web_url is not None
        assert Client(quiet.web_url).get("/").status == 200
        assert len(quiet.runtime.records.listeners) == 1
    with ZeebeEngine(monitoring_port=0, rest_port=0) as both:
        assert both.web_url is not None
        assert Client(both.web_url).get("/").status == 200
        assert len(both.runtime.records.listeners) == 1  # one history for the REST API and the UI


def test_the_pages_show_what_the_inspection_json_serves(engine: ZeebeEngine, client: Client) -> None:
    key = start_order(engine.runtime, "J-1", -4)
    engine.wait_for_incident(processInstanceKey=key)
    processes = json.loads(client.get("/processes").text)
    order = next(p for p in processes if p["bpmnProcessId"] == "order-fulfilment")
    page = client.get("/").text
    assert f'state=INCIDENT">{order["incidents"]}</a>' in page
    instance = json.loads(client.get(f"/process-instances/{key}").text)
    assert instance["live"] is True
    assert [i["elementId"] for i in instance["incidents"]] == ["validate"]
    assert instance["path"] == {"order-placed": 1, "f1": 1}
    assert [j["type"] for j in instance["jobs"]] == ["validate-order"]
    assert client.get("/process-instances/1").status == 404
    assert client.get("/processes?x=1").status == 400
    assert isinstance(json.loads(client.get("/user-tasks").text), list)
