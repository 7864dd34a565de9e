"""The README's BPMN coverage table is what scripts/bpmn_coverage.py generates from the code, as moto checks
its implementation coverage: a new processor or parse rule without the regenerated table fails here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from zeebe_celery.engine.bpmn import events as bpmn_events
from zeebe_celery.engine.model import EventType, Kind
from zeebe_celery.engine.processors import PROCESSORS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def coverage() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bpmn_coverage", ROOT / "scripts" / "bpmn_coverage.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bpmn_coverage"] = module
    spec.loader.exec_module(module)
    return module


def test_the_readmes_coverage_table_is_the_generated_one(coverage: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert coverage.rendered(readme) == readme, "README.md's BPMN coverage table is stale: run scripts/bpmn_coverage.py"


def test_the_check_fails_on_a_stale_table(
    coverage: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{coverage.START}\n| old | table |\n{coverage.END}\nrest\n", encoding="utf-8")
    monkeypatch.setattr(coverage, "README", readme)
    assert coverage.main(["--check"]) == 1
    assert coverage.main([]) == 0
    assert coverage.main(["--check"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n")
    assert text.endswith("\nrest\n")


def test_an_element_kind_without_a_processor_is_refused_in_the_table(
    coverage: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "| Gateways | Inclusive gateway | runs |" in coverage.table()
    monkeypatch.delitem(PROCESSORS, Kind.INCLUSIVE_GATEWAY)
    assert "| Gateways | Inclusive gateway | refused at deploy |" in coverage.table()


def test_an_event_definition_the_parser_allows_shows_as_running(
    coverage: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = dict(bpmn_events.ALLOWED_EVENTS)
    allowed[Kind.END_EVENT] = allowed[Kind.END_EVENT] - {EventType.SIGNAL}
    monkeypatch.setattr(bpmn_events, "ALLOWED_EVENTS", allowed)
    signal_row = next(line for line in coverage.table().splitlines() if line.startswith("| Signal |"))
    assert signal_row.endswith("| runs | refused at deploy |")


def test_a_row_camunda_lacks_says_so(coverage: ModuleType) -> None:
    table = coverage.table()
    assert "| Gateways | Complex gateway | not in Camunda 8.9 either: refused at deploy |" in table
    assert "| Markers | Loop | not in Camunda 8.9 either: refused at deploy |" in table
    assert "| Tasks | Receive task (instantiating) | not in Camunda 8.9 either: refused at deploy |" in table
