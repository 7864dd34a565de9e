"""Take the screenshots of the engine's web UI that the README shows (docs/web-*.png).

Run ``python scripts/screenshots.py`` from the repository root after changing a page. It starts an engine
with the web UI and the scenario of the browser tests (tests/web/scenario.py: the demo's order process and
an expense approval with a form), runs a few orders (shipped, declined, one stuck on an incident, one
waiting for its payment) and photographs each page in headless chromium, as the browser tests drive it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.scenario import shop_engine, start_approval, start_order  # noqa: E402
from zeebe_celery.engine import ZeebeEngine  # noqa: E402
from zeebe_celery.testing.browser import chromium  # noqa: E402

DOCS = ROOT / "docs"


def _settle(engine: ZeebeEngine, keys: list[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while any(engine.instance(k) is not None for k in keys) and time.monotonic() < deadline:
        time.sleep(0.05)


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with shop_engine() as (engine, definitions):
        runtime = engine.runtime
        finished = [start_order(runtime, f"A-{i:05d}", 950.0 if i == 3 else 10.0 + i * 37) for i in range(6)]
        _settle(engine, finished)
        stuck = start_order(runtime, "A-00006", -5)
        engine.wait_for_incident(processInstanceKey=stuck)
        with runtime.lock:
            definition = runtime.find_definition(process_id="order-fulfilment")
            runtime.create_instance(definition, {"order": {"order_id": "A-00007", "amount": 120}})
        approval = start_approval(runtime, {"amount": 84.5, "comment": "team lunch"})
        deadline = time.monotonic() + 10
        while not any(t.instance.process_instance_key == approval for t in runtime.user_tasks.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("the approval's user task did not open")
            time.sleep(0.05)
        task = next(t for t in runtime.user_tasks.values() if t.instance.process_instance_key == approval)
        base = engine.web_url
        assert base is not None
        pages = {
            "web-processes.png": "",
            "web-process-diagram.png": f"ui/processes/{definitions['expense-approval']}",
            "web-instances.png": "ui/instances",
            "web-instance-incident.png": f"ui/instances/{stuck}",
            "web-incidents.png": "ui/incidents",
            "web-user-tasks.png": "ui/tasks",
            "web-user-task-form.png": f"ui/tasks/{task.key}",
        }
        browser = chromium(width=1280, height=860)
        try:
            for name, path in pages.items():
                browser.get(base + path)
                browser.save_screenshot(str(DOCS / name))
                print(f"wrote docs/{name}")
        finally:
            browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
