"""Camunda Modeler element templates, generated from connectors and ``@zeebe_task`` handlers.

One template per outbound connector, per inbound connector (its activation task) and per ``@zeebe_task``
that takes model parameters. The job type is a hidden property; each input (a connector field, or a
handler parameter) is a property bound to ``zeebe:input``; ``resultVariable`` and ``resultExpression``
are task-header properties of an output group. Templates follow the official JSON schema
(``@camunda/zeebe-element-templates-json-schema``).
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from celery import Celery
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from zeebe_celery.connectors import inbound
from zeebe_celery.connectors.outbound import OutboundConnector, outbound_connectors
from zeebe_celery.connectors.results import RESULT_EXPRESSION, RESULT_VARIABLE
from zeebe_celery.job import Job
from zeebe_celery.spec import zeebe_task_specs

__all__ = ["SCHEMA_URL", "app_templates", "element_template", "write_templates"]

SCHEMA_URL = "https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json"
ID_PREFIX = "zeebe-celery"
# A str field allowed to hold more than this many characters gets a multi-line Text input.
LONG_TEXT = 255
_GROUPS = [{"id": "input", "label": "Input"}, {"id": "output", "label": "Output"}]


def element_template(obj: Any) -> dict[str, Any]:
    """The element template of an outbound connector, an inbound connector, or a ``@zeebe_task`` Celery task.

    Raises TypeError for anything else.
    """
    if inspect.isclass(obj) and issubclass(obj, OutboundConnector):
        spec = obj.connector_spec
        return _template(spec.name, spec.type, _model_properties(obj), output=True, description=obj.__doc__)
    if inspect.isclass(obj) and issubclass(obj, inbound.InboundConnector):
        return _inbound_template(obj)
    function = getattr(obj, "zeebe_function", None)
    job_type = _task_job_type(obj)
    if function is not None and job_type is not None:
        properties = _parameter_properties(function)
        return _template(job_type, job_type, properties, output=False, description=function.__doc__)
    raise TypeError(f"{obj!r} is neither a connector class nor a @zeebe_task")


def app_templates(app: Celery) -> dict[str, dict[str, Any]]:
    """The templates of the app's connectors and of its ``@zeebe_task`` handlers with model parameters, by id."""
    found: dict[str, dict[str, Any]] = {}
    connectors = outbound_connectors()
    for job_type, spec in sorted(zeebe_task_specs(app).items()):
        connector = connectors.get(spec.task_name)
        if connector is not None:
            template = element_template(connector)
        elif job_type == inbound.ACTIVATE_JOB_TYPE:
            continue
        else:
            function = getattr(app.tasks[spec.task_name], "zeebe_function", None)
            if function is None or not _takes_models(function):
                continue
            template = _template(
                job_type, job_type, _parameter_properties(function), output=False, description=function.__doc__
            )
        found[template["id"]] = template
    for cls in inbound.inbound_connectors().values():
        if cls.connector_spec.app not in (None, app):
            continue
        template = _inbound_template(cls)
        found[template["id"]] = template
    return found


def write_templates(app: Celery, directory: Path) -> list[Path]:
    """Write each of the app's templates to ``directory`` as ``<id>.json``; returns the paths written.

    This is the ``zeebe-celery templates -A APP [-o DIR]`` command. Raises OSError when it cannot write.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for template_id, template in sorted(app_templates(app).items()):
        path = directory / f"{template_id}.json"
        path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def template_id(name: str) -> str:
    """A stable template id from a name: ``zeebe-celery.<name in kebab case>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()).strip("-")
    return f"{ID_PREFIX}.{slug or 'task'}"


# -- the template -----------------------------------------------------------------------------------


def _template(
    name: str, job_type: str, inputs: list[dict[str, Any]], *, output: bool, description: str | None
) -> dict[str, Any]:
    properties: list[dict[str, Any]] = [
        {"type": "Hidden", "value": job_type, "binding": {"type": "zeebe:taskDefinition", "property": "type"}},
        *inputs,
    ]
    if output:
        properties += [
            {
                "id": RESULT_VARIABLE,
                "label": "Result variable",
                "description": "Name of the variable that holds the whole result",
                "group": "output",
                "type": "String",
                "optional": True,
                "binding": {"type": "zeebe:taskHeader", "key": RESULT_VARIABLE},
            },
            {
                "id": RESULT_EXPRESSION,
                "label": "Result expression",
                "description": "FEEL context expression over the result's fields; its entries become variables",
                "group": "output",
                "type": "Text",
                "feel": "required",
                "optional": True,
                "binding": {"type": "zeebe:taskHeader", "key": RESULT_EXPRESSION},
            },
        ]
    template: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "id": template_id(name),
        "name": name,
        "version": 1,
        "appliesTo": ["bpmn:Task"],
        "elementType": {"value": "bpmn:ServiceTask"},
        "groups": _GROUPS if output else _GROUPS[:1],
        "properties": properties,
    }
    text = inspect.cleandoc(description or "").split("\n\n")[0].replace("\n", " ").strip()
    if text:
        template["description"] = text
    return template


def _inbound_template(cls: type[inbound.InboundConnector]) -> dict[str, Any]:
    spec = cls.connector_spec
    properties = [
        {
            "type": "Hidden",
            "value": spec.name,
            "binding": {"type": "zeebe:taskHeader", "key": "name"},
        },
        {
            "id": "correlation_key",
            "label": "Correlation key",
            "description": "The message is published with this correlation key",
            "group": "input",
            "type": "String",
            "feel": "optional",
            "constraints": {"notEmpty": True},
            "binding": {"type": "zeebe:input", "name": "correlation_key"},
        },
        {
            "id": "message_name",
            "label": "Message name",
            "description": f"The name of the published message (default {spec.name})",
            "group": "input",
            "type": "String",
            "optional": True,
            "binding": {"type": "zeebe:taskHeader", "key": "message_name"},
        },
        *_model_properties(cls),
    ]
    template = _template(f"{spec.name} (activate)", inbound.ACTIVATE_JOB_TYPE, [], output=False, description=None)
    template["properties"] = template["properties"][:1] + properties
    text = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip()
    if text:
        template["description"] = text
    return template


# -- inputs ---------------------------------------------------------------------------------------


def _model_properties(model: type[BaseModel]) -> list[dict[str, Any]]:
    return [
        _property(info.alias or field, info.annotation, info, default=info.default)
        for field, info in model.model_fields.items()
    ]


def _parameter_properties(function: Callable[..., Any]) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(function)
    properties = []
    for p in inspect.signature(function).parameters.values():
        hint = hints.get(p.name, Any)
        if hint is Job or p.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
            continue
        default = PydanticUndefined if p.default is inspect.Parameter.empty else p.default
        properties.append(_property(p.name, hint, None, default=default))
    return properties


def _takes_models(function: Callable[..., Any]) -> bool:
    hints = typing.get_type_hints(function)
    return any(_is_model(_unwrap_optional(hint)) and hint is not Job for hint in hints.values())


def _property(name: str, annotation: Any, info: FieldInfo | None, *, default: Any) -> dict[str, Any]:
    annotation, optional = _unwrap_optional(annotation), _is_optional(annotation)
    prop: dict[str, Any] = {
        "id": name,
        "label": (info.title if info is not None and info.title else None) or _label(name),
        "group": "input",
        "binding": {"type": "zeebe:input", "name": name},
    }
    if info is not None and info.description:
        prop["description"] = info.description
    choices = _choices(annotation)
    has_default = default is not PydanticUndefined and default is not None
    if choices is not None:
        prop["type"] = "Dropdown"
        prop["choices"] = [{"name": str(c), "value": str(c)} for c in choices]
        value: Any = str(default.value if isinstance(default, enum.Enum) else default) if has_default else None
    elif annotation is bool:
        prop["type"] = "Boolean"
        value = bool(default) if has_default else None
    elif annotation in (int, float):
        prop["type"] = "Number"
        value = default if has_default else None
    elif annotation is str:
        prop["type"] = "Text" if _is_long(info) else "String"
        prop["feel"] = "optional"
        value = str(default) if has_default else None
    else:
        prop["type"] = "Text"
        prop["feel"] = "required"
        value = "=" + json.dumps(_jsonable(default)) if has_default else None
    if value is not None:
        prop["value"] = value
    if default is PydanticUndefined and not optional:
        prop["constraints"] = {"notEmpty": True}
    else:
        prop["optional"] = True
    return prop


def _label(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else name


def _choices(annotation: Any) -> list[Any] | None:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    return None


def _is_long(info: FieldInfo | None) -> bool:
    if info is None:
        return False
    extra = info.json_schema_extra
    if isinstance(extra, Mapping) and extra.get("multiline"):
        return True
    limits = [getattr(m, "max_length", None) for m in info.metadata]
    return any(isinstance(limit, int) and limit > LONG_TEXT for limit in limits)


def _is_optional(annotation: Any) -> bool:
    return _is_union(annotation) and type(None) in typing.get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _unwrap_optional(annotation: Any) -> Any:
    if _is_union(annotation):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _task_job_type(task: Any) -> str | None:
    name = getattr(task, "name", None)
    app = getattr(task, "app", None)
    if not isinstance(name, str) or app is None:
        return None
    for job_type, spec in zeebe_task_specs(app).items():
        if spec.task_name == name:
            return job_type
    return None
