"""The RabbitMQ node the tests start leaves nothing behind: its epmd is its own, and goes with it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from zeebe_celery.stack.process import free_ports
from zeebe_celery.stack.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration


def processes(needle: str) -> list[int]:
    """The live processes whose command line holds ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in command:
            found.append(int(entry.name))
    return found


def test_the_node_and_its_own_epmd_are_gone_once_it_is_removed_and_other_epmds_are_left_alone() -> None:
    (other_port,) = free_ports(1)
    other = subprocess.Popen(["epmd", "-port", str(other_port), "-address", "127.0.0.1"])  # someone else's
    try:
        server = RabbitMQServer()
        with server:
            ours = f"epmd -port {server.epmd_port} "
            node = f"-epmd_port {server.epmd_port} "  # on the command line of the node's beam.smp
            assert processes(node), "the node runs"
            assert len(processes(ours)) == 1
            # A restart stops the node's epmd and starts another on the same port.
            server.stop()
            assert processes(ours) == []
            server.start()
            assert len(processes(ours)) == 1
            assert processes(node)
        assert processes(ours) == []
        assert processes(node) == [], "the node outlived its removal"
        assert other.poll() is None, "an epmd the server did not start was stopped"
    finally:
        other.terminate()
        other.wait(timeout=10)
