"""Which gateway version honours which protocol feature, and the check a call makes before it uses one.

Gateways ignore the fields they do not know. Where ignoring a field would change what the call does (a
denial that does not deny, a filter that does not filter), the client refuses the call instead, naming
the feature and the version it needs. Fields that only add information (``operationReference``) are
sent to every gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zeebe_celery.errors import UnsupportedByGatewayError

__all__ = [
    "AD_HOC_RESULT",
    "BUSINESS_ID",
    "DELETE_HISTORY",
    "EVALUATE_CONDITIONAL",
    "MOVE_INSTRUCTIONS",
    "PROCESS_TAGS",
    "RUNTIME_INSTRUCTIONS",
    "TENANT_FILTER_ASSIGNED",
    "TERMINATE_BY_ELEMENT_ID",
    "USER_TASK_RESULT",
    "Feature",
    "parse_version",
    "require",
]

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Feature:
    """A protocol feature and the first gateway version (major, minor) that honours it."""

    name: str
    since: tuple[int, int]

    @property
    def since_text(self) -> str:
        return f"{self.since[0]}.{self.since[1]}"


USER_TASK_RESULT = Feature("a JobResult that denies or corrects a user task", (8, 8))
AD_HOC_RESULT = Feature("an ad-hoc sub-process JobResult (elements to activate)", (8, 8))
PROCESS_TAGS = Feature("process instance tags", (8, 8))
RUNTIME_INSTRUCTIONS = Feature("process instance runtime instructions", (8, 8))
TENANT_FILTER_ASSIGNED = Feature("tenantFilter ASSIGNED", (8, 9))
BUSINESS_ID = Feature("a process instance businessId", (8, 9))
MOVE_INSTRUCTIONS = Feature("the moveInstructions of ModifyProcessInstance", (8, 9))
TERMINATE_BY_ELEMENT_ID = Feature("terminating by element id in ModifyProcessInstance", (8, 9))
DELETE_HISTORY = Feature("deleteHistory on DeleteResource", (8, 9))
EVALUATE_CONDITIONAL = Feature("EvaluateConditional", (8, 9))


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of a version such as ``8.9.0`` or ``8.9.0-alpha1``; None when unreadable."""
    match = _VERSION.match(text or "")
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def require(feature: Feature, gateway_version: str, *, rpc: str) -> None:
    """Raise UnsupportedByGatewayError unless ``gateway_version`` honours ``feature``.

    A version that cannot be read is not assumed to honour anything new.
    """
    parsed = parse_version(gateway_version)
    if parsed is None or parsed[:2] < feature.since:
        raise UnsupportedByGatewayError(
            feature.name, required=feature.since_text, gateway_version=gateway_version, rpc=rpc
        )
