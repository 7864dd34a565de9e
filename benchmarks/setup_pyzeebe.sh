#!/usr/bin/env bash
# Creates benchmarks/.venv-pyzeebe with pyzeebe, apart from the project's venv: pyzeebe pins protobuf<7,
# zeebe-celery needs protobuf>=7.35. It also holds what pyzeebe's own integration suite needs to run
# (tests/integration/clients/test_pyzeebe_suite.py): pytest below 9, as pyzeebe's dev group asks, and
# testcontainers, which that suite's conftest imports (the engine stands in for its container).
# Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PYZEEBE_VERSION=${PYZEEBE_VERSION:-4.7.0}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
venv=.venv-pyzeebe
requirements=("pyzeebe==$PYZEEBE_VERSION" "pytest==8.4.2" "testcontainers==4.13.3")
stamp="$venv/.installed-$(printf '%s\n' "${requirements[@]}" | cksum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${requirements[@]}"
  touch "$stamp"
fi
"$venv/bin/python" -c "from importlib.metadata import version as v; print('pyzeebe', v('pyzeebe'))"
