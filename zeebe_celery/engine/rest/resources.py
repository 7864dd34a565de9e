"""Topology, deployments (multipart) and decision evaluation."""

from __future__ import annotations

import json
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.problems import Problem, invalid
from zeebe_celery.engine.runtime import DecisionEvaluation, Deployment
from zeebe_celery.engine.server import PROTOCOL_VERSION
from zeebe_celery.engine.state import DEFAULT_TENANT

__all__ = ["ROUTES"]


def topology(call: Call) -> Answer:
    served = call.served
    partition = {"partitionId": 1, "role": "leader", "health": "healthy"}
    broker = {
        "nodeId": 0,
        "host": served.host,
        "port": served.grpc_port(),
        "partitions": [partition],
        "version": PROTOCOL_VERSION,
    }
    return 200, {
        "brokers": [broker],
        "clusterId": served.cluster_id,
        "clusterSize": 1,
        "partitionsCount": 1,
        "replicationFactor": 1,
        "gatewayVersion": PROTOCOL_VERSION,
        "lastCompletedChangeId": "-1",
    }


def _form_parts(call: Call) -> list[Message]:
    if not call.content_type.startswith("multipart/form-data"):
        raise Problem(
            415, "Unsupported Media Type", f"Content-Type '{call.content_type}' is not supported; use multipart"
        )
    head = f"Content-Type: {call.content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + call.raw)
    if not message.is_multipart():
        raise Problem(400, "Bad Request", "Failed to read the multipart request")
    return [part for part in message.iter_parts() if isinstance(part, Message)]


def deploy(call: Call) -> Answer:
    resources: list[tuple[str, bytes]] = []
    tenant_id = DEFAULT_TENANT
    for part in _form_parts(call):
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if name == "resources":
            resources.append((str(part.get_filename() or "resource"), content))
        elif name == "tenantId":
            tenant_id = content.decode() or DEFAULT_TENANT
    if not resources:
        raise invalid("No resources provided.")
    deployment = call.run(lambda runtime: runtime.deploy(resources, tenant_id=tenant_id))
    return 200, _deployment(deployment)


def _deployment(deployment: Deployment) -> dict[str, Any]:
    empty = {
        "processDefinition": None,
        "decisionDefinition": None,
        "decisionRequirements": None,
        "form": None,
        "resource": None,
    }
    items: list[dict[str, Any]] = []
    for d in deployment.processes:
        process = {
            "processDefinitionId": d.bpmn_process_id,
            "processDefinitionVersion": d.version,
            "resourceName": d.resource_name,
            "tenantId": d.tenant_id,
            "processDefinitionKey": str(d.key),
        }
        items.append(empty | {"processDefinition": process})
    for r in deployment.drgs:
        drg = {
            "decisionRequirementsId": r.drg.id,
            "decisionRequirementsName": r.drg.name,
            "version": r.version,
            "resourceName": r.resource_name,
            "tenantId": r.tenant_id,
            "decisionRequirementsKey": str(r.key),
        }
        items.append(empty | {"decisionRequirements": drg})
    for c in deployment.decisions:
        decision = {
            "decisionDefinitionId": c.decision_id,
            "version": c.version,
            "name": c.name,
            "tenantId": c.tenant_id,
            "decisionRequirementsId": c.drg.drg.id,
            "decisionDefinitionKey": str(c.key),
            "decisionRequirementsKey": str(c.drg_key),
        }
        items.append(empty | {"decisionDefinition": decision})
    return {"deploymentKey": str(deployment.key), "tenantId": deployment.tenant_id, "deployments": items}


def evaluate_decision(call: Call) -> Answer:
    body = call.body()
    if body.has("decisionDefinitionKey") == body.has("decisionDefinitionId"):
        raise invalid("Expected either a decisionDefinitionKey or a decisionDefinitionId, but not both.")
    key, decision_id = body.key("decisionDefinitionKey"), body.text("decisionDefinitionId")
    tenant_id, variables = body.text("tenantId"), body.variables()
    evaluation = call.run(
        lambda runtime: runtime.evaluate_decision(
            key=key, decision_id=decision_id, tenant_id=tenant_id, variables=variables
        )
    )
    return 200, _evaluated(evaluation)


def _dump(value: Any) -> str:
    return json.dumps(feel.to_json(value))


def _evaluated(evaluation: DecisionEvaluation) -> dict[str, Any]:
    decision, result = evaluation.decision, evaluation.result
    evaluated: list[dict[str, Any]] = []
    for index, e in enumerate(result.evaluated if result is not None else [], start=1):
        known = evaluation.versions.get(e.decision_id, decision)
        evaluated.append(
            {
                "decisionDefinitionId": e.decision_id,
                "decisionDefinitionName": e.decision_name,
                "decisionDefinitionVersion": known.version,
                "decisionDefinitionType": e.decision_type,
                "output": _dump(e.output),
                "tenantId": decision.tenant_id,
                "decisionDefinitionKey": str(known.key),
                "decisionEvaluationInstanceKey": f"{evaluation.key}-{index}",
                "evaluatedInputs": [
                    {"inputId": i.input_id, "inputName": i.input_name, "inputValue": _dump(i.value)} for i in e.inputs
                ],
                "matchedRules": [
                    {
                        "ruleId": r.rule_id,
                        "ruleIndex": r.rule_index,
                        "evaluatedOutputs": [
                            {
                                "outputId": o.output_id,
                                "outputName": o.output_name,
                                "outputValue": _dump(o.value),
                                "ruleId": r.rule_id,
                                "ruleIndex": r.rule_index,
                            }
                            for o in r.outputs
                        ],
                    }
                    for r in e.matched_rules
                ],
            }
        )
    failure = evaluation.failure
    return {
        "decisionDefinitionId": decision.decision_id,
        "decisionDefinitionKey": str(decision.key),
        "decisionDefinitionName": decision.name,
        "decisionDefinitionVersion": decision.version,
        "decisionEvaluationKey": str(evaluation.key),
        "decisionInstanceKey": str(evaluation.key),
        "decisionRequirementsId": decision.drg.drg.id,
        "decisionRequirementsKey": str(decision.drg_key),
        "evaluatedDecisions": evaluated,
        "failedDecisionDefinitionId": failure.decision_id if failure is not None else None,
        "failureMessage": str(failure) if failure is not None else None,
        "output": _dump(result.output) if result is not None else "null",
        "tenantId": decision.tenant_id,
    }


ROUTES = [
    Route.of("GET", "/topology", topology),
    Route.of("POST", "/deployments", deploy, "DeployResource"),
    Route.of("POST", "/decision-definitions/evaluation", evaluate_decision, "EvaluateDecision"),
]
