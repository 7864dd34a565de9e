"""Appliers of deployed resource records: processes, decision requirements and decisions."""

from __future__ import annotations

from typing import Any, TypeVar

from zeebe_celery.engine.core import DeployedDecision, DeployedDrg, RuntimeBase
from zeebe_celery.engine.forms import DeployedForm
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.state import (
    Definition,
)

__all__ = ["ResourceAppliers"]

V = TypeVar("V")


class ResourceAppliers(RuntimeBase):
    # -- deployed resources ----------------------------------------------------------------------------

    def process_created(self, definition: Definition, *, record: bool = True) -> None:
        """A version of a process (``record``: False when the store loads it again)."""
        tx = self.tx
        tx.put(self.definitions, definition.key, definition)
        self.version_seen("process", definition.tenant_id, definition.bpmn_process_id, definition.version)
        versions = self.versions_in(self.latest, (definition.tenant_id, definition.bpmn_process_id))
        if definition not in versions:
            tx.append(versions, definition)
        tx.definitions = True
        if record and self.records.enabled:
            self.write(
                "PROCESS",
                "CREATED",
                definition.key,
                {
                    "bpmnProcessId": definition.bpmn_process_id,
                    "version": definition.version,
                    "resourceName": definition.resource_name,
                    "tenantId": definition.tenant_id,
                },
            )

    def drg_created(self, deployed: DeployedDrg) -> None:
        tx = self.tx
        tx.put(self.drgs, deployed.key, deployed)
        self.version_seen("drg", deployed.tenant_id, deployed.drg.id, deployed.version)
        tx.definitions = True

    def decision_created(self, entry: DeployedDecision) -> None:
        tx = self.tx
        tx.put(self.decisions, entry.key, entry)
        self.version_seen("decision", entry.tenant_id, entry.decision_id, entry.version)
        tx.append(self.versions_in(self.latest_decisions, (entry.tenant_id, entry.decision_id)), entry)
        tx.definitions = True

    def form_created(self, form: DeployedForm) -> None:
        tx = self.tx
        tx.put(self.forms, form.key, form)
        self.version_seen("form", form.tenant_id, form.form_id, form.version)
        tx.append(self.versions_in(self.latest_forms, (form.tenant_id, form.form_id)), form)
        tx.definitions = True
        if self.records.enabled:
            self.write(
                "FORM",
                "CREATED",
                form.key,
                {
                    "formId": form.form_id,
                    "version": form.version,
                    "formKey": form.key,
                    "resourceName": form.resource_name,
                    "deploymentKey": form.deployment_key,
                    "tenantId": form.tenant_id,
                },
            )

    def form_deleted(self, form: DeployedForm) -> None:
        tx = self.tx
        tx.pop(self.forms, form.key)
        tx.remove(self.latest_forms[(form.tenant_id, form.form_id)], form)
        tx.definitions = True

    def process_deleted(self, definition: Definition) -> None:
        tx = self.tx
        tx.pop(self.definitions, definition.key)
        tx.definitions = True

    def drg_deleted(self, deployed: DeployedDrg) -> None:
        tx = self.tx
        tx.pop(self.drgs, deployed.key)
        for entry in [d for d in self.decisions.values() if d.drg is deployed]:
            tx.pop(self.decisions, entry.key)
            tx.remove(self.latest_decisions[(entry.tenant_id, entry.decision_id)], entry)
        tx.definitions = True

    def message_starts_indexed(self, starts: dict[tuple[str, str], list[Element]]) -> None:
        self.tx.set(self, "message_starts", starts)

    def versions_in(self, latest: dict[tuple[str, str], list[V]], group: tuple[str, str]) -> list[V]:
        """The versions ``latest`` holds of a (tenant, resource id) ``group``: a new list for a new group."""
        versions = latest.get(group)
        if versions is None:
            versions = []
            self.tx.put(latest, group, versions)
        return versions

    def version_seen(self, kind: str, tenant: str, resource_id: str, version: int) -> None:
        name = f"{kind}|{tenant}|{resource_id}"
        if self.max_versions.get(name, 0) < version:
            self.tx.put(self.max_versions, name, version)

    def deployed_record(self, value_type: str, key: int, value: dict[str, Any], intent: str = "CREATED") -> None:
        if self.records.enabled:
            self.write(value_type, intent, key, value)
