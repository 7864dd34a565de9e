"""The pieces of BPMN XML the builders in :mod:`tests.unit.engine.bpmn_builders` and
:mod:`tests.unit.engine.flow_builders` put together: quoted attributes, extension elements and I/O mappings,
an element holding its content, and the event definitions."""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import quoteattr


def _attr(value: str) -> str:
    return quoteattr(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def io_mapping(inputs: Mapping[str, str] | None = None, outputs: Mapping[str, str] | None = None) -> str:
    """``zeebe:ioMapping`` with inputs and outputs as ``{target: source}``."""
    entries = [f"<zeebe:input source={_attr(s)} target={_attr(t)}/>" for t, s in (inputs or {}).items()]
    entries += [f"<zeebe:output source={_attr(s)} target={_attr(t)}/>" for t, s in (outputs or {}).items()]
    return f"<zeebe:ioMapping>{''.join(entries)}</zeebe:ioMapping>" if entries else ""


def _extensions(*parts: str) -> str:
    inner = "".join(p for p in parts if p)
    return f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>" if inner else ""


def event(tag: str, element_id: str, *content: str, attrs: str = "") -> str:
    """A ``bpmn:<tag>`` element (an event, mostly) holding ``content``: extension elements, a definition."""
    return f"<bpmn:{tag} id={_attr(element_id)}{attrs}>{''.join(content)}</bpmn:{tag}>"


_REFERENCES = {
    "message": ("messageEventDefinition", "messageRef", "msg-"),
    "signal": ("signalEventDefinition", "signalRef", "sig-"),
    "error": ("errorEventDefinition", "errorRef", "err-"),
    "escalation": ("escalationEventDefinition", "escalationRef", "esc-"),
}


def definition(kind: str, name: str | None = None) -> str:
    """A message, signal, error or escalation event definition referring to ``name`` (as :func:`process`
    declares it); without a name, one that refers to none (an error or escalation catching any)."""
    tag, ref, prefix = _REFERENCES[kind]
    if name is None:
        return f"<bpmn:{tag}/>"
    return f"<bpmn:{tag} {ref}={_attr(prefix + name)}/>"


def _optional_attrs(*pairs: tuple[str, str | None]) -> str:
    """`` name="value"`` for each pair whose value is not None, in order."""
    return "".join(f" {name}={_attr(value)}" for name, value in pairs if value is not None)


def timer_definition(*, duration: str | None = None, date: str | None = None, cycle: str | None = None) -> str:
    """A timer event definition: ``duration``, else ``date``, else ``cycle``."""
    if duration is not None:
        inner = f"<bpmn:timeDuration>{_escape(duration)}</bpmn:timeDuration>"
    elif date is not None:
        inner = f"<bpmn:timeDate>{_escape(date)}</bpmn:timeDate>"
    else:
        inner = f"<bpmn:timeCycle>{_escape(cycle or '')}</bpmn:timeCycle>"
    return f"<bpmn:timerEventDefinition>{inner}</bpmn:timerEventDefinition>"
