"""The bridge on a secured stack: Redis with a password, and with TLS under a CA of the test's own, serves
the poller and prefork workers; and in a full run with OAuth, an engine token and a password-protected
Redis, no secret appears in anything the stack emits (logs at DEBUG, Celery messages, /healthz, /metrics,
reprs, error texts)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import trustme
from pydantic import SecretStr

from tests.integration.test_auth import TokenEndpoint
from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings
from zeebe_celery.errors import ZeebeCeleryError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env
from zeebe_celery.stack.process import free_ports
from zeebe_celery.stack.redis import RedisServer, RedisTls

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
APP = "secured_app"
CLIENT_ID = "secured-stack"


def one_task(process_id: str, job_type: str) -> bytes:
    return process(
        process_id, start_event(), service_task("task", job_type), end_event(), flows("start", "task", "end")
    )


@pytest.fixture(scope="module")
def redis_tls(tmp_path_factory: pytest.TempPathFactory) -> RedisTls:
    """A CA made here, and a certificate it signed for 127.0.0.1, as PEM files."""
    directory = tmp_path_factory.mktemp("redis-tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    files = RedisTls(directory / "redis.crt", directory / "redis.key", directory / "ca.crt")
    ca.cert_pem.write_to_path(str(files.ca))
    issued.private_key_pem.write_to_path(str(files.private_key))
    for index, blob in enumerate(issued.cert_chain_pems):
        blob.write_to_path(str(files.certificate), append=index > 0)
    return files


def run_sums(client: ZeebeClient, process_id: str, count: int) -> list[Any]:
    def one(n: int) -> Any:
        result = client.create_process_instance_with_result(
            process_id, variables={"a": n, "b": 100}, request_timeout=60
        )
        return result.variables["sum"]

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("transport", ["password", "tls"])
def test_redis_with_a_password_and_with_tls_serves_the_poller_and_prefork_workers(
    zeebe_address: str, redis_tls: RedisTls, transport: str
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    server = RedisServer(password=password, tls=redis_tls if transport == "tls" else None)
    with server:
        assert server.url.startswith("rediss://" if transport == "tls" else "redis://")
        # Without the password (or without TLS) the server refuses.
        with pytest.raises(redis.RedisError), redis.Redis(port=server.port, socket_timeout=2) as bare:
            bare.ping()
        env = stack_env(zeebe_address=zeebe_address, redis_url=server.url, pythonpath=[HERE])
        job_type = "secured-sum"
        process_id = f"secured-{transport}-{uuid.uuid4().hex[:8]}"
        with (
            CeleryWorker(APP, [f"zeebe.{job_type}"], env=env, concurrency=2, cwd=HERE) as worker,
            PollerProcess(APP, env=env, args=["--types", job_type], cwd=HERE) as poller,
            ZeebeClient(ZeebeSettings(address=zeebe_address)) as client,
        ):
            client.deploy_resource((f"{process_id}.bpmn", one_task(process_id, job_type)))
            assert run_sums(client, process_id, 6) == [n + 100 for n in range(6)]
            assert "Traceback" not in worker.log() + poller.log()


# -- no secret in anything emitted -----------------------------------------------------------------------


class RedisMonitor:
    """Every command the Redis server runs, as MONITOR shows it, collected in a thread: the Celery
    messages the poller publishes and the workers take, exactly as they travel."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-monitor", daemon=True)

    def __enter__(self) -> RedisMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._client.close()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            with self._client.monitor() as monitor:
                for command in monitor.listen():
                    self.lines.append(str(command["command"]))
                    if self._stop.is_set():
                        return
        except (redis.RedisError, OSError, ValueError):
            return


def decoded_bodies(lines: list[str]) -> list[str]:
    """The base64 bodies of the Celery messages in ``lines``, decoded."""
    found: list[str] = []
    for line in lines:
        for match in re.finditer(r'\\?"body\\?": ?\\?"([A-Za-z0-9+/=]+)\\?"', line):
            try:
                found.append(base64.b64decode(match.group(1)).decode("utf-8", "replace"))
            except ValueError:
                continue
    return found


def http_text(url: str, token: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        with exc:
            return str(exc.read().decode())


def error_text(call: Callable[[], object]) -> str:
    try:
        call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc} {exc!r}"
    return ""


def wait_for(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.engine_inspection
def test_no_secret_appears_in_anything_a_full_run_emits(tmp_path: Path) -> None:
    oauth_secret = f"oauth-secret-{uuid.uuid4().hex}"
    engine_token = f"engine-token-{uuid.uuid4().hex}"
    redis_password = f"redis-pw-{uuid.uuid4().hex}"
    secrets = {"OAuth client secret": oauth_secret, "bearer token": engine_token, "Redis password": redis_password}
    emitted: dict[str, str] = {}

    token_file = tmp_path / "engine.token"
    token_file.write_text(engine_token)
    token_file.chmod(0o600)
    gateway_port, monitoring_port, http_port = free_ports(3)
    engine_command = [
        sys.executable, "-m", "zeebe_celery.cli", "engine", "--log-level", "DEBUG",
        "--port", str(gateway_port), "--monitoring-port", str(monitoring_port), "--token-file", str(token_file),
        "--data-dir", str(tmp_path / "engine-data"),
    ]  # fmt: skip
    address = f"127.0.0.1:{gateway_port}"
    with (
        RedisServer(password=redis_password) as server,
        TokenEndpoint(client_id=CLIENT_ID, client_secret=oauth_secret, access_token=engine_token) as endpoint,
        subprocess.Popen(engine_command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as engine,
        RedisMonitor(server.url) as monitor,
    ):
        assert engine.stdout is not None
        assert " listening on " in engine.stdout.readline()
        oauth = {
            "ZEEBE_CLIENT_ID": CLIENT_ID,
            "ZEEBE_CLIENT_SECRET": oauth_secret,
            "ZEEBE_AUTHORIZATION_SERVER_URL": endpoint.url,
            "ZEEBE_CELERY_LOG_LEVEL": "DEBUG",
        }
        env = stack_env(zeebe_address=address, redis_url=server.url, pythonpath=[HERE]) | oauth
        settings = ZeebeSettings(
            address=address,
            client_id=CLIENT_ID,
            client_secret=SecretStr(oauth_secret),
            authorization_server_url=endpoint.url,
        )
        worker = CeleryWorker(
            APP, ["zeebe.secured-sum", "zeebe.secured-refuse"], env=env, concurrency=2, cwd=HERE, loglevel="DEBUG"
        )
        poller = PollerProcess(APP, env=env, args=["--http-port", str(http_port), "--log-level", "DEBUG"], cwd=HERE)
        try:
            worker.start()
            poller.start()
            with ZeebeClient(settings) as client:
                client.deploy_resource(("sum.bpmn", one_task("secured-sum-process", "secured-sum")))
                client.deploy_resource(("refuse.bpmn", one_task("secured-refuse-process", "secured-refuse")))
                assert run_sums(client, "secured-sum-process", 4) == [100, 101, 102, 103]
                for a in (1, 2):
                    client.create_process_instance("secured-refuse-process", variables={"a": a})
                incidents = f"http://127.0.0.1:{monitoring_port}/incidents"
                wait_for(
                    lambda: len(json.loads(http_text(incidents, engine_token))) == 2,
                    within=60,
                    what="both refusals end in an incident",
                )
                base = f"http://127.0.0.1:{http_port}"
                wait_for(lambda: '"status": "ok"' in http_text(f"{base}/healthz"), within=30, what="healthy")
                emitted["/healthz"] = http_text(f"{base}/healthz")
                emitted["/metrics"] = http_text(f"{base}/metrics")
                emitted["engine /incidents"] = http_text(incidents, engine_token)
                emitted["engine /records"] = http_text(f"http://127.0.0.1:{monitoring_port}/records", engine_token)
                emitted["reprs"] = " ".join(
                    repr(value)
                    for value in (
                        settings,
                        client,
                        load_settings(BridgeSettings, broker_url=server.url, redis_url=server.url),
                        InflightStore.from_url(server.url),
                    )
                )
                emitted["str of settings"] = f"{settings} {settings.model_dump()} {settings.model_dump_json()}"
        finally:
            emitted["poller log"] = poller.log()
            emitted["worker log"] = worker.log()
            poller.cleanup()
            worker.cleanup()
            engine.terminate()
            out, err = engine.communicate(timeout=30)
            emitted["engine output"] = out + err
        emitted["Celery messages (as Redis saw them)"] = "\n".join(monitor.lines)
        emitted["Celery message bodies"] = "\n".join(decoded_bodies(monitor.lines))
        assert any("secured-sum" in body for body in decoded_bodies(monitor.lines)), "the messages were seen"

        # Error texts of the usual mistakes, each naming what is wrong without the secret.
        wrong = ZeebeSettings(
            address=address,
            client_id=CLIENT_ID,
            client_secret=SecretStr(oauth_secret + "-wrong"),
            authorization_server_url=endpoint.url,
        )
        with ZeebeClient(wrong) as refused:
            emitted["refused OAuth"] = error_text(lambda: refused.topology(timeout=5, retry=False))
        with ZeebeClient(ZeebeSettings(address=address)) as anonymous:
            emitted["no token"] = error_text(lambda: anonymous.topology(timeout=5, retry=False))
        bad_redis = server.url.replace(quote(redis_password, safe=""), "not-the-password")
        emitted["wrong Redis password"] = error_text(lambda: InflightStore.from_url(bad_redis).in_flight("x"))
        emitted["bad broker URL"] = error_text(
            lambda: load_settings(BridgeSettings, broker_url=f"redis://:{redis_password}@127.0.0.1:notaport/0")
        )
        emitted["bad OAuth URL"] = error_text(
            lambda: ZeebeSettings(
                address=address,
                client_id=CLIENT_ID,
                client_secret=SecretStr(oauth_secret),
                authorization_server_url="x",
            )
        )
    assert issubclass(ZeebeCeleryError, Exception)

    assert "DEBUG" in emitted["poller log"], "the poller's log was captured at DEBUG"
    assert "DEBUG" in emitted["worker log"], "the worker's log was captured at DEBUG"
    assert "listening on" in emitted["engine output"], "the engine's output was captured"
    leaks = [
        f"the {name} in {where}"
        for where, text in emitted.items()
        for name, secret in secrets.items()
        if secret in text or quote(secret, safe="") in text
    ]
    assert leaks == []
    assert not any(os.fspath(token_file) in text and engine_token in text for text in emitted.values())
