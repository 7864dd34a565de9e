# The two commands in the README are `make demo` and `make test`; everything else is a step of them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint typecheck audit lock unit integration conformance bench bench-quick chaos soak protos clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/zeebe-celery dev demo

lint: bootstrap
	$(BIN)/ruff check zeebe_celery tests benchmarks examples scripts
	$(BIN)/ruff format --check zeebe_celery tests benchmarks examples scripts

typecheck: bootstrap
	$(BIN)/mypy

# Known vulnerabilities in requirements.lock fail the build; ZEEBE_CELERY_AUDIT_STRICT=1 also fails it when a
# dependency could not be audited (see scripts/audit.py).
audit: bootstrap
	$(PY) scripts/audit.py

lock: bootstrap
	$(PY) scripts/lock.py

test: lint typecheck audit
	$(BIN)/pytest -p no:randomly tests

unit: bootstrap
	$(BIN)/pytest tests/unit

integration: bootstrap
	$(BIN)/pytest tests/integration

# The integration lane against a Zeebe of your own (the project never downloads one):
#   ZEEBE_CELERY_TEST_ZEEBE_ADDRESS=host:port make conformance
conformance: bootstrap
	@test -n "$$ZEEBE_CELERY_TEST_ZEEBE_ADDRESS" || { echo "set ZEEBE_CELERY_TEST_ZEEBE_ADDRESS=host:port to your own Zeebe gateway" >&2; exit 64; }
	$(BIN)/pytest -p no:randomly tests/integration -m "not engine_inspection"

# The full run, then the engine against its pre-redesign revision (benchmarks/results/engine-redesign.md).
bench: bootstrap
	$(PY) -m benchmarks --full
	$(PY) -m benchmarks.engine_redesign --rounds 7

bench-quick: bootstrap
	$(PY) -m benchmarks --quick

# The fault scenarios of issue 15 on the real stack, as one table (benchmarks/results/chaos.md).
chaos: bootstrap
	$(PY) -m benchmarks.chaos

# 20,000 instances at a steady rate, with the RSS of the poller and the workers over time.
soak: bootstrap
	$(PY) -m benchmarks.chaos.soak

protos: bootstrap
	$(PY) scripts/gen_protos.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
