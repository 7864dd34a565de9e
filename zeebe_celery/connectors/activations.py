"""The activations of inbound connectors, kept in Redis so they survive worker restarts.

An activation is one connector started for one correlation key. It records its inputs, when it was
created, when its next run is due and the token of the one scheduled run that may execute it: a run whose
token is stale (a duplicate, or one superseded after a restart) does nothing. A lease lock makes sure two
workers never run the same activation at once.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from zeebe_celery.redis_location import RedisLocation, connect

__all__ = ["Activation", "ActivationStore"]

# Deletes the lock only if this run still holds it, so a run that outlived its lease frees nobody else's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class Activation:
    """One inbound connector started for one correlation key."""

    id: str
    connector: str
    correlation_key: str
    message_name: str
    inputs: dict[str, Any]
    created_at: float
    due_at: float
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    process_instance_key: int = 0


class ActivationStore:
    """The activations in one Redis, under ``<namespace>:inbound:*``. Raises redis.RedisError when Redis fails."""

    def __init__(self, client: redis.Redis, *, namespace: str = "zeebe-celery") -> None:
        self._redis = client
        self._key = f"{namespace}:inbound:activations"
        self._lock_prefix = f"{namespace}:inbound:lock:"
        self._sweeper = f"{namespace}:inbound:sweeper"
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str | RedisLocation, **kwargs: Any) -> ActivationStore:
        client = connect(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        return cls(client, **kwargs)

    def close(self) -> None:
        self._redis.close()

    def add(self, activation: Activation) -> bool:
        """Store a new activation; False when one with its id exists (the activating job ran twice)."""
        return bool(self._redis.hsetnx(self._key, activation.id, json.dumps(asdict(activation))))

    def get(self, activation_id: str) -> Activation | None:
        raw = self._redis.hget(self._key, activation_id)
        return Activation(**json.loads(raw)) if raw is not None else None

    def save(self, activation: Activation) -> None:
        self._redis.hset(self._key, activation.id, json.dumps(asdict(activation)))

    def remove(self, activation_id: str) -> None:
        self._redis.hdel(self._key, activation_id)

    def all(self) -> list[Activation]:
        return [Activation(**json.loads(raw)) for raw in self._redis.hvals(self._key)]

    def lock(self, activation_id: str, *, lease: float) -> str | None:
        """Take the activation's run lock for ``lease`` seconds; its token, or None when another run holds it."""
        token = uuid.uuid4().hex
        taken = self._redis.set(self._lock_prefix + activation_id, token, nx=True, px=max(1, int(lease * 1000)))
        return token if taken else None

    def unlock(self, activation_id: str, token: str) -> None:
        self._release(keys=[self._lock_prefix + activation_id], args=[token])

    def claim_sweeps(self, token: str) -> None:
        """Make ``token`` the one sweep chain that runs; sweeps carrying another token stop."""
        self._redis.set(self._sweeper, token)

    def sweeps_token(self) -> str | None:
        raw = self._redis.get(self._sweeper)
        return raw.decode() if isinstance(raw, bytes) else raw

    @staticmethod
    def now() -> float:
        return time.time()
