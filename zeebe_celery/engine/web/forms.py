"""A linked Camunda form (form-js JSON) as plain HTML inputs, and the submitted values read back as variables.

Text fields and text areas, numbers, checkboxes, selects and radio groups become inputs named by their
``key``, prefilled from the task's variables; groups are walked into; static text is shown; any other
component is named as not supported here, and the task can still be completed with JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.web.html import Safe, join, render

__all__ = ["Field", "FormInputError", "fields_of", "read_values", "render_fields"]

_INPUTS = {"textfield", "textarea", "number", "checkbox", "select", "radio"}


class FormInputError(ValueError):
    """A submitted value the form's field does not take; the message names the field."""


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    type: str
    label: str
    required: bool
    options: tuple[tuple[str, Any], ...] = ()  # (label, value) of a select or radio group


def _components(document: Any) -> Iterator[dict[str, Any]]:
    components = document.get("components", []) if isinstance(document, dict) else []
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        yield component
        if component.get("components"):
            yield from _components(component)


def fields_of(document: Any) -> tuple[list[Field], list[str], list[str]]:
    """The form's input fields, its static texts, and the types of the components it cannot show."""
    fields: list[Field] = []
    texts: list[str] = []
    unsupported: list[str] = []
    for component in _components(document):
        kind = str(component.get("type", ""))
        if kind == "text":
            texts.append(str(component.get("text", "")))
        elif kind in _INPUTS and isinstance(component.get("key"), str) and component["key"]:
            listed = component.get("values")
            values: list[Any] = listed if isinstance(listed, list) else []
            options = tuple(
                (str(v.get("label", v.get("value", ""))), v.get("value")) for v in values if isinstance(v, dict)
            )
            rules = component.get("validate")
            validate: dict[str, Any] = rules if isinstance(rules, dict) else {}
            fields.append(
                Field(
                    component["key"],
                    kind,
                    str(component.get("label") or component["key"]),
                    bool(validate.get("required")),
                    options,
                )
            )
        elif kind not in ("group", "button", "spacer", "separator", "default", ""):
            unsupported.append(kind)
    return fields, texts, unsupported


def _input(field: Field, current: Any) -> Safe:
    name = f"field:{field.key}"
    required = Safe(" required") if field.required else Safe("")
    if field.type == "checkbox":
        checked = Safe(" checked") if current is True else Safe("")
        return render('<input type="checkbox" name="{n}" value="true"{c}>', n=name, c=checked)
    if field.type in ("select", "radio"):
        options = join(
            render(
                '<option value="{i}"{s}>{label}</option>',
                i=index,
                s=Safe(" selected") if value == current else Safe(""),
                label=label,
            )
            for index, (label, value) in enumerate(field.options)
        )
        return render('<select name="{n}"{r}><option value=""></option>{o}</select>', n=name, r=required, o=options)
    value = "" if current is None else current if isinstance(current, str) else json.dumps(current)
    if field.type == "textarea":
        return render('<textarea name="{n}" rows="3"{r}>{v}</textarea>', n=name, r=required, v=value)
    kind = "number" if field.type == "number" else "text"
    step = Safe(' step="any"') if kind == "number" else Safe("")
    return render('<input type="{t}" name="{n}" value="{v}"{s}{r}>', t=kind, n=name, v=value, s=step, r=required)


def render_fields(fields: list[Field], texts: list[str], variables: Mapping[str, Any]) -> Safe:
    parts = [render('<p class="form-text">{t}</p>', t=text) for text in texts]
    parts += [
        render("<label>{label} {i}</label>", label=field.label, i=_input(field, variables.get(field.key)))
        for field in fields
    ]
    return join(parts)


def read_values(fields: list[Field], form: Mapping[str, str]) -> dict[str, Any]:
    """The variables the submitted ``form`` gives the fields; raises FormInputError naming a bad field."""
    values: dict[str, Any] = {}
    for field in fields:
        raw = form.get(f"field:{field.key}")
        if field.type == "checkbox":
            values[field.key] = raw == "true"
            continue
        if raw is None or raw == "":
            if field.required:
                raise FormInputError(f"{field.label} is required")
            continue
        if field.type == "number":
            try:
                number = float(raw)
            except ValueError:
                raise FormInputError(f"{field.label} must be a number, not {raw[:40]!r}") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise FormInputError(f"{field.label} must be a finite number")
            values[field.key] = (
                int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
            )
        elif field.type in ("select", "radio"):
            if not raw.isdigit() or int(raw) >= len(field.options):
                raise FormInputError(f"{field.label} has no option {raw[:40]!r}")
            values[field.key] = field.options[int(raw)][1]
        else:
            values[field.key] = raw
    return values
