"""The instructions ModifyProcessInstance takes: elements to activate, and (Camunda 8.9) element instances
to move to another element."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ActivateInstruction", "MoveInstruction"]


@dataclass(frozen=True, slots=True)
class ActivateInstruction:
    """Activate ``element_id`` in a process instance modification, optionally with variables.

    ``variables`` maps a scope element id ("" for the instance) to the variables set there.
    """

    element_id: str
    ancestor_element_instance_key: int = 0
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MoveInstruction:
    """Move the active instances of ``source_element_id`` (or the one ``source_element_instance_key``)
    to ``target_element_id`` (Camunda 8.9).

    The new instance's flow scope is ``ancestor_element_instance_key`` (-1: an existing instance of the
    flow scope), or, with ``infer_ancestor_scope`` / ``use_source_parent_as_ancestor``, found from the
    source. ``variables`` maps a scope element id ("" for the instance) to the variables set there.
    """

    target_element_id: str
    source_element_id: str = ""
    source_element_instance_key: int = 0
    ancestor_element_instance_key: int = 0
    infer_ancestor_scope: bool = False
    use_source_parent_as_ancestor: bool = False
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if bool(self.source_element_id) == bool(self.source_element_instance_key):
            raise ValueError("give exactly one of source_element_id and source_element_instance_key")
        if not self.target_element_id:
            raise ValueError("a MoveInstruction needs a target_element_id")
