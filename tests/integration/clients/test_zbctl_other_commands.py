"""zbctl's other commands: fail a job, update its retries, throw an error, set variables, cancel an instance,
broadcast a signal, and deploy and evaluate a decision, each proven by what the project's client then sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.clients.conftest import Zbctl, deploy_one_task
from tests.integration.conftest import Jobs, UniqueNames
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration


def test_zbctl_fail_job_with_retries_left_makes_the_job_activatable_again_with_those_retries(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)

    failed = zbctl.ok("fail", "job", str(job.key), "--retries", "2", "--errorMessage", "card declined")

    assert f"Failed job with key '{job.key}' and set remaining retries to '2'" in failed
    again = jobs.activate_one(job_type)
    assert (again.key, again.retries) == (job.key, 2)


def test_zbctl_update_retries_sets_the_retries_that_the_job_has_when_it_is_activated_again(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type, timeout=1.0)

    updated = zbctl.ok("update", "retries", str(job.key), "--retries", "5")

    assert f"Updated the retries of job with key '{job.key}' to '5'" in updated
    # The one-second activation runs out, and the job comes back with the new retries.
    again = jobs.activate_one(job_type)
    assert (again.key, again.retries) == (job.key, 5)


def test_zbctl_throw_error_is_caught_by_the_boundary_event_of_its_code_with_the_errors_variables(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    zeebe_client.deploy_resource(
        unique.resource("error_boundary.bpmn", "error-boundary", "reserve-work", "backorder-work")
    )
    instance = zeebe_client.create_process_instance(unique("error-boundary"))
    job = jobs.activate_one(unique("reserve-work"))

    thrown = zbctl.ok(
        "throwError", "job", str(job.key), "--errorCode", "NO_STOCK", "--errorMessage", "none in the warehouse",
        "--variables", '{"reason": "none left"}',
    )  # fmt: skip

    assert f"Threw error with code 'NO_STOCK' on job with key {job.key}" in thrown
    backorder = jobs.activate_one(unique("backorder-work"))
    assert backorder.process_instance_key == instance.process_instance_key
    assert backorder.variables == {"reason": "none left"}


def test_zbctl_set_variables_on_an_instance_reaches_the_job_activated_after_it(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(process_id, variables={"orderId": "o-3"})

    done = zbctl.ok("set", "variables", str(instance.process_instance_key), "--variables", '{"priority": "high"}')

    assert f"Set the variables of element instance with key '{instance.process_instance_key}'" in done
    job = jobs.activate_one(job_type)
    assert job.variables == {"orderId": "o-3", "priority": "high"}


def test_zbctl_cancel_instance_ends_it_so_that_completing_its_job_fails_with_not_found(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    instance = zeebe_client.create_process_instance(process_id)
    job = jobs.activate_one(job_type)

    canceled = zbctl.ok("cancel", "instance", str(instance.process_instance_key))

    assert f"Canceled process instance with key '{instance.process_instance_key}'" in canceled
    late = zbctl.run("complete", "job", str(job.key))
    assert late.returncode != 0
    assert "code = NotFound" in late.stderr, late.stderr


def test_zbctl_broadcast_signal_reaches_every_waiting_signal_catch_event(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    zeebe_client.deploy_resource(unique.resource("signal_catch.bpmn", "signal-catch", "go-now", "proceed-work"))
    instances = [zeebe_client.create_process_instance(unique("signal-catch")) for _ in range(2)]
    # A signal is not buffered: wait until both instances sit at the catch event, not past it.
    jobs.assert_none(unique("proceed-work"))

    signal = zbctl.json("broadcast", "signal", unique("go-now"), "--variables", '{"go": "yes"}')

    assert int(signal["key"]) > 0
    assert signal["tenantId"] == "<default>"
    proceeded = jobs.activate(unique("proceed-work"), count=2)
    assert {j.process_instance_key for j in proceeded} == {i.process_instance_key for i in instances}
    assert all(j.variables == {"go": "yes"} for j in proceeded)


def test_zbctl_deploys_a_dmn_file_and_evaluate_decision_answers_the_first_matching_rule(
    zbctl: Zbctl, unique: UniqueNames, tmp_path: Path
) -> None:
    dmn = tmp_path / "discount.dmn"
    dmn.write_text(unique.text("discount.dmn", "discount", "discount-rules"), encoding="utf-8")

    deployment = zbctl.json("deploy", "resource", str(dmn))
    evaluated = zbctl.json("evaluate", "decision", unique("discount"), "--variables", '{"tier": "gold"}')

    [decision] = [entry["decision"] for entry in deployment["deployments"] if "decision" in entry]
    [drg] = [entry["decisionRequirements"] for entry in deployment["deployments"] if "decisionRequirements" in entry]
    assert (decision["dmnDecisionId"], decision["version"]) == (unique("discount"), 1)
    assert drg["dmnDecisionRequirementsId"] == decision["dmnDecisionRequirementsId"] == unique("discount-rules")
    assert drg["resourceName"] == str(dmn)
    assert evaluated["decisionKey"] == decision["decisionKey"]
    assert evaluated["failureMessage"] == ""
    assert json.loads(evaluated["decisionOutput"]) == 20
    [table] = evaluated["evaluatedDecisions"]
    assert table["decisionType"] == "DECISION_TABLE"
    [rule] = table["matchedRules"]
    assert (rule["ruleId"], rule["ruleIndex"]) == ("gold-rule", 1)
    [output] = rule["evaluatedOutputs"]
    assert (output["outputName"], json.loads(output["outputValue"])) == ("discountPercent", 20)
