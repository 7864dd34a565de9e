"""`zeebe-celery engine` says where its web UI is."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request


def test_the_engine_command_prints_the_web_ui_url_and_serves_it() -> None:
    command = [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0", "--monitoring-port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as engine:
        try:
            assert engine.stdout is not None
            assert " listening on " in engine.stdout.readline()
            line = engine.stdout.readline()
            assert line.startswith("web UI: open http://127.0.0.1:")
            url = line.split("open ")[1].split()[0]
            with urllib.request.urlopen(url, timeout=10) as page:
                assert b"No process is deployed yet." in page.read()
        finally:
            engine.send_signal(signal.SIGTERM)
            _, errors = engine.communicate(timeout=30)
    assert engine.returncode == 0, errors
