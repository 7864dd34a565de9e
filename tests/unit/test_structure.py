"""The package's shape: no import cycle, small modules, and no worker signals connected by importing a handler."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from celery import Celery

import zeebe_celery
from zeebe_celery.config import BridgeSettings
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.spec import ZeebeTaskSpec
from zeebe_celery.worker import WorkerBoot, worker_init

PACKAGE = Path(zeebe_celery.__file__).parent
# Generated stubs, and modules of one method per RPC.
# The generated stubs, and the modules that hold one method per RPC: the client and the engine's servicer.
LONG_ALLOWED = {
    "gateway/proto/gateway_pb2_grpc.py",
    "gateway/proto/gateway_pb2.py",
    "engine/server.py",
}
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The zeebe_celery modules ``path`` imports, at any depth of its code (also inside functions)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("zeebe_celery")}


def test_no_import_cycle_inside_the_package() -> None:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "proto" not in path.parts}
    graph = {
        name: {dep for dep in imports_of(path) if dep in modules and dep != name} for name, path in modules.items()
    }
    # A module's package __init__ runs before it; importing the package from a submodule is no cycle.
    graph = {name: {dep for dep in deps if not name.startswith(dep + ".")} for name, deps in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep) :], dep] if dep in trail else [name, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])

    assert cycles == []


def test_no_module_is_over_450_lines_but_stubs_and_the_client() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }

    assert set(long) <= LONG_ALLOWED, long


def test_importing_a_handler_module_connects_no_worker_signals(tmp_path: Path) -> None:
    (tmp_path / "signal_app.py").write_text(
        textwrap.dedent(
            """
            from celery import Celery
            from zeebe_celery import zeebe_task

            app = Celery("signal-app", set_as_current=False)

            @zeebe_task("charge-card", app=app)
            def charge(amount: float) -> None:
                return None
            """
        )
    )
    probe = textwrap.dedent(
        """
        from celery import signals
        import signal_app

        signal_app.app.tasks  # finalize, as the poller does
        connected = [
            name
            for name in dir(signals)
            if isinstance(getattr(signals, name), signals.Signal)
            for receiver in getattr(signals, name).receivers
            if "zeebe" in str(receiver[0])
        ]
        print(connected)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


def test_an_app_with_a_zeebe_task_boots_its_workers_through_the_boot_step() -> None:
    app = Celery("boot-step", set_as_current=False)

    @zeebe_celery.zeebe_task("charge-card", app=app)
    def charge() -> None:
        return None

    app.finalize()

    assert WorkerBoot in app.steps["worker"]


def test_bad_settings_fail_at_worker_boot(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_CELERY_MAX_JOBS", "0")
    app = Celery("bad-settings", set_as_current=False)

    with pytest.raises(ConfigurationError, match="ZEEBE_CELERY_MAX_JOBS"):
        worker_init(app)


def test_resolve_settles_each_option_on_the_handlers_value_or_the_bridge_default() -> None:
    bridge = BridgeSettings(max_jobs=7, job_timeout="1m", retry_backoff="2s", queue_prefix="q.", _env_file=None)
    declared = ZeebeTaskSpec("pay", "shop.pay", None, None, None, ("amount",), None, ("t1",))
    own = ZeebeTaskSpec("pay", "shop.pay", 30.0, 0.0, 2, None, "payments", (), "assigned")

    settled, overridden = declared.resolve(bridge), own.resolve(bridge)
    assert (settled.tenant_filter, overridden.tenant_filter) == ("provided", "assigned")
    assigned = bridge.model_copy(update={"tenant_filter": "assigned"})
    assert own.resolve(assigned).tenant_filter == "assigned"
    assert declared.resolve(assigned).tenant_filter == "provided"  # it names its tenants

    assert (settled.queue, settled.timeout, settled.max_jobs, settled.retry_backoff) == ("q.pay", 60.0, 7, 2.0)
    assert (settled.fetch_variables, settled.tenant_ids) == (("amount",), ("t1",))
    assert (overridden.queue, overridden.timeout, overridden.max_jobs, overridden.retry_backoff) == (
        "payments",
        30.0,
        2,
        0.0,
    )
