"""Element templates: one per connector and per ``@zeebe_task`` with model parameters, each valid against
the official schema of ``@camunda/zeebe-element-templates-json-schema``."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from celery import Celery
from pydantic import BaseModel, Field

from zeebe_celery import InboundConnector, Job, OutboundConnector, RunConfig, zeebe_task
from zeebe_celery.cli import main
from zeebe_celery.templates import app_templates, element_template

from .conftest import assert_valid_template


class StatusModel(BaseModel):
    status: Literal["ok", "error"]


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str


def properties_by_id(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in template["properties"] if "id" in p}


def every_kind_of_field(app: Celery, job_type: str) -> type[OutboundConnector]:
    celery_app = app

    class EveryField(OutboundConnector):
        """Sends a parcel.

        More words that stay out of the template.
        """

        message: str = Field(description="Message to log")
        note: str = Field(default="", max_length=2000, title="A long note")
        urgent: bool = False
        count: int = 3
        weight: float
        mode: Literal["fast", "slow"] = "slow"
        colour: Colour = Colour.RED
        address: Address
        tags: list[str] = Field(default_factory=list)
        extra: dict[str, Any] | None = None

        def run(self, config: RunConfig) -> StatusModel:
            return StatusModel(status="ok")

        class ConnectorConfig:
            name = "EveryField"
            type = job_type
            app = celery_app

    return EveryField


def test_a_connector_template_has_the_header_and_a_hidden_job_type(
    app: Celery, job_type: str, template_schema: dict[str, Any]
) -> None:
    template = element_template(every_kind_of_field(app, job_type))

    assert_valid_template(template_schema, template)
    assert template["$schema"].endswith("/zeebe-element-templates-json-schema/resources/schema.json")
    assert template["id"] == "zeebe-celery.every-field"
    assert (template["name"], template["version"], template["appliesTo"]) == ("EveryField", 1, ["bpmn:Task"])
    assert template["elementType"] == {"value": "bpmn:ServiceTask"}
    assert template["description"] == "Sends a parcel."
    assert [g["id"] for g in template["groups"]] == ["input", "output"]
    hidden = template["properties"][0]
    assert hidden == {
        "type": "Hidden",
        "value": job_type,
        "binding": {"type": "zeebe:taskDefinition", "property": "type"},
    }


def test_each_field_becomes_an_input_property_of_its_type(
    app: Celery, job_type: str, template_schema: dict[str, Any]
) -> None:
    props = properties_by_id(element_template(every_kind_of_field(app, job_type)))

    message = props["message"]
    assert message["binding"] == {"type": "zeebe:input", "name": "message"}
    assert (message["type"], message["label"], message["description"]) == ("String", "Message", "Message to log")
    assert message["constraints"] == {"notEmpty": True}
    assert (props["note"]["type"], props["note"]["label"], props["note"]["value"]) == ("Text", "A long note", "")
    assert (props["urgent"]["type"], props["urgent"]["value"]) == ("Boolean", False)
    assert (props["count"]["type"], props["count"]["value"]) == ("Number", 3)
    assert props["weight"]["type"] == "Number"
    assert props["weight"]["constraints"] == {"notEmpty": True}
    assert props["mode"]["type"] == "Dropdown"
    assert props["mode"]["choices"] == [{"name": "fast", "value": "fast"}, {"name": "slow", "value": "slow"}]
    assert props["mode"]["value"] == "slow"
    assert [c["value"] for c in props["colour"]["choices"]] == ["red", "blue"]
    assert props["colour"]["value"] == "red"
    for name in ("address", "tags", "extra"):
        assert (props[name]["type"], props[name]["feel"]) == ("Text", "required"), name
    assert "constraints" not in props["extra"]
    assert props["extra"]["optional"] is True


def test_the_output_group_binds_result_variable_and_result_expression_to_task_headers(
    app: Celery, job_type: str
) -> None:
    props = properties_by_id(element_template(every_kind_of_field(app, job_type)))

    assert props["resultVariable"]["binding"] == {"type": "zeebe:taskHeader", "key": "resultVariable"}
    assert props["resultExpression"]["binding"] == {"type": "zeebe:taskHeader", "key": "resultExpression"}
    assert {props["resultVariable"]["group"], props["resultExpression"]["group"]} == {"output"}
    assert props["resultExpression"]["feel"] == "required"


def test_a_zeebe_task_with_model_parameters_gets_a_template_of_its_parameters(
    app: Celery, job_type: str, template_schema: dict[str, Any]
) -> None:
    @zeebe_task(job_type, app=app)
    def ship(address: Address, priority: int, job: Job, express: bool = False) -> None:
        """Ships an order."""

    template = element_template(ship)

    assert_valid_template(template_schema, template)
    assert template["properties"][0]["value"] == job_type
    props = properties_by_id(template)
    assert set(props) == {"address", "priority", "express"}
    assert (props["address"]["type"], props["address"]["feel"]) == ("Text", "required")
    assert props["priority"]["constraints"] == {"notEmpty": True}
    assert props["express"]["optional"] is True
    assert template["description"] == "Ships an order."


def test_an_inbound_connector_template_activates_it_by_name(app: Celery, template_schema: dict[str, Any]) -> None:
    celery_app = app

    class PollFeed(InboundConnector):
        url: str = Field(description="The feed")

        async def loop(self) -> dict[str, Any] | None:
            return None

        class ConnectorConfig:
            name = "poll_feed_template"
            cycle = 5
            app = celery_app

    template = element_template(PollFeed)

    assert_valid_template(template_schema, template)
    assert template["properties"][0]["value"] == "_activate_inbound_connector"
    assert {
        "type": "Hidden",
        "value": "poll_feed_template",
        "binding": {"type": "zeebe:taskHeader", "key": "name"},
    } in (template["properties"])
    props = properties_by_id(template)
    assert props["correlation_key"]["binding"] == {"type": "zeebe:input", "name": "correlation_key"}
    assert props["url"]["description"] == "The feed"


def test_app_templates_skip_zeebe_tasks_without_model_parameters(app: Celery, job_type: str) -> None:
    @zeebe_task(f"{job_type}-plain", app=app)
    def plain(a: int) -> None:
        return None

    @zeebe_task(f"{job_type}-modelled", app=app)
    def modelled(address: Address) -> None:
        return None

    ids = set(app_templates(app))

    assert f"zeebe-celery.{job_type}-modelled" in ids
    assert f"zeebe-celery.{job_type}-plain" not in ids


def test_anything_else_is_refused() -> None:
    with pytest.raises(TypeError, match="neither a connector class nor a @zeebe_task"):
        element_template(object())


def test_the_templates_command_writes_one_valid_file_per_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_schema: dict[str, Any], clean_env: Path
) -> None:
    (tmp_path / "tplapp.py").write_text(
        """
from celery import Celery
from pydantic import BaseModel, Field
from zeebe_celery import OutboundConnector, zeebe_task

app = Celery("tplapp", set_as_current=False)

class Parcel(BaseModel):
    weight: float

class Courier(OutboundConnector):
    destination: str = Field(description="Where to")

    def run(self, config) -> None:
        return None

    class ConnectorConfig:
        name = "Courier"
        type = "tplapp-courier"
        app = app

@zeebe_task("tplapp-weigh", app=app)
def weigh(parcel: Parcel) -> None:
    return None
""",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "templates"

    assert main(["templates", "-A", "tplapp", "-o", str(out)]) == 0

    written = sorted(p.name for p in out.iterdir())
    assert written == ["zeebe-celery.courier.json", "zeebe-celery.tplapp-weigh.json"]
    for path in out.iterdir():
        assert_valid_template(template_schema, json.loads(path.read_text()))
