"""A client used before a fork keeps working on both sides of it, as Celery's prefork pool needs.

The child opens its own channel on first use (the client keys its channel on the process id) and
never touches or closes the parent's. With grpcio 1.85 this holds with GRPC_ENABLE_FORK_SUPPORT
unset (the default) or set to 1; set to 0, a child of a process that has made any gRPC call hangs
even on a brand-new channel.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import traceback

import pytest

from zeebe_celery.errors import NotFoundError
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

CHILD_DEADLINE = 30.0


def wait_for_child(pid: int, *, timeout: float) -> int:
    """The exit code of child ``pid``; kill it and fail if it runs longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child {pid} did not finish within {timeout}s")


def assert_finished(client: ZeebeClient, instance_keys: list[int]) -> None:
    """Every instance has run to its end: none is left to cancel."""
    for key in instance_keys:
        with pytest.raises(NotFoundError):
            client.cancel_process_instance(key)


def test_forked_child_completes_jobs_while_the_parent_keeps_its_own_channel(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    # Used before the fork: the parent's channel is open and connected.
    instances = [
        zeebe_client.create_process_instance(unique("one-task"), variables={"n": n}).process_instance_key
        for n in range(6)
    ]
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: report through the pipe and exit, never return into pytest
        code = 1
        try:
            os.close(read_end)
            signal.alarm(int(CHILD_DEADLINE))
            done = []
            for job in jobs.activate(unique("test-work"), count=3):
                zeebe_client.complete_job(job.key, {"completed_by": "child"})
                done.append(job.key)
            zeebe_client.close()  # closes only what the child opened
            report = {"pid": os.getpid(), "completed": done}
            code = 0
        except BaseException:
            report = {"error": traceback.format_exc()}
        finally:
            with os.fdopen(write_end, "w") as pipe:
                json.dump(report, pipe)
            os._exit(code)

    os.close(write_end)
    # The parent works on after the fork, concurrently with the child, on the channel it had.
    mine = []
    for job in jobs.activate(unique("test-work"), count=3):
        zeebe_client.complete_job(job.key, {"completed_by": "parent"})
        mine.append(job.key)
    exit_code = wait_for_child(pid, timeout=CHILD_DEADLINE)
    with os.fdopen(read_end) as pipe:
        written = pipe.read()
    report = json.loads(written) if written else {"error": f"the child reported nothing; exit code {exit_code}"}

    assert exit_code == 0, report.get("error")
    assert report["pid"] == pid != os.getpid()
    assert len(report["completed"]) == 3
    assert set(report["completed"]).isdisjoint(mine)
    assert_finished(zeebe_client, instances)
    # The child's exit did not take the parent's channel with it.
    assert zeebe_client.topology().is_healthy


_pool_client: ZeebeClient | None = None


def _adopt_client(client: ZeebeClient) -> None:
    global _pool_client
    _pool_client = client


def _complete_in_pool_worker(job_key: int) -> int:
    assert _pool_client is not None
    _pool_client.complete_job(job_key, {"completed_in": os.getpid()})
    return os.getpid()


def test_jobs_activated_in_the_parent_are_completed_by_forked_pool_workers(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    instances = [zeebe_client.create_process_instance(unique("one-task")).process_instance_key for _ in range(8)]
    activated = jobs.activate(unique("test-work"), count=8)

    # Like Celery's prefork pool: workers forked from a process that already talked to the gateway.
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=2, initializer=_adopt_client, initargs=(zeebe_client,)) as pool:
        pending = pool.map_async(_complete_in_pool_worker, [job.key for job in activated], chunksize=1)
        pids = pending.get(timeout=CHILD_DEADLINE)
        pool.close()
        pool.join()

    assert len(pids) == 8
    assert os.getpid() not in pids
    assert_finished(zeebe_client, instances)
    assert zeebe_client.topology().is_healthy
