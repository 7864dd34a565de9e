"""Camunda Forms: ``.form`` resources (form-js JSON with an ``id``), deployed with versions as Zeebe
deploys them, and linked from user tasks by ``zeebe:formDefinition formId``."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["DeployedForm", "FormError", "form_id"]


class FormError(ValueError):
    """The resource is not a form Zeebe would deploy; the message says why, as Zeebe's rejection does."""


@dataclass(slots=True, eq=False, repr=False)
class DeployedForm:
    """A deployed version of a form."""

    def __repr__(self) -> str:
        return f"DeployedForm({self.form_id!r} v{self.version}, key={self.key})"

    key: int
    form_id: str
    version: int
    resource_name: str
    checksum: str
    tenant_id: str
    resource: bytes
    deployment_key: int


def form_id(content: bytes, resource_name: str) -> str:
    """The ``id`` of a form resource; raises FormError for JSON that is not a form with an id."""
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise FormError(f"Failed to parse form JSON. '{resource_name}': {exc}") from exc
    identifier = document.get("id") if isinstance(document, dict) else None
    if identifier is None:
        raise FormError("Expected the form id to be present, but none given")
    if not isinstance(identifier, str) or not identifier.strip():
        raise FormError("Expected the form id to be filled, but it is blank")
    return identifier
