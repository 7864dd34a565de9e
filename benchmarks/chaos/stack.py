"""The real stack of a chaos scenario, and the faults it can suffer.

The engine runs as a process of its own on a data directory (:mod:`benchmarks.engine_proc`), with fixed
ports so it can be killed and started again where everyone expects it; Redis is a real redis-server on a
fixed port; the bridge is the ``zeebe-celery poller`` command and ``celery worker`` with the prefork pool,
on the app of :mod:`benchmarks.chaos.app`. With ``proxy`` the bridge reaches the engine through a
:class:`CutProxy`; the load (instances created at a steady rate) always goes to the engine directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import redis

from benchmarks.chaos.proxy import CutProxy
from benchmarks.engine_proc import EngineProcess
from benchmarks.fault_control import FaultsClient
from benchmarks.load import Load
from benchmarks.procs import REPO
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env
from zeebe_celery.stack.process import free_ports, make_workdir, remove_workdir
from zeebe_celery.stack.redis import RedisServer

__all__ = ["APP", "ChaosStack", "Plan"]

APP = "benchmarks.chaos.app"
# The poller's long poll; a reservation is held this long plus the poller's slack of 15 s.
POLL_TIMEOUT = 5.0
RESERVATION_HOLD = POLL_TIMEOUT + 15.0


@dataclass(frozen=True)
class Plan:
    """What a scenario runs: the load, the fleet and the bridge's options."""

    name: str
    instances: int = 200
    rate: float = 5.0
    """Instances created per second, on schedule."""
    job_timeout: float = 6.0
    pollers: int = 1
    workers: int = 1
    concurrency: int = 2
    max_jobs: int = 16
    work: float = 0.02
    """Seconds each handler run takes."""
    keepalive: float | None = None
    """ZEEBE_KEEP_ALIVE of the bridge, in seconds; its default when None."""
    proxy: bool = False
    drain: float = 60.0
    """Longest wait for the last instances to end, once all are created."""

    @property
    def job_type(self) -> str:
        return f"chaos-{self.name}"


class ChaosStack:
    """Engine, Redis, optional proxy, pollers and workers; every process stopped and every file removed on exit."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.dir = make_workdir("zeebe-celery-chaos-")
        self.journal = self.dir / "journal"
        self.journal.mkdir()
        self._grpc_port, self._monitor_port, self._faults_port, self._redis_port = free_ports(4)
        self.engine: EngineProcess | None = None
        self.engine_generation = 0
        self.redis: RedisServer | None = None
        self.redis_aof = False
        self.proxy: CutProxy | None = None
        self.pollers: list[PollerProcess] = []
        self.workers: list[CeleryWorker] = []
        self.retired: list[PollerProcess | CeleryWorker] = []
        self.events: list[tuple[float, str]] = []
        self.poller_kills: list[float] = []
        self.faults = FaultsClient(self._faults_port)
        self.load: Load | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start_engine()
            self.redis = RedisServer(port=self._redis_port).start()
            if self.plan.proxy:
                self.proxy = CutProxy(target_port=self._grpc_port).start()
            self.load = Load(self.engine_address)
            self.load.deploy(self.plan.job_type)
            self.workers = [self._worker() for _ in range(self.plan.workers)]
            self.pollers = [self._poller() for _ in range(self.plan.pollers)]
            for process in [*self.workers, *self.pollers]:
                process.start(wait=False)
            for process in [*self.workers, *self.pollers]:
                process.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        keep = os.environ.get("CHAOS_KEEP")
        for process in [*self.pollers, *self.workers, *self.retired]:
            process.stop()
            if keep:
                with contextlib.suppress(Exception):
                    (self.dir / f"{process.name}-{process.pid}.log").write_text(process.log())
            process.cleanup()
        if self.load is not None:
            self.load.close()
        if self.proxy is not None:
            self.proxy.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.engine is not None:
            self.engine.cleanup()
        if keep:
            print(f"chaos: the run's files are kept in {self.dir}", file=sys.stderr)
        else:
            remove_workdir(self.dir)

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def engine_address(self) -> str:
        return f"127.0.0.1:{self._grpc_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self._monitor_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self._redis_port}/0"

    @property
    def queue(self) -> str:
        return f"zeebe.{self.plan.job_type}"

    @property
    def inflight_key(self) -> str:
        return f"zeebe-celery:inflight:{self.plan.job_type}"

    def env(self) -> dict[str, str]:
        plan = self.plan
        address = self.proxy.address if self.proxy is not None else self.engine_address
        env = stack_env(
            zeebe_address=address,
            redis_url=self.redis_url,
            job_timeout=str(plan.job_timeout),
            max_jobs=str(plan.max_jobs),
            poll_timeout=str(POLL_TIMEOUT),
        )
        env.update(CHAOS_TYPE=plan.job_type, CHAOS_WORK=str(plan.work), CHAOS_JOURNAL=str(self.journal))
        if plan.keepalive is not None:
            env["ZEEBE_KEEP_ALIVE"] = str(plan.keepalive)
        return env

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)

    # -- processes -----------------------------------------------------------------------------------

    def start_engine(self) -> None:
        self.engine = EngineProcess(
            port=self._grpc_port,
            monitoring_port=self._monitor_port,
            data_dir=self.dir / "engine",
            faults_port=self._faults_port,
        ).start()
        self.engine_generation += 1

    def _worker(self) -> CeleryWorker:
        return CeleryWorker(APP, [self.queue], env=self.env(), concurrency=self.plan.concurrency, cwd=REPO)

    def _poller(self) -> PollerProcess:
        return PollerProcess(APP, env=self.env(), args=["--types", self.plan.job_type], cwd=REPO)

    def note(self, what: str) -> None:
        self.events.append((time.time(), what))

    # -- faults --------------------------------------------------------------------------------------

    def kill_worker(self, index: int = 0, *, replace: bool = False) -> None:
        """kill -9 the worker's whole process group (main process and pool); start a new one if asked."""
        worker = self.workers.pop(index)
        _kill_group(worker.process)
        self.retired.append(worker)
        self.note(f"worker {worker.pid} killed with SIGKILL")
        if replace:
            self.workers.append(self._worker().start())
            self.note("a new worker started")

    def kill_poller(self, index: int = 0, *, replace: bool = False) -> None:
        poller = self.pollers.pop(index)
        _kill_group(poller.process)
        self.poller_kills.append(time.time())
        self.retired.append(poller)
        self.note(f"poller {poller.pid} killed with SIGKILL")
        if replace:
            self.pollers.append(self._poller().start())
            self.note("a new poller started")

    def kill_engine(self, *, down_for: float = 1.0) -> None:
        """kill -9 the engine, and start it again on its data directory after ``down_for`` seconds."""
        assert self.engine is not None
        _kill_group(self.engine.process)
        self.engine.cleanup()
        self.note("engine killed with SIGKILL")
        time.sleep(down_for)
        self.start_engine()
        self.note("engine started again on its data directory")

    def restart_redis(self, *, aof: bool) -> None:
        """Stop Redis and start it again on its port: with AOF it keeps its data across the restart (if the
        one stopped had AOF too); without, it comes back empty."""
        assert self.redis is not None
        kept = self.redis_aof and aof
        before = self._holdings()
        self.redis.stop()
        args = ["--appendonly", "yes", "--dir", str(self.dir / "redis")] if aof else []
        if aof:
            (self.dir / "redis").mkdir(exist_ok=True)
        self.redis = RedisServer(port=self._redis_port, args=args).start()
        self.redis_aof = aof
        self.note(
            f"Redis restarted ({'data kept, AOF' if kept else 'data lost'}): queued messages and flow-control "
            f"members {before} before, {self._holdings()} after"
        )

    def _holdings(self) -> tuple[int, int]:
        """(messages in the job type's queue, members of its flow-control set) in Redis now."""
        client = self.redis_client()
        try:
            return int(client.llen(self.queue)), int(client.zcard(self.inflight_key))
        finally:
            client.close()

    def push_raw(self, messages: list[bytes]) -> None:
        """LPUSH raw messages onto the job type's queue, as a stray producer would."""
        client = self.redis_client()
        try:
            client.lpush(self.queue, *messages)
        finally:
            client.close()

    def alive_workers(self) -> list[CeleryWorker]:
        return [w for w in self.workers if w.process.poll() is None]

    def stop_pollers(self) -> None:
        """SIGTERM every poller and wait: they end their long polls and free their reservations."""
        for poller in self.pollers:
            poller.stop()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
