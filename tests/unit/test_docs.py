"""The README keeps up with the code: its two commands, every setting and every metric."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import Metric
from pydantic import AliasChoices

from zeebe_celery import metrics
from zeebe_celery.config import BridgeSettings, ZeebeSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_code_block() -> list[str]:
    match = re.search(r"```[a-z]*\n(.*?)```", README, re.DOTALL)
    assert match is not None
    return [line.split("#", 1)[0].strip() for line in match.group(1).splitlines() if line.split("#", 1)[0].strip()]


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = first_code_block()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in [line.strip() for line in ci]


def environment_names() -> set[str]:
    names: set[str] = set()
    for field in ZeebeSettings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        names.update(str(choice) for choice in alias.choices)
    for name in BridgeSettings.model_fields:
        names.add(f"ZEEBE_CELERY_{name.upper()}")
    return names


def test_every_environment_variable_is_documented() -> None:
    missing = sorted(name for name in environment_names() if f"`{name}`" not in README)
    assert not missing, f"README.md does not document {missing}"


def test_every_metric_is_documented() -> None:
    names: list[str] = []
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if callable(describe) and not isinstance(value, type):
            family: Metric
            for family in describe():
                suffix = "_total" if family.type == "counter" else ""
                names.append(family.name + suffix)
    assert len(names) >= 10
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"README.md does not document {missing}"
