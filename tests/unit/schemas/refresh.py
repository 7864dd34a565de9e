"""Re-vendor the JSON schemas in this folder from their upstream Go modules.

    python tests/unit/schemas/refresh.py

Needs the ``go`` tool (it only downloads modules through the Go module proxy; nothing is built) and
PyYAML. The versions are pinned below; bump one, run this, review the diff, and update README.md.
The tests never run this: they read the committed files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

COMPOSE_GO = "github.com/compose-spec/compose-go/v2@v2.16.2"
KEDA = "github.com/kedacore/keda/v2@v2.21.0"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

# (module, path of a CRD inside it, version of the CRD to extract, output file)
CRDS = [
    (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml", "v1alpha1", "keda.sh_v1alpha1_scaledobject.json"),
    (
        KEDA,
        "config/crd/bases/keda.sh_triggerauthentications.yaml",
        "v1alpha1",
        "keda.sh_v1alpha1_triggerauthentication.json",
    ),
    (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "v1",
        "monitoring.coreos.com_v1_servicemonitor.json",
    ),
]


def download(module: str, cache: Path) -> Path:
    env = {**os.environ, "GOMODCACHE": str(cache), "GOFLAGS": "-modcacherw"}
    out = subprocess.run(
        ["go", "mod", "download", "-json", module], check=True, capture_output=True, text=True, env=env
    )
    return Path(json.loads(out.stdout)["Dir"])


def crd_schema(crd_file: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(crd_file.read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
            return schema
    raise LookupError(f"{crd_file.name} has no version {version}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        dirs = {module: download(module, cache) for module in {COMPOSE_GO, KEDA, PROMETHEUS_OPERATOR}}
        shutil.copyfile(dirs[COMPOSE_GO] / "schema" / "compose-spec.json", HERE / "compose-spec.json")
        for module, path, version, out in CRDS:
            schema = crd_schema(dirs[module] / path, version)
            (HERE / out).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        for module, folder in dirs.items():
            print(module, "->", folder)


if __name__ == "__main__":
    main()
