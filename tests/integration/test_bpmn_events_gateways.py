"""One test per element kind of the 8.9 coverage work, through a client and written as Zeebe behaves (so it
runs against a real Zeebe with `make conformance`): timer and signal start events, signal and message throw
events, link events, inclusive and event-based gateways, a terminate end event in a sub-process, script
tasks as jobs, and forms linked from user tasks."""

from __future__ import annotations

import json
import time

from tests.integration.conftest import Jobs, UniqueNames
from tests.unit.engine.bpmn_builders import (
    end_event,
    flow,
    flows,
    message_catch,
    process,
    service_task,
    signal_catch,
    start_event,
    sub_process,
    terminate_end,
    timer_catch,
)
from tests.unit.engine.flow_builders import (
    event_gateway,
    inclusive_gateway,
    link_catch,
    link_throw,
    message_throw,
    signal_start,
    signal_throw,
    timer_start,
)
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job


def _deploy(client: ZeebeClient, unique: UniqueNames, name: str, xml: bytes) -> None:
    client.deploy_resource((f"{unique(name)}.bpmn", xml))


def test_a_timer_start_event_cycle_creates_instances_when_due(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    ticker = process(
        unique("ticker"),
        timer_start("tick", cycle="R2/PT1S"),
        service_task("work", unique("tick-work")),
        end_event(),
        flows("tick", "work", "end"),
    )
    _deploy(zeebe_client, unique, "ticker", ticker)
    ticks = jobs.activate(unique("tick-work"), count=2, within=15)
    assert len({job.process_instance_key for job in ticks}) == 2
    jobs.assert_none(unique("tick-work"), within=1.5)


def test_a_signal_broadcast_starts_a_process_with_a_signal_start_event(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    name = unique("wake-up")
    started = process(
        unique("on-signal"),
        signal_start("go", name),
        service_task("work", unique("woken")),
        end_event(),
        flows("go", "work", "end"),
        signals=[name],
    )
    _deploy(zeebe_client, unique, "on-signal", started)
    zeebe_client.broadcast_signal(name, variables={"why": "test"})
    job = jobs.activate_one(unique("woken"))
    assert job.variables == {"why": "test"}


def test_a_signal_throw_event_reaches_a_waiting_instance_with_its_input_mappings(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    name = unique("ping")
    waiter = process(
        unique("waiter"),
        start_event(),
        signal_catch("wait", name),
        service_task("after", unique("pinged")),
        end_event(),
        flows("start", "wait", "after", "end"),
        signals=[name],
    )
    thrower = process(
        unique("thrower"),
        start_event(),
        signal_throw("throw", name, inputs={"sent": "=n + 1"}),
        signal_throw("bye", name, end=True),
        flows("start", "throw", "bye"),
        signals=[name],
    )
    _deploy(zeebe_client, unique, "waiter", waiter)
    _deploy(zeebe_client, unique, "thrower", thrower)
    waiting = zeebe_client.create_process_instance(unique("waiter"))
    jobs.assert_none(unique("pinged"))
    zeebe_client.create_process_instance(unique("thrower"), variables={"n": 41})
    job = jobs.activate_one(unique("pinged"))
    assert job.process_instance_key == waiting.process_instance_key
    assert job.variables == {"sent": 42}


def test_message_throw_and_end_events_are_jobs(zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs) -> None:
    sender = process(
        unique("sender"),
        start_event(),
        message_throw("notify", unique("notify")),
        message_throw("last", unique("last-word"), end=True),
        flows("start", "notify", "last"),
    )
    _deploy(zeebe_client, unique, "sender", sender)
    zeebe_client.create_process_instance(unique("sender"), variables={"to": "x"})
    for job_type in ("notify", "last-word"):
        job = jobs.activate_one(unique(job_type))
        assert job.element_id in {"notify", "last"}
        zeebe_client.complete_job(job.key)


def test_a_script_task_with_a_job_definition_is_a_job(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    xml = process(
        unique("scripted"),
        start_event(),
        service_task("calc", unique("calc"), tag="scriptTask"),
        end_event(),
        flows("start", "calc", "end"),
    )
    _deploy(zeebe_client, unique, "scripted", xml)
    zeebe_client.create_process_instance(unique("scripted"))
    job = jobs.activate_one(unique("calc"))
    assert job.element_id == "calc"
    zeebe_client.complete_job(job.key, {"sum": 3})


def test_a_link_throw_event_continues_at_its_catch_link(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    xml = process(
        unique("linked"),
        start_event(),
        link_throw("jump", "ahead"),
        link_catch("land", "ahead"),
        service_task("after", unique("landed")),
        end_event(),
        flows("start", "jump"),
        flows("land", "after", "end"),
    )
    _deploy(zeebe_client, unique, "linked", xml)
    instance = zeebe_client.create_process_instance(unique("linked"))
    assert jobs.activate_one(unique("landed")).process_instance_key == instance.process_instance_key


def test_an_inclusive_gateway_forks_on_conditions_and_joins_what_it_forked(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    courses = ("pasta", "steak", "salad")
    xml = process(
        unique("lunch"),
        start_event(),
        inclusive_gateway("fork", default="to-salad"),
        *(service_task(c, unique(c)) for c in courses),
        inclusive_gateway("join"),
        service_task("clear", unique("clear")),
        end_event(),
        flow("start", "fork"),
        flow("fork", "pasta", condition='=list contains(courses, "pasta")'),
        flow("fork", "steak", condition='=list contains(courses, "steak")'),
        flow("fork", "salad", flow_id="to-salad"),
        *(flow(c, "join") for c in courses),
        flows("join", "clear", "end"),
    )
    _deploy(zeebe_client, unique, "lunch", xml)
    zeebe_client.create_process_instance(unique("lunch"), variables={"courses": ["pasta", "steak"]})
    pasta, steak = jobs.activate_one(unique("pasta")), jobs.activate_one(unique("steak"))
    jobs.assert_none(unique("salad"))
    zeebe_client.complete_job(pasta.key)
    jobs.assert_none(unique("clear"))
    zeebe_client.complete_job(steak.key)
    jobs.activate_one(unique("clear"))


def test_an_event_based_gateway_takes_the_first_event_and_drops_the_others(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    message, signal = unique("paid"), unique("halt")
    xml = process(
        unique("race"),
        start_event(),
        event_gateway("which"),
        message_catch("payment", message),
        timer_catch("late", duration="PT1H"),
        signal_catch("stopped", signal),
        service_task("ship", unique("ship")),
        service_task("cancel", unique("cancel")),
        end_event("e1"),
        end_event("e2"),
        end_event("e3"),
        flow("start", "which"),
        flow("which", "payment"),
        flow("which", "late"),
        flow("which", "stopped"),
        flows("payment", "ship", "e1"),
        flow("late", "e2"),
        flows("stopped", "cancel", "e3"),
        messages={message: "=order"},
        signals=[signal],
    )
    _deploy(zeebe_client, unique, "race", xml)
    zeebe_client.create_process_instance(unique("race"), variables={"order": "o-1"})
    zeebe_client.publish_message(message, correlation_key="o-1", variables={"amount": 3})
    ship = jobs.activate_one(unique("ship"))
    assert ship.variables == {"order": "o-1", "amount": 3}
    zeebe_client.broadcast_signal(signal)
    jobs.assert_none(unique("cancel"))


def test_a_terminate_end_event_in_a_sub_process_ends_only_the_sub_process(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    xml = process(
        unique("terminating"),
        start_event(),
        sub_process(
            "sub",
            start_event("s"),
            service_task("slow", unique("slow")),
            terminate_end("stop"),
            end_event("slow-end"),
            flow("s", "slow"),
            flow("s", "stop"),
            flow("slow", "slow-end"),
        ),
        service_task("after", unique("after")),
        end_event(),
        flows("start", "sub", "after", "end"),
    )
    _deploy(zeebe_client, unique, "terminating", xml)
    instance = zeebe_client.create_process_instance(unique("terminating"))
    after = jobs.activate_one(unique("after"))
    assert after.process_instance_key == instance.process_instance_key
    jobs.assert_none(unique("slow"))


def test_a_form_deploys_with_its_metadata_and_a_user_task_links_its_latest_version(
    zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    form_id = unique("order-form")
    content = {"id": form_id, "type": "default", "components": [{"key": "name", "label": "Name", "type": "textfield"}]}
    first = zeebe_client.deploy_resource((f"{form_id}.form", json.dumps(content).encode()))
    content["components"][0]["label"] = "Full name"
    task = (
        '<bpmn:userTask id="review"><bpmn:extensionElements>'
        f'<zeebe:formDefinition formId="{form_id}"/></bpmn:extensionElements></bpmn:userTask>'
    )
    xml = process(unique("reviewed"), start_event(), task, end_event(), flows("start", "review", "end"))
    second = zeebe_client.deploy_resource(
        (f"{unique('reviewed')}.bpmn", xml), (f"{form_id}.form", json.dumps(content).encode())
    )

    [v1] = first.forms
    [v2] = second.forms
    assert (v1.form_id, v1.version, v1.resource_name) == (form_id, 1, f"{form_id}.form")
    assert (v2.form_id, v2.version) == (form_id, 2)
    assert v2.form_key != v1.form_key
    assert [p.bpmn_process_id for p in second.processes] == [unique("reviewed")]

    instance = zeebe_client.create_process_instance(unique("reviewed"))
    job = _user_task_of(zeebe_client, instance.process_instance_key)
    assert job.custom_headers["io.camunda.zeebe:formKey"] == str(v2.form_key)
    zeebe_client.complete_job(job.key)


def _user_task_of(client: ZeebeClient, process_instance_key: int) -> Job:
    """The user-task job of that instance; the job type is shared by every test's user tasks, so others'
    jobs are activated only briefly and come back at once."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for job in client.activate_jobs(
            "io.camunda.zeebe:userTask", worker="bpmn-elements", timeout=1.0, max_jobs=10, request_timeout=1.0
        ):
            if job.process_instance_key == process_instance_key:
                return job
    raise AssertionError(f"no user-task job of instance {process_instance_key} within 10 s")
