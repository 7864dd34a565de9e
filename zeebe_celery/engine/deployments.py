"""Deployments: BPMN and DMN resources deployed atomically, with versions and duplicate detection, deleted,
and the decisions they hold found and evaluated."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine import dmn
from zeebe_celery.engine.bpmn import BpmnError, parse_bpmn
from zeebe_celery.engine.core import DeployedDecision, DeployedDrg, RuntimeBase
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.state import DEFAULT_TENANT, Definition

__all__ = ["Deployment", "Deployments"]


@dataclass
class Deployment:
    key: int
    processes: list[Definition]
    drgs: list[DeployedDrg]
    decisions: list[DeployedDecision]
    tenant_id: str


class Deployments(RuntimeBase):
    # -- deployment ----------------------------------------------------------------------------------

    def deploy(self, resources: Sequence[tuple[str, bytes]], *, tenant_id: str = "") -> Deployment:
        tenant = tenant_id or DEFAULT_TENANT
        if not resources:
            raise InvalidArgument("Expected to deploy at least one resource, but none given")
        parsed_processes = []
        parsed_drgs = []
        problems = []
        for name, content in resources:
            try:
                if name.endswith((".bpmn", ".xml")):
                    parsed_processes.append((name, content, parse_bpmn(content, resource_name=name)))
                elif name.endswith(".dmn"):
                    parsed_drgs.append((name, content, dmn.parse_dmn(content, resource_name=name)))
                else:
                    problems.append(f"'{name}': Expected the resource to be a BPMN (.bpmn) or DMN (.dmn) file")
            except (BpmnError, dmn.DmnError) as exc:
                message = str(exc)
                problems.append(message if message.startswith(f"'{name}'") else f"'{name}': {message}")
        if problems:
            raise InvalidArgument(
                "Expected to deploy new resources, but encountered the following errors:\n" + "\n".join(problems)
            )
        deployment = Deployment(self.keys.next(), [], [], [], tenant)
        for name, content, processes in parsed_processes:
            checksum = hashlib.sha256(content).hexdigest()
            for process in processes:
                live = self.live_versions(tenant, process.id)
                if live and live[-1].checksum == checksum and live[-1].resource_name == name:
                    deployment.processes.append(live[-1])
                    continue
                definition = Definition(
                    key=self.keys.next(),
                    bpmn_process_id=process.id,
                    version=self.next_version("process", tenant, process.id),
                    resource_name=name,
                    checksum=checksum,
                    tenant_id=tenant,
                    process=process,
                    resource=content,
                    deployment_key=deployment.key,
                )
                self.add_definition(definition)
                deployment.processes.append(definition)
                self._deployed_record(
                    "PROCESS",
                    definition.key,
                    {
                        "bpmnProcessId": process.id,
                        "version": definition.version,
                        "resourceName": name,
                        "tenantId": tenant,
                    },
                )
        for name, content, drg in parsed_drgs:
            self._deploy_drg(deployment, name, content, drg)
        self._deployed_record("DEPLOYMENT", deployment.key, {"tenantId": tenant})
        self.dirty_definitions = True
        self.commit()
        return deployment

    def add_definition(self, definition: Definition) -> None:
        """Register a version; the message start events of the newest version are the ones that listen."""
        self.definitions[definition.key] = definition
        self._seen_version("process", definition.tenant_id, definition.bpmn_process_id, definition.version)
        versions = self.latest.setdefault((definition.tenant_id, definition.bpmn_process_id), [])
        if definition not in versions:
            versions.append(definition)
        self._index_message_starts(definition.tenant_id)

    def _index_message_starts(self, tenant: str) -> None:
        starts: dict[tuple[str, str], list[Element]] = {}
        for owner, process_id in list(self.latest):
            live = self.live_versions(owner, process_id) if owner == tenant else []
            if not live:
                continue
            for start in live[-1].process.message_starts:
                assert start.message is not None
                starts.setdefault((tenant, start.message.name.source), []).append(start)
        self.message_starts = {k: v for k, v in self.message_starts.items() if k[0] != tenant} | starts

    def _deploy_drg(self, deployment: Deployment, name: str, content: bytes, drg: dmn.DecisionRequirements) -> None:
        tenant = deployment.tenant_id
        checksum = hashlib.sha256(content).hexdigest()
        previous = [d for d in self.drgs.values() if d.drg.id == drg.id and d.tenant_id == tenant]
        if previous and previous[-1].checksum == checksum:
            deployed = previous[-1]
            deployment.drgs.append(deployed)
            deployment.decisions += [d for d in self.decisions.values() if d.drg is deployed]
            return
        deployed = DeployedDrg(
            key=self.keys.next(),
            drg=drg,
            version=self.next_version("drg", tenant, drg.id),
            resource_name=name,
            checksum=checksum,
            resource=content,
            tenant_id=tenant,
        )
        self.add_drg(deployed)
        deployment.drgs.append(deployed)
        for decision in drg.decisions:
            entry = DeployedDecision(
                key=self.keys.next(),
                decision_id=decision.id,
                name=decision.name,
                version=self.next_version("decision", tenant, decision.id),
                drg=deployed,
                tenant_id=tenant,
            )
            self.add_decision(entry)
            deployment.decisions.append(entry)

    def add_drg(self, deployed: DeployedDrg) -> None:
        self.drgs[deployed.key] = deployed
        self._seen_version("drg", deployed.tenant_id, deployed.drg.id, deployed.version)

    def add_decision(self, entry: DeployedDecision) -> None:
        self.decisions[entry.key] = entry
        self._seen_version("decision", entry.tenant_id, entry.decision_id, entry.version)
        self.latest_decisions.setdefault((entry.tenant_id, entry.decision_id), []).append(entry)

    def _seen_version(self, kind: str, tenant: str, resource_id: str, version: int) -> None:
        name = f"{kind}|{tenant}|{resource_id}"
        self.max_versions[name] = max(self.max_versions.get(name, 0), version)

    def _deployed_record(self, value_type: str, key: int, value: dict[str, Any]) -> None:
        if self.records.enabled:
            self.records.append(value_type, "CREATED", key, value)

    def delete_resource(self, key: int) -> None:
        definition = self.definitions.get(key)
        if definition is not None:
            if definition.running:
                raise FailedPrecondition(
                    f"Expected to delete resource with key `{key}` but there are still running instances"
                )
            del self.definitions[key]
            self._index_message_starts(definition.tenant_id)
        elif key in self.drgs:
            deployed = self.drgs.pop(key)
            for entry in [d for d in self.decisions.values() if d.drg is deployed]:
                del self.decisions[entry.key]
                self.latest_decisions[(entry.tenant_id, entry.decision_id)].remove(entry)
        else:
            raise NotFound(f"Expected to delete resource but no resource found with key `{key}`")
        self._deployed_record("RESOURCE_DELETION", key, {"resourceKey": key})
        self.dirty_definitions = True
        self.commit()

    # -- decisions -----------------------------------------------------------------------------------

    def find_decision(self, *, key: int = 0, decision_id: str = "", tenant_id: str = "") -> DeployedDecision:
        tenant = tenant_id or DEFAULT_TENANT
        if key > 0:
            entry = self.decisions.get(key)
            if entry is None:
                raise InvalidArgument(
                    f"Expected to evaluate decision with key '{key}', but no decision found for key '{key}'"
                )
            return entry
        versions = self.latest_decisions.get((tenant, decision_id))
        if not versions:
            raise InvalidArgument(
                f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
            )
        return versions[-1]

    def evaluate_called_decision(self, decision_id: str, tenant_id: str, variables: Any) -> Any:
        versions = self.latest_decisions.get((tenant_id, decision_id))
        if not versions:
            raise LookupError(
                f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
            )
        entry = versions[-1]
        return dmn.evaluate_decision(entry.drg.drg, entry.decision_id, variables).output
