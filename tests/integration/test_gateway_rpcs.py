"""Every RPC of the Gateway service, against the real Zeebe 8.5 broker, proven by its effect."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    GatewayUnavailableError,
    InvalidArgumentError,
    NotFoundError,
)
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.types import ActivateInstruction, PartitionHealth, PartitionRole
from zeebe_celery.job import Job

pytestmark = pytest.mark.integration

# A key on partition 1 far beyond any key a test run creates: no job, incident or instance has it.
UNKNOWN_KEY = (1 << 51) + 10**12


def deploy_one_task(client: ZeebeClient, unique) -> tuple[str, str]:
    """Deploy this test's copy of one_task.bpmn; return its process id and job type."""
    client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    return unique("one-task"), unique("test-work")


def deploy_two_tasks(client: ZeebeClient, unique) -> int:
    """Deploy this test's copy of two_tasks.bpmn; return its process definition key."""
    deployment = client.deploy_resource(unique.resource("two_tasks.bpmn", "two-tasks", "first-work", "second-work"))
    return deployment.processes[0].process_definition_key


# -- topology ----------------------------------------------------------------------------------------


def test_topology_reports_a_healthy_leader_for_partition_1_on_gateway_8_5_8(zeebe_client: ZeebeClient) -> None:
    topology = zeebe_client.topology()

    assert topology.gateway_version == "8.9.0"
    assert 1 in topology.healthy_leaders()
    assert topology.is_healthy
    assert topology.cluster_size == len(topology.brokers) >= 1
    leader = next(
        p for b in topology.brokers for p in b.partitions if p.partition_id == 1 and p.role is PartitionRole.LEADER
    )
    assert leader.health is PartitionHealth.HEALTHY
    assert {b.version for b in topology.brokers} == {"8.9.0"}


# -- resources ---------------------------------------------------------------------------------------


def test_deploy_resource_deploys_a_bpmn_path_and_dmn_bytes_in_one_call(
    zeebe_client: ZeebeClient, unique, tmp_path: Path
) -> None:
    bpmn = tmp_path / "order.bpmn"
    bpmn.write_text(unique.text("one_task.bpmn", "one-task", "test-work"), encoding="utf-8")
    dmn = unique.resource("discount.dmn", "discount", "discount-rules")

    deployment = zeebe_client.deploy_resource(bpmn, dmn)

    assert deployment.key > 0
    [process] = deployment.processes
    assert process.bpmn_process_id == unique("one-task")
    assert process.version == 1
    assert process.resource_name == "order.bpmn"
    assert process.process_definition_key > 0
    [drg] = deployment.decision_requirements
    assert drg.decision_requirements_id == unique("discount-rules")
    assert drg.decision_requirements_name == "Discount rules"
    assert drg.version == 1
    assert drg.resource_name == dmn[0]
    [decision] = deployment.decisions
    assert decision.decision_id == unique("discount")
    assert decision.decision_name == "Discount"
    assert decision.version == 1
    assert decision.decision_requirements_id == drg.decision_requirements_id
    assert decision.decision_requirements_key == drg.decision_requirements_key
    # The process really exists now: an instance of it starts.
    assert zeebe_client.create_process_instance(unique("one-task")).process_definition_key == (
        process.process_definition_key
    )


def test_redeploying_a_changed_process_creates_version_2(zeebe_client: ZeebeClient, unique, jobs) -> None:
    first = zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    same = zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    changed = zeebe_client.deploy_resource(
        unique.resource("one_task.bpmn", "one-task", "test-work", renames={"test-work": unique("test-work-v2")})
    )

    [v1], [unchanged], [v2] = first.processes, same.processes, changed.processes
    assert (v1.version, unchanged.version, v2.version) == (1, 1, 2)
    assert unchanged.process_definition_key == v1.process_definition_key
    assert v2.process_definition_key != v1.process_definition_key
    # The latest version is the default; an older one can still be asked for.
    assert zeebe_client.create_process_instance(unique("one-task")).version == 2
    assert jobs.activate_one(unique("test-work-v2")).process_definition_version == 2
    assert zeebe_client.create_process_instance(unique("one-task"), version=1).version == 1
    assert jobs.activate_one(unique("test-work")).process_definition_key == v1.process_definition_key


def test_deploying_invalid_bpmn_raises_invalid_argument_with_the_gateways_reason(zeebe_client: ZeebeClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        zeebe_client.deploy_resource(Path(__file__).parent.parent / "bpmn" / "invalid_no_task_definition.bpmn")

    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid_no_task_definition.bpmn" in caught.value.details
    assert "zeebe:taskDefinition" in caught.value.details
    assert caught.value.details in str(caught.value)


def test_deleted_process_definition_cannot_be_instantiated(zeebe_client: ZeebeClient, unique) -> None:
    process_id, _ = deploy_one_task(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(process_id)

    with pytest.raises(FailedPreconditionError, match="still running instances"):
        zeebe_client.delete_resource(instance.process_definition_key)
    zeebe_client.cancel_process_instance(instance.process_instance_key)
    zeebe_client.delete_resource(instance.process_definition_key)

    with pytest.raises(NotFoundError, match="process definition"):
        zeebe_client.create_process_instance(process_definition_key=instance.process_definition_key)
    with pytest.raises(NotFoundError):
        zeebe_client.create_process_instance(process_id)
    with pytest.raises(NotFoundError):
        zeebe_client.delete_resource(instance.process_definition_key)


# -- process instances -------------------------------------------------------------------------------


def test_create_process_instance_starts_the_latest_version_with_its_variables(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)

    instance = zeebe_client.create_process_instance(process_id, variables={"orderId": "o-1", "amount": 12.5})

    assert instance.bpmn_process_id == process_id
    assert instance.version == 1
    assert instance.process_instance_key > 0
    job = jobs.activate_one(job_type)
    assert job.process_instance_key == instance.process_instance_key
    assert job.process_definition_key == instance.process_definition_key
    assert job.element_id == "work"
    assert job.custom_headers == {"tier": "gold"}
    assert job.variables == {"orderId": "o-1", "amount": 12.5}


def test_create_process_instance_can_start_at_a_later_element(zeebe_client: ZeebeClient, unique, jobs) -> None:
    deploy_two_tasks(zeebe_client, unique)

    instance = zeebe_client.create_process_instance(unique("two-tasks"), start_at=["second"])

    assert jobs.activate_one(unique("second-work")).process_instance_key == instance.process_instance_key
    jobs.assert_none(unique("first-work"))


def test_create_process_instance_with_result_returns_the_variables_it_ended_with(
    zeebe_client: ZeebeClient, unique
) -> None:
    zeebe_client.deploy_resource(unique.resource("script_sum.bpmn", "script-sum"))

    everything = zeebe_client.create_process_instance_with_result(
        unique("script-sum"), variables={"a": 2, "b": 3, "note": "hi"}
    )
    only_sum = zeebe_client.create_process_instance_with_result(
        unique("script-sum"), variables={"a": 20, "b": 22, "note": "hi"}, fetch_variables=["sum"]
    )

    assert everything.bpmn_process_id == unique("script-sum")
    assert everything.variables == {"a": 2, "b": 3, "note": "hi", "sum": 5}
    assert only_sum.variables == {"sum": 42}
    assert only_sum.process_instance_key != everything.process_instance_key


def test_creating_an_instance_of_an_unknown_process_raises_not_found(zeebe_client: ZeebeClient, unique) -> None:
    with pytest.raises(NotFoundError, match=unique("no-such-process")) as caught:
        zeebe_client.create_process_instance(unique("no-such-process"))

    assert caught.value.code is grpc.StatusCode.NOT_FOUND
    assert caught.value.rpc == "CreateProcessInstance"


def test_cancelled_instance_loses_its_job_and_cannot_be_cancelled_twice(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)

    zeebe_client.cancel_process_instance(instance.process_instance_key)

    with pytest.raises(NotFoundError):
        zeebe_client.complete_job(job.key)
    with pytest.raises(NotFoundError):
        zeebe_client.cancel_process_instance(instance.process_instance_key)


def test_set_variables_on_the_instance_scope_reaches_the_next_job(zeebe_client: ZeebeClient, unique, jobs) -> None:
    deploy_two_tasks(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(unique("two-tasks"), variables={"approved": False})
    first = jobs.activate_one(unique("first-work"))

    command_key = zeebe_client.set_variables(instance.process_instance_key, {"approved": True, "by": "ops"})
    zeebe_client.complete_job(first.key)

    assert command_key > 0
    assert jobs.activate_one(unique("second-work")).variables == {"approved": True, "by": "ops"}


def test_modify_process_instance_activates_one_element_and_terminates_another(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    deploy_two_tasks(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(unique("two-tasks"))
    first = jobs.activate_one(unique("first-work"), timeout=1.0)

    zeebe_client.modify_process_instance(
        instance.process_instance_key,
        activate=[ActivateInstruction("second", variables={"": {"skipped": "first"}})],
        terminate=[first.element_instance_key],
    )

    second = jobs.activate_one(unique("second-work"))
    assert second.process_instance_key == instance.process_instance_key
    assert second.variables == {"skipped": "first"}
    # The first task is gone: its job neither comes back after its 1s timeout nor can be completed.
    jobs.assert_none(unique("first-work"), within=2.0)
    with pytest.raises(NotFoundError):
        zeebe_client.complete_job(first.key)


def test_migrate_process_instance_moves_a_waiting_instance_to_version_2(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    v1_key = deploy_two_tasks(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(unique("two-tasks"))
    # Version 2 gives the second task another job type, so the path taken after migrating shows.
    v2 = zeebe_client.deploy_resource(
        unique.resource(
            "two_tasks.bpmn",
            "two-tasks",
            "first-work",
            "second-work",
            renames={"second-work": unique("second-work-v2")},
        )
    ).processes[0]
    assert v2.version == 2

    zeebe_client.migrate_process_instance(
        instance.process_instance_key,
        target_process_definition_key=v2.process_definition_key,
        mappings={"first": "first", "second": "second"},
    )

    first = jobs.activate_one(unique("first-work"))
    assert first.process_instance_key == instance.process_instance_key
    assert first.process_definition_key == v2.process_definition_key != v1_key
    assert first.process_definition_version == 2
    zeebe_client.complete_job(first.key)
    second = jobs.activate_one(unique("second-work-v2"))
    assert second.process_instance_key == instance.process_instance_key
    jobs.assert_none(unique("second-work"))


def test_migrating_to_an_unknown_definition_raises_not_found(zeebe_client: ZeebeClient, unique) -> None:
    deploy_two_tasks(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(unique("two-tasks"))

    with pytest.raises(NotFoundError):
        zeebe_client.migrate_process_instance(
            instance.process_instance_key, target_process_definition_key=UNKNOWN_KEY, mappings=[("first", "first")]
        )


# -- jobs --------------------------------------------------------------------------------------------


def test_activate_jobs_returns_at_most_max_jobs_with_only_the_fetched_variables(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    for n in range(3):
        zeebe_client.create_process_instance(process_id, variables={"n": n, "payload": "x" * 100})

    started = time.time()
    first = zeebe_client.activate_jobs(
        job_type, worker="picky", timeout=45, max_jobs=2, fetch_variables=["n"], request_timeout=5
    )

    assert len(first) == 2
    assert all(set(job.variables) == {"n"} for job in first)
    assert all(job.worker == "picky" for job in first)
    assert all(started + 40 < job.deadline / 1000 < time.time() + 46 for job in first)
    [last] = jobs.activate(job_type, count=1)
    assert {job.variables.get("n") for job in first} | {last.variables["n"]} == {0, 1, 2}
    assert last.variables["payload"] == "x" * 100


def test_completed_job_merges_its_variables_into_the_instance(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(
            zeebe_client.create_process_instance_with_result, process_id, variables={"order": 1}, request_timeout=30
        )
        job = jobs.activate_one(job_type)
        zeebe_client.complete_job(job.key, {"total": 42, "lines": [{"sku": "a", "qty": 2}]})
        result = waiting.result(timeout=30)

    assert result.process_instance_key == job.process_instance_key
    assert result.variables == {"order": 1, "total": 42, "lines": [{"sku": "a", "qty": 2}]}


def test_completing_a_job_twice_raises_not_found(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)
    zeebe_client.complete_job(job.key)

    with pytest.raises(NotFoundError) as caught:
        zeebe_client.complete_job(job.key)

    assert caught.value.rpc == "CompleteJob"
    assert str(job.key) in caught.value.details


def test_failed_job_with_retries_left_is_activated_again_with_fewer_retries(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id, variables={"attempt": 0})
    job = jobs.activate_one(job_type)
    assert job.retries == 3

    zeebe_client.fail_job(job.key, retries=2, error_message="flaky downstream", variables={"attempt": 1})

    again = jobs.activate_one(job_type)
    assert again.key == job.key
    assert again.retries == 2
    assert again.variables == {"attempt": 1}


def test_retry_backoff_keeps_a_failed_job_back_until_it_has_passed(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)
    backoff = 2.0

    failed_at = time.monotonic()
    zeebe_client.fail_job(job.key, retries=2, retry_backoff=backoff)

    jobs.assert_none(job_type, within=0.2)
    again = jobs.activate_one(job_type, within=backoff + 10)
    waited = time.monotonic() - failed_at
    assert again.key == job.key
    assert waited >= backoff
    assert waited < backoff + 5


def find_incident_key(client: ZeebeClient, job_key: int) -> int:
    """Resolve the incident a job just raised and return its key.

    The 8.5 gRPC API cannot query incidents, but keys are handed out in order on a partition, so the
    incident's key follows the job's closely; resolving any other key is rejected with NOT_FOUND.
    """
    for candidate in range(job_key + 1, job_key + 50):
        try:
            client.resolve_incident(candidate)
        except NotFoundError:
            continue
        return candidate
    raise AssertionError(f"no incident found among the 50 keys after job {job_key}")


def test_job_failed_without_retries_raises_an_incident_that_resolving_clears(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)

    zeebe_client.fail_job(job.key, retries=0, error_message="bad input: field 'sku' is missing")

    jobs.assert_none(job_type)
    # New retries alone do not bring the job back while its incident is open.
    zeebe_client.update_job_retries(job.key, 5)
    jobs.assert_none(job_type)
    incident_key = find_incident_key(zeebe_client, job.key)
    again = jobs.activate_one(job_type)
    assert again.key == job.key
    assert again.retries == 5
    with pytest.raises(NotFoundError):
        zeebe_client.resolve_incident(incident_key)


def test_update_job_retries_sets_the_retries_of_the_next_activation(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)
    zeebe_client.fail_job(job.key, retries=1, retry_backoff=1.0)

    zeebe_client.update_job_retries(job.key, 5)

    assert jobs.activate_one(job_type).retries == 5


def test_resolving_an_unknown_incident_raises_not_found(zeebe_client: ZeebeClient) -> None:
    with pytest.raises(NotFoundError, match="no such incident"):
        zeebe_client.resolve_incident(UNKNOWN_KEY)


def test_thrown_bpmn_error_takes_the_error_boundary_path(zeebe_client: ZeebeClient, unique, jobs) -> None:
    zeebe_client.deploy_resource(
        unique.resource("error_boundary.bpmn", "error-boundary", "reserve-work", "backorder-work")
    )
    instance = zeebe_client.create_process_instance(unique("error-boundary"), variables={"sku": "a-1"})
    reserve = jobs.activate_one(unique("reserve-work"))

    zeebe_client.throw_error(reserve.key, "NO_STOCK", error_message="shelf empty", variables={"reason": "shelf empty"})

    backorder = jobs.activate_one(unique("backorder-work"))
    assert backorder.process_instance_key == instance.process_instance_key
    assert backorder.element_id == "backorder"
    assert backorder.variables == {"sku": "a-1", "reason": "shelf empty"}
    with pytest.raises(NotFoundError):
        zeebe_client.complete_job(reserve.key)


def test_shortened_job_timeout_hands_the_job_out_again(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type, timeout=600)
    assert job.seconds_left() > 590

    shortened_at = time.monotonic()
    zeebe_client.update_job_timeout(job.key, 1.0)

    again = jobs.activate_one(job_type, timeout=60, within=10)
    assert again.key == job.key
    assert time.monotonic() - shortened_at < 10
    assert 50 < again.seconds_left() <= 60


def test_extended_job_timeout_keeps_the_job_from_other_workers(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type, timeout=1.0)

    zeebe_client.update_job_timeout(job.key, 600)

    # Without the extension the job is handed out again about a second after its 1s timeout.
    jobs.assert_none(job_type, within=3.0)
    zeebe_client.complete_job(job.key)


def test_job_stream_pushes_a_new_job_and_ends_on_cancel(zeebe_client: ZeebeClient, unique) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    call = zeebe_client.stream_activated_jobs(job_type, worker="streamer", timeout=30)
    pushed: list[Job] = []
    arrived = threading.Event()
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for job in call:
                pushed.append(job)
                arrived.set()
        except BaseException as exc:
            errors.append(exc)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        # The broker registers a stream asynchronously and pushes only jobs created after that, so
        # start instances until one is pushed.
        started = []
        for attempt in range(20):
            started.append(zeebe_client.create_process_instance(process_id, variables={"attempt": attempt}))
            if arrived.wait(timeout=0.5):
                break
        assert pushed, "no job was pushed over the stream"
        job = pushed[0]
        assert job.type == job_type
        assert job.worker == "streamer"
        assert job.process_instance_key in {i.process_instance_key for i in started}
        zeebe_client.complete_job(job.key, {"streamed": True})
        with pytest.raises(NotFoundError):  # completing the job finished its instance
            zeebe_client.cancel_process_instance(job.process_instance_key)
    finally:
        call.cancel()
        consumer.join(timeout=10)

    assert not consumer.is_alive()
    assert errors == []


# -- messages, signals, decisions --------------------------------------------------------------------


def test_published_message_correlates_to_the_waiting_instance(zeebe_client: ZeebeClient, unique, jobs) -> None:
    zeebe_client.deploy_resource(
        unique.resource("message_catch.bpmn", "message-catch", "payment-received", "ship-work")
    )
    waiting = zeebe_client.create_process_instance(unique("message-catch"), variables={"orderId": "o-7"})
    other = zeebe_client.create_process_instance(unique("message-catch"), variables={"orderId": "o-8"})

    message = zeebe_client.publish_message(
        unique("payment-received"), correlation_key="o-7", variables={"paid": 99.5}, time_to_live=30
    )

    assert message.key > 0
    ship = jobs.activate_one(unique("ship-work"))
    assert ship.process_instance_key == waiting.process_instance_key
    assert ship.variables == {"orderId": "o-7", "paid": 99.5}
    jobs.assert_none(unique("ship-work"))
    zeebe_client.cancel_process_instance(other.process_instance_key)


def test_publishing_a_message_id_twice_while_it_lives_raises_already_exists(zeebe_client: ZeebeClient, unique) -> None:
    name, message_id = unique("nobody-listens"), unique("message")
    zeebe_client.publish_message(name, correlation_key="k", message_id=message_id, time_to_live=60)

    with pytest.raises(AlreadyExistsError, match=message_id):
        zeebe_client.publish_message(name, correlation_key="k", message_id=message_id, time_to_live=60)
    # Another id is a new message.
    zeebe_client.publish_message(name, correlation_key="k", message_id=unique("other"), time_to_live=60)


def test_broadcast_signal_reaches_the_waiting_signal_catch_event(zeebe_client: ZeebeClient, unique, jobs) -> None:
    zeebe_client.deploy_resource(unique.resource("signal_catch.bpmn", "signal-catch", "go-now", "proceed-work"))
    instances = [zeebe_client.create_process_instance(unique("signal-catch")) for _ in range(2)]
    jobs.assert_none(unique("proceed-work"))

    signal = zeebe_client.broadcast_signal(unique("go-now"), variables={"go": "yes"})

    assert signal.key > 0
    proceeded = jobs.activate(unique("proceed-work"), count=2)
    assert {j.process_instance_key for j in proceeded} == {i.process_instance_key for i in instances}
    assert all(j.variables == {"go": "yes"} for j in proceeded)


def test_evaluate_decision_by_id_and_by_key(zeebe_client: ZeebeClient, unique) -> None:
    deployment = zeebe_client.deploy_resource(unique.resource("discount.dmn", "discount", "discount-rules"))
    [decision] = deployment.decisions

    gold = zeebe_client.evaluate_decision(unique("discount"), variables={"tier": "gold"})
    other = zeebe_client.evaluate_decision(decision_key=decision.decision_key, variables={"tier": "bronze"})

    assert gold.decision_key == other.decision_key == decision.decision_key
    assert gold.decision_id == unique("discount")
    assert gold.decision_version == 1
    assert gold.decision_requirements_key == decision.decision_requirements_key
    assert gold.failure_message == ""
    assert (gold.output, other.output) == (20, 0)
    [evaluated] = gold.evaluated_decisions
    assert evaluated.decision_type == "DECISION_TABLE"
    assert list(evaluated.inputs.values()) == ["gold"]
    [rule] = evaluated.matched_rules
    assert (rule.rule_id, rule.rule_index) == ("gold-rule", 1)
    assert list(rule.outputs.values()) == [20]
    [fallback] = other.evaluated_decisions[0].matched_rules
    assert (fallback.rule_id, fallback.rule_index) == ("default-rule", 3)
    assert gold.decision_instance_key != other.decision_instance_key


def test_evaluating_an_unknown_decision_raises_a_terminal_error(zeebe_client: ZeebeClient, unique) -> None:
    with pytest.raises(InvalidArgumentError, match="no decision found"):
        zeebe_client.evaluate_decision(unique("no-such-decision"))


# -- errors ------------------------------------------------------------------------------------------


def test_terminal_error_is_raised_at_once_without_retrying(zeebe_address: str) -> None:
    sleeps: list[float] = []
    client = ZeebeClient(ZeebeSettings(address=zeebe_address), retry=RetryPolicy(sleep=sleeps.append))

    with client:
        client.topology()  # connect first, so only the failing call is timed
        started = time.monotonic()
        with pytest.raises(NotFoundError):
            client.complete_job(UNKNOWN_KEY)
        elapsed = time.monotonic() - started

    assert sleeps == []
    assert elapsed < 1.0


def test_unreachable_gateway_is_retried_then_raised_as_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    retry = RetryPolicy(budget=1.0, sleep=sleep)

    client = ZeebeClient(ZeebeSettings(address=f"127.0.0.1:{closed_port}"), retry=retry)

    with client, pytest.raises(GatewayUnavailableError):
        client.topology(timeout=1.0)

    assert sleeps, "a transient error must be retried"
