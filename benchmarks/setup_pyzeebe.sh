#!/usr/bin/env bash
# Creates benchmarks/.venv-pyzeebe with the newest pyzeebe, apart from the project's venv: pyzeebe pins
# protobuf<7, zeebe-celery needs protobuf>=7.35. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PYZEEBE_VERSION=${PYZEEBE_VERSION:-4.7.0}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
venv=.venv-pyzeebe
stamp="$venv/.installed-$PYZEEBE_VERSION"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "pyzeebe==$PYZEEBE_VERSION"
  touch "$stamp"
fi
"$venv/bin/python" -c "from importlib.metadata import version as v; print('pyzeebe', v('pyzeebe'))"
