"""Appliers of what a process instance is created with besides variables (8.8+): its tags, its business id
(held by one active root instance per process at a time) and the elements after which it is terminated."""

from __future__ import annotations

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.state import ElementInstance

__all__ = ["LabelAppliers"]


class LabelAppliers(RuntimeBase):
    def instance_labelled(
        self, root: ElementInstance, tags: tuple[str, ...], business_id: str, terminate_after: tuple[str, ...]
    ) -> None:
        tx = self.tx
        tx.set(root, "tags", tags)
        tx.set(root, "terminate_after", terminate_after)
        if business_id:
            tx.set(root, "business_id", business_id)
            definition = root.definition
            tx.put(self.business_ids, (definition.tenant_id, definition.bpmn_process_id, business_id), root.key)
        tx.roots.add(root.key)

    def business_id_released(self, root: ElementInstance) -> None:
        definition = root.definition
        name = (definition.tenant_id, definition.bpmn_process_id, root.business_id)
        if self.business_ids.get(name) == root.key:
            self.tx.pop(self.business_ids, name)
