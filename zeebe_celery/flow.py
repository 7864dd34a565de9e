"""Flow control: the per-type bound on jobs that are queued or running, shared by every poller.

Each job type has one Redis sorted set. Its members are the jobs in flight (``key:deadline``, so a late
worker of an earlier activation cannot free the slot of the job's next one), scored with the deadline,
plus short-lived reservations a poller holds while an ActivateJobs call is open. A poller reserves
before it activates, so several pollers together never exceed the bound; a worker removes the job once
it has reported. Every member also leaves by itself when its score passes,
so a crashed poller or a killed worker cannot leak a slot: a job whose deadline passed belongs to
Zeebe again anyway.

A poller that finds too few slots free waits on the type's wake-up list, and says in the type's ``need`` hash
how many it waits for (the fewest any poller asked for, for a few seconds): a release wakes it only once that
many are free, so a saturated type costs the poller one wake-up per activation, not one per finished job.

A reservation names the store that made it, and each poller's store says it is alive (a sorted set of
owners, scored with the time their word lapses: :data:`OWNER_TTL` after the last reservation or
:meth:`InflightStore.heartbeat`). The next reservation by anyone drops the reservations of owners that
went silent, so a poller killed in a long poll holds its slots for seconds, not for the whole hold.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis

from zeebe_celery.redis_location import RedisLocation, connect, refuse_cluster

__all__ = ["OWNER_TTL", "RETRY_RELEASE", "InflightStore", "Reservation"]

logger = logging.getLogger(__name__)

# How long a store's word that it is alive lasts; pollers renew it every few seconds.
OWNER_TTL = 6.0
# How often a release that failed is tried again.
RETRY_RELEASE = 0.5
# How long a waiting poller's word on how many free slots it needs lasts (it renews it while it waits).
NEED_TTL = 3.0

# KEYS[1] set, KEYS[2] owners, KEYS[3] need, KEYS[4] wake-up list, ARGV: now_ms, bound, want, hold_until_ms,
# token ("owner/random"), least, owner, owner_alive_until_ms, need_ttl_ms
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local owner = string.match(member, '^r:([^/:]+)/')
  if owner and not redis.call('ZSCORE', KEYS[2], owner) then
    redis.call('ZREM', KEYS[1], member)
  end
end
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local n = math.min(free, tonumber(ARGV[3]))
if n <= 0 or n < tonumber(ARGV[6]) then
  local least = math.max(math.min(tonumber(ARGV[6]), tonumber(ARGV[3])), 1)
  local known = tonumber(redis.call('HGET', KEYS[3], 'least'))
  if not known or least <= known then
    redis.call('HSET', KEYS[3], 'bound', ARGV[2], 'least', least)
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
  return 0
end
-- Wake-ups pushed while nobody waited are stale now.
redis.call('DEL', KEYS[4])
local args = {}
for i = 1, n do
  args[#args + 1] = ARGV[4]
  args[#args + 1] = 'r:' .. ARGV[5] .. ':' .. i
end
redis.call('ZADD', KEYS[1], unpack(args))
return n
"""

# KEYS[1] set, KEYS[2] wake-up list, ARGV: token, reserved, "key:deadline key:deadline ..." (one argument,
# so a batch costs the client one string to encode, not two per job)
_COMMIT = """
local reserved = tonumber(ARGV[2])
for first = 1, reserved, 1000 do
  local gone = {}
  for i = first, math.min(first + 999, reserved) do
    gone[#gone + 1] = 'r:' .. ARGV[1] .. ':' .. i
  end
  redis.call('ZREM', KEYS[1], unpack(gone))
end
local added = 0
local scored = {}
for member, deadline in string.gmatch(ARGV[3], '(%d+:(%d+))') do
  scored[#scored + 1] = deadline
  scored[#scored + 1] = member
  added = added + 1
  if #scored == 1000 then
    redis.call('ZADD', KEYS[1], unpack(scored))
    scored = {}
  end
end
if #scored > 0 then
  redis.call('ZADD', KEYS[1], unpack(scored))
end
local freed = tonumber(ARGV[2]) - added
if freed > 0 then
  redis.call('LPUSH', KEYS[2], freed)
  redis.call('LTRIM', KEYS[2], 0, 63)
end
return added
"""

# KEYS[1] set, KEYS[2] wake-up list, KEYS[3] need, ARGV: job keys
_RELEASE = """
local removed = redis.call('ZREM', KEYS[1], unpack(ARGV))
if removed > 0 then
  local need = redis.call('HMGET', KEYS[3], 'bound', 'least')
  if need[1] and tonumber(need[1]) - redis.call('ZCARD', KEYS[1]) < tonumber(need[2]) then
    return removed  -- the waiting poller needs more free slots than that: no wake-up yet
  end
  redis.call('LPUSH', KEYS[2], removed)
  redis.call('LTRIM', KEYS[2], 0, 63)
end
return removed
"""


def _member(key: int, deadline: int) -> str:
    return f"{key}:{deadline}"


class Reservation:
    """Slots a poller holds for one activation; :meth:`InflightStore.commit` turns them into jobs."""

    __slots__ = ("committed", "count", "job_type", "token")

    def __init__(self, job_type: str, token: str, count: int) -> None:
        self.job_type = job_type
        self.token = token
        self.count = count
        self.committed = False


class InflightStore:
    """The shared in-flight sets in Redis. Raises redis.RedisError when Redis cannot be reached.

    ``clock`` gives the epoch time in seconds that deadlines and holds are measured against; tests pass
    their own to make slots lapse without waiting.
    """

    def __init__(
        self, client: redis.Redis, *, namespace: str = "zeebe-celery", clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._namespace = namespace
        self._clock = clock
        self.owner = uuid.uuid4().hex[:12]
        self._late: dict[str, set[tuple[int, int]]] = {}
        self._late_lock = threading.Lock()
        self._late_thread: threading.Thread | None = None
        self._reserve = client.register_script(_RESERVE)
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str | RedisLocation, **kwargs: Any) -> InflightStore:
        """A store on the Redis ``url`` names (a server, or a master behind Sentinel); raises ConfigurationError
        for a URL that names none."""
        client = connect(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        return cls(client, **kwargs)

    def key(self, job_type: str) -> str:
        return f"{self._namespace}:inflight:{job_type}"

    def _wake_key(self, job_type: str) -> str:
        return f"{self._namespace}:freed:{job_type}"

    def _need_key(self, job_type: str) -> str:
        return f"{self._namespace}:need:{job_type}"

    def _owners_key(self) -> str:
        return f"{self._namespace}:owners"

    def heartbeat(self) -> None:
        """Say this store's owner is alive for :data:`OWNER_TTL` more seconds, so its reservations stand;
        a poller says so every few seconds. Never raises: while Redis is away nobody can take them either."""
        alive_until_ms = int((self._clock() + OWNER_TTL) * 1000)
        try:
            self._redis.zadd(self._owners_key(), {self.owner: alive_until_ms})
        except redis.RedisError:
            logger.debug("could not renew the reservations of %s", self.owner, exc_info=True)

    def reserve(self, job_type: str, *, want: int, bound: int, hold: float, least: int = 1) -> Reservation | None:
        """Reserve up to ``want`` slots under ``bound`` for ``hold`` seconds; None when fewer than ``least``
        are free (the next :meth:`wait_for_free_slot` then wakes once ``least`` are)."""
        now_ms = int(self._clock() * 1000)
        token = f"{self.owner}/{uuid.uuid4().hex[:16]}"
        alive_until_ms = now_ms + int(OWNER_TTL * 1000)
        args: list[str | int] = [
            now_ms,
            bound,
            want,
            now_ms + int(hold * 1000),
            token,
            least,
            self.owner,
            alive_until_ms,
            int(NEED_TTL * 1000),
        ]
        keys = [self.key(job_type), self._owners_key(), self._need_key(job_type), self._wake_key(job_type)]
        count = int(self._reserve(keys=keys, args=args))
        return Reservation(job_type, token, count) if count > 0 else None

    def commit(self, reservation: Reservation, jobs: Iterable[tuple[int, int]]) -> None:
        """Replace the reservation by the activated jobs, given as (key, deadline in epoch ms).

        Unused slots are freed. Calling it twice for one reservation is a no-op.
        """
        if reservation.committed:
            return
        members = " ".join(_member(key, deadline) for key, deadline in jobs)
        args: list[Any] = [reservation.token, reservation.count, members]
        self._commit(keys=[self.key(reservation.job_type), self._wake_key(reservation.job_type)], args=args)
        reservation.committed = True

    def release(self, job_type: str, jobs: Iterable[tuple[int, int]]) -> int:
        """Free the slots of jobs, given as (key, deadline), that are finished or given back.

        Returns how many were held; a slot already freed (or lapsed) counts nothing, so release is
        idempotent.
        """
        members = [_member(key, deadline) for key, deadline in jobs]
        if not members:
            return 0
        keys = [self.key(job_type), self._wake_key(job_type), self._need_key(job_type)]
        return int(self._release(keys=keys, args=members))

    def release_later(self, job_type: str, jobs: Iterable[tuple[int, int]]) -> None:
        """Free these slots from a background thread, trying every :data:`RETRY_RELEASE` seconds until it
        works (Redis is back) or their deadlines pass (then they have lapsed by themselves).

        For a release that just failed: with Redis persistent, the slots would otherwise stay taken until
        the jobs' deadlines, capacity lost for minutes after a blink of Redis.
        """
        with self._late_lock:
            self._late.setdefault(job_type, set()).update(jobs)
            if self._late_thread is None or not self._late_thread.is_alive():
                self._late_thread = threading.Thread(target=self._release_late, name="late-releases", daemon=True)
                self._late_thread.start()

    def _release_late(self) -> None:
        while True:
            time.sleep(RETRY_RELEASE)
            now_ms = self._clock() * 1000
            with self._late_lock:
                for jobs in self._late.values():
                    jobs.difference_update({job for job in jobs if job[1] <= now_ms})
                pending = {job_type: set(jobs) for job_type, jobs in self._late.items() if jobs}
                if not pending:
                    self._late.clear()
                    return
            for job_type, jobs in pending.items():
                try:
                    self.release(job_type, jobs)
                except redis.RedisError:
                    continue
                with self._late_lock:
                    self._late[job_type].difference_update(jobs)
                logger.info("freed %d %s slot(s) whose release had failed", len(jobs), job_type)

    def in_flight(self, job_type: str) -> int:
        """Live members: jobs in flight plus open reservations."""
        now_ms = int(self._clock() * 1000)
        return int(self._redis.zcount(self.key(job_type), f"({now_ms}", "+inf"))

    def wait_for_free_slot(self, job_type: str, timeout: float) -> None:
        """Block until slots of ``job_type`` are freed somewhere (as many as the last failed :meth:`reserve`
        wanted at least, of any poller's), or ``timeout`` seconds pass."""
        # BLPOP wants whole seconds on old servers; below one second a short sleep is as good.
        if timeout >= 1:
            self._redis.blpop([self._wake_key(job_type)], timeout=int(timeout))
        else:
            time.sleep(timeout)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def refuse_cluster(self, setting: str) -> None:
        """Raise ConfigurationError, naming ``setting``, when this Redis is a Redis Cluster node (see
        :func:`zeebe_celery.redis_location.refuse_cluster`); redis.RedisError when it cannot be reached."""
        refuse_cluster(self._redis, setting)

    def close(self) -> None:
        self._redis.close()
