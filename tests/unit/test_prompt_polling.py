"""A worker without an event loop (gevent, eventlet pools) takes the next message soon after a pool slot frees,
instead of seconds later, while worker_disable_prefetch pauses its pops: its drains end early then."""

from __future__ import annotations

import math
import threading
import time
import uuid
from typing import Any

import pytest
from kombu import Connection, Consumer, Producer, Queue

from zeebe_celery.transport import PAUSED_RECHECK, SentinelTransport, Transport, _PromptPoller


def delay_after_a_slot_frees(redis_url: str, transport: Any) -> float:
    """Seconds from a slot freeing to the delivery of the message that waited for it, as a worker without an
    event loop consumes (drain_events), its pops paused while the pool is full."""
    queue = Queue(f"prompt-{uuid.uuid4().hex[:8]}")
    with Connection(redis_url, transport=transport) as connection:
        channel = connection.channel()
        delivered: list[float] = []
        consumer = Consumer(channel, queues=[queue], accept=["json"])
        consumer.register_callback(lambda body, message: delivered.append(time.monotonic()))
        consumer.consume()
        free = threading.Event()
        can_consume = channel.qos.can_consume
        channel.qos.can_consume = lambda: free.is_set() and can_consume()  # the pool is full until free
        Producer(channel).publish({"job": 1}, routing_key=queue.name, declare=[queue], serializer="json")
        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=0.3)  # paused: the job waits in Redis
        assert delivered == []
        freed_at: list[float] = []

        def free_a_slot() -> None:  # while the consumer already waits for its next message
            freed_at.append(time.monotonic())
            free.set()

        threading.Timer(0.2, free_a_slot).start()
        deadline = time.monotonic() + 3.0
        try:
            while not delivered and time.monotonic() < deadline:  # as Celery's loop without an event loop
                try:
                    connection.drain_events(timeout=2.0)
                except TimeoutError:
                    continue
        finally:
            channel.close()
        if not delivered:
            return math.inf
    return delivered[0] - freed_at[0]


def test_a_message_is_taken_within_a_moment_of_a_slot_freeing(redis_url: str) -> None:
    assert delay_after_a_slot_frees(redis_url, Transport) < PAUSED_RECHECK + 0.2


def test_kombus_own_transport_sleeps_out_its_wait_instead(redis_url: str) -> None:
    assert delay_after_a_slot_frees(redis_url, "redis") >= 1.0


def test_the_bridges_transports_poll_promptly(redis_url: str) -> None:
    for transport in (Transport, SentinelTransport):
        with Connection(redis_url, transport=transport) as connection:
            assert isinstance(connection.transport.cycle, _PromptPoller)
