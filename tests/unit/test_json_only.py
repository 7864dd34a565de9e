"""JSON only: an app that serializes or accepts anything else is refused, by the poller and the worker alike."""

from __future__ import annotations

import pytest
from celery import Celery

from zeebe_celery.errors import ConfigurationError
from zeebe_celery.json_only import check_json_only


def test_an_app_with_celerys_defaults_is_accepted() -> None:
    check_json_only(Celery("json", set_as_current=False))


def test_json_named_by_its_content_type_is_accepted() -> None:
    app = Celery("json-content-type", set_as_current=False)
    app.conf.accept_content = ["application/json"]

    check_json_only(app)


def test_pickle_task_serializer_is_refused_saying_what_to_set() -> None:
    app = Celery("pickle", set_as_current=False)
    app.conf.task_serializer = "pickle"

    with pytest.raises(ConfigurationError) as caught:
        check_json_only(app)

    assert "accepts pickle" in str(caught.value)
    assert "task_serializer='json'" in str(caught.value)
    assert "accept_content=['json']" in str(caught.value)


@pytest.mark.parametrize(
    ("accepted", "named"),
    [
        (["json", "pickle"], "pickle"),
        (["application/x-python-serialize"], "application/x-python-serialize"),
        (["json", "yaml"], "yaml"),
        (["msgpack", "json"], "msgpack"),
    ],
    ids=["pickle", "pickle-content-type", "yaml", "msgpack"],
)
def test_accepting_anything_but_json_is_refused_naming_it(accepted: list[str], named: str) -> None:
    app = Celery("accepts-more", set_as_current=False)
    app.conf.accept_content = accepted

    with pytest.raises(ConfigurationError, match="accept_content=\\['json'\\]") as caught:
        check_json_only(app)

    assert f"accepts {named} " in str(caught.value)
