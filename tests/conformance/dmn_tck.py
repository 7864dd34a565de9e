"""The DMN TCK (compliance levels 2 and 3) run through the engine's DMN package.

One ``<testCase>`` is one test: it passes only when every ``<resultNode>`` in it matches, by the TCK's rule
(tck_values.tck_equal). The models are parsed as the TCK's dmn-scala runner builds its engine: lazily, so
an expression that cannot be read fails only the tests that evaluate it, and with the model's names that hold
spaces or dashes quoted in FEEL. As in that runner, an evaluation
that fails gives ``null``; a result node with ``errorResult="true"`` passes when the result is ``null``.

Run ``python -m tests.conformance.dmn_tck`` to print the counts, ``--update`` to also rewrite
``dmn-tck-results.md`` and raise (never lower) the ratchet in ``dmn-tck-ratchet.json``.

The test cases are read from ``$ZEEBE_CELERY_DMN_TCK`` if set, else from ``shared/conformance/dmn-tck``
beside the repository (or beside any folder above it: CI clones the repository next to ``shared/``).
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zeebe_celery.engine.dmn import DmnError, parse_dmn
from zeebe_celery.engine.dmn.evaluate import evaluate_by_name, evaluate_service_by_name
from zeebe_celery.engine.feel import FeelError

from .tck_values import NS, read_value, shown, tck_equal

__all__ = ["LEVELS", "FolderResult", "ratchet", "results_table", "run_level", "tck_root"]

LEVELS = (2, 3)
HERE = Path(__file__).parent
REPO = HERE.parent.parent
RATCHET = HERE / "dmn-tck-ratchet.json"
TABLE = HERE / "dmn-tck-results.md"
ENV = "ZEEBE_CELERY_DMN_TCK"


def tck_root() -> Path:
    """The TCK's folder; raises FileNotFoundError, saying where it looked, when there is none."""
    override = os.environ.get(ENV)
    candidates = [Path(override)] if override else []
    candidates += [folder / "shared" / "conformance" / "dmn-tck" for folder in REPO.resolve().parents]
    for candidate in candidates:
        if (candidate / "compliance-level-2").is_dir() and (candidate / "compliance-level-3").is_dir():
            return candidate
    looked = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"the DMN TCK test cases are missing; set {ENV} or put them at one of:\n  {looked}")


@dataclass
class FolderResult:
    folder: str
    passed: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)  # "test id: why"


def run_level(level: int, root: Path | None = None) -> list[FolderResult]:
    """Every test folder of one compliance level, in name order."""
    base = (root or tck_root()) / f"compliance-level-{level}"
    return [_run_folder(folder) for folder in sorted(base.iterdir()) if folder.is_dir()]


def _run_folder(folder: Path) -> FolderResult:
    result = FolderResult(folder.name)
    models: dict[str, Any] = {}
    for test_file in sorted(folder.glob("*-test-*.xml")):
        cases = ET.parse(test_file).getroot()  # noqa: S314 - the TCK's own files
        model_name = (cases.findtext(f"{NS}modelName") or "").strip()
        if model_name not in models:
            models[model_name] = _parse_model(folder / model_name)
        model = models[model_name]
        for case in cases.findall(f"{NS}testCase"):
            result.total += 1
            problem = _run_case(model, case)
            if problem is None:
                result.passed += 1
            else:
                result.failures.append(f"{case.get('id')}: {problem}")
    return result


def _parse_model(path: Path) -> Any:
    try:
        return parse_dmn(path.read_bytes(), resource_name=path.name, lazy=True, quote_names=True)
    except (DmnError, OSError) as error:
        return error


def _run_case(model: Any, case: ET.Element) -> str | None:
    """None when the test case passes, else why not."""
    if isinstance(model, Exception):
        return f"model refused: {model}"
    inputs = {node.get("name", ""): read_value(node) for node in case.findall(f"{NS}inputNode")}
    service = case.get("invocableName") if case.get("type") == "decisionService" else None
    for node in case.findall(f"{NS}resultNode"):
        name = node.get("name", "")
        expected_node = node.find(f"{NS}expected")
        expected = read_value(expected_node) if expected_node is not None else None
        error_expected = node.get("errorResult") == "true"
        failure = ""
        try:
            if service is not None:
                actual = evaluate_service_by_name(model, service, inputs, output=name)
            else:
                actual = evaluate_by_name(model, name, inputs)
        except (DmnError, FeelError) as error:
            # A failed evaluation is null, as dmn-scala's runner has it.
            actual, failure = None, f" (failed: {str(error).split(', but ', 1)[-1]})"
        except Exception as error:
            return f"{name}: crashed: {type(error).__name__}: {error}"
        if error_expected and actual is None:
            continue
        if error_expected or not tck_equal(expected, actual):
            return f"{name}: expected {'an error' if error_expected else shown(expected)}, got {shown(actual)}{failure}"
    return None


def ratchet() -> dict[str, int]:
    """The committed pass counts, per level: ``{"level-2": n, "level-3": m}``."""
    data: dict[str, int] = json.loads(RATCHET.read_text(encoding="utf-8"))
    return data


def results_table(levels: dict[int, list[FolderResult]]) -> str:
    lines = [
        "# DMN TCK results",
        "",
        "The DMN TCK's test cases (compliance levels 2 and 3) run through `zeebe_celery.engine.dmn` by",
        "`tests/conformance/dmn_tck.py`. One `<testCase>` is one test, passing only when every result in it",
        "matches. Regenerate with `python -m tests.conformance.dmn_tck --update`.",
        "",
        "For comparison, Camunda's dmn-scala 1.9.0 publishes 113 of 116 (97.4%, level 2) and 2,741 of 3,134",
        "(87.5%, level 3, an older TCK with fewer tests).",
        "",
        "| Level | Passed | Tests | Share |",
        "|---|---:|---:|---:|",
    ]
    for level, folders in levels.items():
        passed, total = sum(f.passed for f in folders), sum(f.total for f in folders)
        lines.append(f"| {level} | {passed:,} | {total:,} | {_share(passed, total)} |")
    for level, folders in levels.items():
        lines += [
            "",
            f"## Compliance level {level}",
            "",
            "| Folder | Passed | Tests | First failure |",
            "|---|---:|---:|---|",
        ]
        lines += [f"| {f.folder} | {f.passed} | {f.total} | {_first_failure(f)} |" for f in folders]
    return "\n".join(lines) + "\n"


def _first_failure(folder: FolderResult) -> str:
    if not folder.failures:
        return ""
    text = folder.failures[0].replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 140 else text[:137] + "..."


def _share(passed: int, total: int) -> str:
    return f"{100 * passed / total:.1f}%" if total else "-"


def _failures(folders: list[FolderResult]) -> Iterator[str]:
    for folder in folders:
        for failure in folder.failures:
            yield f"{folder.folder} {failure}"


def main(argv: list[str]) -> int:
    levels = {level: run_level(level) for level in LEVELS}
    if "--failures" in argv:
        for folders in levels.values():
            for line in _failures(folders):
                print(line[:300])
    counts = {f"level-{level}": sum(f.passed for f in folders) for level, folders in levels.items()}
    totals = {f"level-{level}": sum(f.total for f in folders) for level, folders in levels.items()}
    for key, passed in counts.items():
        print(f"{key}: {passed} of {totals[key]}")
    if "--update" in argv:
        TABLE.write_text(results_table(levels), encoding="utf-8")
        old = ratchet() if RATCHET.exists() else {}
        raised = {key: max(passed, old.get(key, 0)) for key, passed in counts.items()}
        RATCHET.write_text(json.dumps(raised, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
