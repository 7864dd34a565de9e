"""Deployments: BPMN and DMN resources deployed atomically, with versions and duplicate detection, deleted,
and the decisions they hold found and evaluated."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine import dmn
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.bpmn import BpmnError, parse_bpmn
from zeebe_celery.engine.core import DeployedDecision, DeployedDrg
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.forms import DeployedForm, FormError, form_id
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.state import DEFAULT_TENANT, Definition, ElementInstance

__all__ = ["Deployment", "Deployments"]


@dataclass
class Deployment:
    key: int
    processes: list[Definition]
    drgs: list[DeployedDrg]
    decisions: list[DeployedDecision]
    tenant_id: str
    forms: list[DeployedForm] = field(default_factory=list)


class Deployments:
    """Deployed resources over the state: what is deployed, deleted, found and evaluated."""

    def __init__(self, state: Appliers) -> None:
        self.state = state

    # -- deployment ----------------------------------------------------------------------------------

    def deploy(self, resources: Sequence[tuple[str, bytes]], *, tenant_id: str = "") -> Deployment:
        tenant = tenant_id or DEFAULT_TENANT
        if not resources:
            raise InvalidArgument("Expected to deploy at least one resource, but none given")
        parsed_processes = []
        parsed_drgs = []
        parsed_forms: list[tuple[str, bytes, str]] = []
        problems = []
        for name, content in resources:
            try:
                if name.endswith((".bpmn", ".xml")):
                    parsed_processes.append((name, content, parse_bpmn(content, resource_name=name)))
                elif name.endswith(".dmn"):
                    parsed_drgs.append((name, content, dmn.parse_dmn(content, resource_name=name)))
                elif name.endswith(".form"):
                    parsed_forms.append((name, content, _unique_form(parsed_forms, name, form_id(content, name))))
                else:
                    problems.append(
                        f"'{name}': Expected the resource to be a BPMN (.bpmn), DMN (.dmn) or form (.form) file"
                    )
            except (BpmnError, dmn.DmnError, FormError) as exc:
                message = str(exc)
                problems.append(message if message.startswith(f"'{name}'") else f"'{name}': {message}")
        if problems:
            raise InvalidArgument(
                "Expected to deploy new resources, but encountered the following errors:\n" + "\n".join(problems)
            )
        deployment = Deployment(self.state.keys.next(), [], [], [], tenant)
        for name, content, processes in parsed_processes:
            checksum = hashlib.sha256(content).hexdigest()
            for process in processes:
                live = self.state.live_versions(tenant, process.id)
                if live and live[-1].checksum == checksum and live[-1].resource_name == name:
                    deployment.processes.append(live[-1])
                    continue
                definition = Definition(
                    key=self.state.keys.next(),
                    bpmn_process_id=process.id,
                    version=self.state.next_version("process", tenant, process.id),
                    resource_name=name,
                    checksum=checksum,
                    tenant_id=tenant,
                    process=process,
                    resource=content,
                    deployment_key=deployment.key,
                )
                self.add_definition(definition)
                deployment.processes.append(definition)
        for name, content, drg in parsed_drgs:
            self._deploy_drg(deployment, name, content, drg)
        for name, content, identifier in parsed_forms:
            self._deploy_form(deployment, name, content, identifier)
        self.state.deployed_record("DEPLOYMENT", deployment.key, {"tenantId": tenant})
        return deployment

    def add_definition(self, definition: Definition, *, record: bool = True) -> None:
        """Register a version; the message start events of the newest version are the ones that listen."""
        self.state.process_created(definition, record=record)
        self._index_message_starts(definition.tenant_id)

    def _index_message_starts(self, tenant: str) -> None:
        starts: dict[tuple[str, str], list[Element]] = {}
        for owner, process_id in list(self.state.latest):
            live = self.state.live_versions(owner, process_id) if owner == tenant else []
            if not live:
                continue
            for start in live[-1].process.message_starts:
                assert start.message is not None
                starts.setdefault((tenant, start.message.name.source), []).append(start)
        self.state.message_starts_indexed(
            {k: v for k, v in self.state.message_starts.items() if k[0] != tenant} | starts
        )

    def _deploy_drg(self, deployment: Deployment, name: str, content: bytes, drg: dmn.DecisionRequirements) -> None:
        tenant = deployment.tenant_id
        checksum = hashlib.sha256(content).hexdigest()
        previous = [d for d in self.state.drgs.values() if d.drg.id == drg.id and d.tenant_id == tenant]
        if previous and previous[-1].checksum == checksum:
            deployed = previous[-1]
            deployment.drgs.append(deployed)
            deployment.decisions += [d for d in self.state.decisions.values() if d.drg is deployed]
            return
        deployed = DeployedDrg(
            key=self.state.keys.next(),
            drg=drg,
            version=self.state.next_version("drg", tenant, drg.id),
            resource_name=name,
            checksum=checksum,
            resource=content,
            tenant_id=tenant,
        )
        self.state.drg_created(deployed)
        deployment.drgs.append(deployed)
        for decision in drg.decisions:
            entry = DeployedDecision(
                key=self.state.keys.next(),
                decision_id=decision.id,
                name=decision.name,
                version=self.state.next_version("decision", tenant, decision.id),
                drg=deployed,
                tenant_id=tenant,
            )
            self.state.decision_created(entry)
            deployment.decisions.append(entry)

    def _deploy_form(self, deployment: Deployment, name: str, content: bytes, identifier: str) -> None:
        """A new version of the form, unless the latest has the same content and resource name."""
        tenant = deployment.tenant_id
        checksum = hashlib.sha256(content).hexdigest()
        versions = self.state.latest_forms.get((tenant, identifier))
        if versions and versions[-1].checksum == checksum and versions[-1].resource_name == name:
            deployment.forms.append(versions[-1])
            return
        form = DeployedForm(
            key=self.state.keys.next(),
            form_id=identifier,
            version=self.state.next_version("form", tenant, identifier),
            resource_name=name,
            checksum=checksum,
            tenant_id=tenant,
            resource=content,
            deployment_key=deployment.key,
        )
        self.state.form_created(form)
        deployment.forms.append(form)

    def form_key(self, identifier: str, tenant_id: str) -> int:
        """The key of the latest version of the form; LookupError (with Zeebe's incident message) if none."""
        versions = self.state.latest_forms.get((tenant_id, identifier))
        if not versions:
            raise LookupError(
                f"Expected to find a form with id '{identifier}', but no form with this id is found, at least a "
                "form with this id should be available. To resolve the Incident please deploy a form with the "
                "same id"
            )
        return versions[-1].key

    def delete_resource(self, key: int) -> None:
        definition = self.state.definitions.get(key)
        if definition is not None:
            if definition.running:
                raise FailedPrecondition(
                    f"Expected to delete resource with key `{key}` but there are still running instances"
                )
            self.state.process_deleted(definition)
            self._index_message_starts(definition.tenant_id)
        elif key in self.state.drgs:
            self.state.drg_deleted(self.state.drgs[key])
        elif key in self.state.forms:
            self.state.form_deleted(self.state.forms[key])
        else:
            raise NotFound(f"Expected to delete resource but no resource found with key `{key}`")
        self.state.deployed_record("RESOURCE_DELETION", key, {"resourceKey": key})

    def find_definition(
        self, *, key: int = 0, process_id: str = "", version: int = -1, tenant_id: str = ""
    ) -> Definition:
        tenant = tenant_id or DEFAULT_TENANT
        if key > 0:
            definition = self.state.definitions.get(key)
            if definition is None or (tenant_id and definition.tenant_id != tenant):
                raise NotFound(f"Expected to find process definition with key '{key}', but none found")
            return definition
        live = self.state.live_versions(tenant, process_id)
        if version > 0:
            live = [v for v in live if v.version == version]
            if not live:
                raise NotFound(
                    f"Expected to find process definition with process ID '{process_id}' and version '{version}', "
                    "but none found"
                )
        if not live:
            raise NotFound(f"Expected to find process definition with process ID '{process_id}', but none found")
        return live[-1]

    def latest_definition(self, tenant_id: str, start: Element) -> Definition | None:
        root = start
        while root.parent is not None:
            root = root.parent
        live = self.state.live_versions(tenant_id, root.id)
        return live[-1] if live and live[-1].process.root is root else None

    def signal_starts(self, tenant_id: str, name: str) -> list[tuple[Definition, Element]]:
        """The signal start events named ``name`` of the latest version of each process, by process id."""
        found = []
        for owner, process_id in sorted(self.state.latest):
            live = self.state.live_versions(owner, process_id) if owner == tenant_id else []
            if live:
                for start in live[-1].process.signal_starts:
                    assert start.signal is not None
                    if start.signal.source == name:
                        found.append((live[-1], start))
        return found

    def called_process(self, process_id: str, caller: ElementInstance) -> Definition:
        """The process a call activity starts, by its binding; LookupError says why there is none."""
        called = caller.element.called
        assert called is not None
        tenant = caller.tenant_id
        live = self.state.live_versions(tenant, process_id)
        if called.binding == "deployment":
            deployment = caller.definition.deployment_key
            live = [v for v in live if v.deployment_key == deployment]
            if not live:
                raise LookupError(
                    f"Expected to call process with BPMN process id '{process_id}' from the same deployment as "
                    f"the calling process, but no such process found in the deployment with key '{deployment}'."
                )
        elif called.binding == "versionTag":
            live = [v for v in live if v.process.version_tag == called.version_tag]
            if not live:
                raise LookupError(
                    f"Expected to call process with BPMN process id '{process_id}' and version tag "
                    f"'{called.version_tag}', but no such process found."
                )
        if not live:
            raise LookupError(f"Expected process with BPMN process id '{process_id}' to be deployed, but not found.")
        return live[-1]

    # -- decisions -----------------------------------------------------------------------------------

    def find_decision(self, *, key: int = 0, decision_id: str = "", tenant_id: str = "") -> DeployedDecision:
        tenant = tenant_id or DEFAULT_TENANT
        if key > 0:
            entry = self.state.decisions.get(key)
            if entry is None:
                raise InvalidArgument(
                    f"Expected to evaluate decision with key '{key}', but no decision found for key '{key}'"
                )
            return entry
        versions = self.state.latest_decisions.get((tenant, decision_id))
        if not versions:
            raise InvalidArgument(
                f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
            )
        return versions[-1]

    def evaluate_called_decision(self, decision_id: str, tenant_id: str, variables: Any) -> Any:
        versions = self.state.latest_decisions.get((tenant_id, decision_id))
        if not versions:
            raise LookupError(
                f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
            )
        entry = versions[-1]
        return dmn.evaluate_decision(entry.drg.drg, entry.decision_id, variables).output


def _unique_form(parsed: list[tuple[str, bytes, str]], name: str, identifier: str) -> str:
    """Raises FormError when another form of the deployment has the same id, as Zeebe refuses it."""
    for other, _, seen in parsed:
        if seen == identifier:
            raise FormError(
                f"Expected the form ids to be unique within a deployment but found a duplicated id '{identifier}' "
                f"in the resources '{other}' and '{name}'."
            )
    return identifier
