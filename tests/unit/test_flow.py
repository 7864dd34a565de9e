"""Flow control on a real Redis: the per-type bound holds across pollers, slots are freed exactly once,
and nothing leaks past a deadline."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator

import pytest
import redis

from zeebe_celery.flow import NEED_TTL, OWNER_TTL, RETRY_RELEASE, InflightStore, Reservation

JOB_TYPE = "charge-card"

StoreFactory = Callable[[], InflightStore]


class Clock:
    """The stores' time: the real time plus however far a test has moved it on."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead

    def advance(self, seconds: float) -> None:
        self.ahead += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def namespace() -> str:
    return f"flow-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def new_store(redis_url: str, namespace: str, clock: Clock) -> Iterator[StoreFactory]:
    """Makes stores on one namespace, as several pollers and workers each have their own."""
    stores: list[InflightStore] = []

    def make() -> InflightStore:
        store = InflightStore.from_url(redis_url, namespace=namespace, clock=clock)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(new_store: StoreFactory) -> InflightStore:
    return new_store()


def in_ms(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


def granted(reservation: Reservation | None) -> int:
    return 0 if reservation is None else reservation.count


def wake_ups(raw: redis.Redis, namespace: str) -> list[int]:
    return [int(x) for x in raw.lrange(f"{namespace}:freed:{JOB_TYPE}", 0, -1)]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- reserve -------------------------------------------------------------------------------------------


def test_reserve_grants_at_most_the_free_slots(store: InflightStore) -> None:
    first = store.reserve(JOB_TYPE, want=3, bound=5, hold=30)
    second = store.reserve(JOB_TYPE, want=5, bound=5, hold=30)

    assert granted(first) == 3
    assert granted(second) == 2
    assert store.in_flight(JOB_TYPE) == 5


def test_reserve_on_a_full_type_returns_none(store: InflightStore) -> None:
    store.reserve(JOB_TYPE, want=2, bound=2, hold=30)

    assert store.reserve(JOB_TYPE, want=1, bound=2, hold=30) is None
    assert store.in_flight(JOB_TYPE) == 2


def test_job_types_have_separate_bounds(store: InflightStore) -> None:
    store.reserve(JOB_TYPE, want=2, bound=2, hold=30)

    other = store.reserve("ship-parcel", want=2, bound=2, hold=30)

    assert granted(other) == 2
    assert store.in_flight("ship-parcel") == 2


def test_reservations_of_several_pollers_never_exceed_the_bound(new_store: StoreFactory) -> None:
    bound = 10
    pollers = [new_store() for _ in range(8)]
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(pollers))

    def poll(store: InflightStore) -> None:
        start.wait()
        for _ in range(20):
            reservation = store.reserve(JOB_TYPE, want=3, bound=bound, hold=30)
            if reservation is not None:
                with lock:
                    granted.append(reservation.count)

    threads = [threading.Thread(target=poll, args=(p,)) for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert sum(granted) == bound
    assert pollers[0].in_flight(JOB_TYPE) == bound


def test_jobs_of_several_pollers_and_their_releases_keep_within_the_bound(new_store: StoreFactory) -> None:
    bound = 6
    pollers = [new_store() for _ in range(4)]
    observed: list[int] = []
    start = threading.Barrier(len(pollers))
    keys = iter(range(1, 100_000))
    keys_lock = threading.Lock()

    def poll(store: InflightStore) -> None:
        start.wait()
        for _ in range(30):
            reservation = store.reserve(JOB_TYPE, want=2, bound=bound, hold=30)
            if reservation is None:
                continue
            with keys_lock:
                jobs = [(next(keys), in_ms(60)) for _ in range(reservation.count)]
            store.commit(reservation, jobs)
            observed.append(store.in_flight(JOB_TYPE))
            store.release(JOB_TYPE, jobs)

    threads = [threading.Thread(target=poll, args=(p,)) for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert observed
    assert max(observed) <= bound
    assert pollers[0].in_flight(JOB_TYPE) == 0


# -- commit --------------------------------------------------------------------------------------------


def test_commit_replaces_the_reservation_with_the_jobs_and_frees_unused_slots(
    store: InflightStore, raw: redis.Redis, namespace: str
) -> None:
    reservation = store.reserve(JOB_TYPE, want=5, bound=5, hold=30)
    assert reservation is not None

    first = (1, in_ms(60))
    store.commit(reservation, [first, (2, in_ms(60))])

    assert store.in_flight(JOB_TYPE) == 2
    assert wake_ups(raw, namespace) == [3]
    assert sorted(m.decode().split(":")[0] for m in raw.zrange(store.key(JOB_TYPE), 0, -1)) == ["1", "2"]


def test_commit_of_no_jobs_frees_the_whole_reservation(store: InflightStore, raw: redis.Redis, namespace: str) -> None:
    reservation = store.reserve(JOB_TYPE, want=4, bound=4, hold=30)
    assert reservation is not None

    store.commit(reservation, [])

    assert store.in_flight(JOB_TYPE) == 0
    assert wake_ups(raw, namespace) == [4]


def test_commit_that_uses_every_slot_wakes_nobody(store: InflightStore, raw: redis.Redis, namespace: str) -> None:
    reservation = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None

    first = (1, in_ms(60))
    store.commit(reservation, [first, (2, in_ms(60))])

    assert store.in_flight(JOB_TYPE) == 2
    assert wake_ups(raw, namespace) == []


def test_commit_of_thousands_of_jobs_takes_their_slots_and_frees_the_rest(
    store: InflightStore, raw: redis.Redis, namespace: str
) -> None:
    # The script removes the reservation and adds the jobs in chunks of a thousand arguments (Lua's stack
    # holds some eight thousand).
    reservation = store.reserve(JOB_TYPE, want=3000, bound=3000, hold=30)
    assert reservation is not None
    assert reservation.count == 3000

    store.commit(reservation, [(key, in_ms(60)) for key in range(1, 2501)])

    assert store.in_flight(JOB_TYPE) == 2500
    assert wake_ups(raw, namespace) == [500]
    members = raw.zrange(store.key(JOB_TYPE), 0, -1)
    assert not [m for m in members if m.startswith(b"r:")]
    assert sorted(int(m.decode().split(":")[0]) for m in members) == list(range(1, 2501))


def test_committing_a_reservation_twice_changes_nothing(store: InflightStore) -> None:
    reservation = store.reserve(JOB_TYPE, want=3, bound=3, hold=30)
    assert reservation is not None
    store.commit(reservation, [(1, in_ms(60))])

    store.commit(reservation, [(2, in_ms(60)), (3, in_ms(60))])

    assert reservation.committed
    assert store.in_flight(JOB_TYPE) == 1


def test_freed_slots_can_be_reserved_again(store: InflightStore) -> None:
    reservation = store.reserve(JOB_TYPE, want=3, bound=3, hold=30)
    assert reservation is not None
    store.commit(reservation, [(1, in_ms(60))])

    again = store.reserve(JOB_TYPE, want=3, bound=3, hold=30)

    assert granted(again) == 2


# -- release -------------------------------------------------------------------------------------------


def test_release_frees_the_jobs_slot_and_wakes_a_waiter(store: InflightStore, raw: redis.Redis, namespace: str) -> None:
    reservation = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    store.commit(reservation, [(1, deadline), (2, deadline)])

    freed = store.release(JOB_TYPE, [(1, deadline)])

    assert freed == 1
    assert store.in_flight(JOB_TYPE) == 1
    assert wake_ups(raw, namespace) == [1]


def test_release_is_idempotent(store: InflightStore, raw: redis.Redis, namespace: str) -> None:
    reservation = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    store.commit(reservation, [(1, deadline), (2, deadline)])
    store.release(JOB_TYPE, [(1, deadline)])

    again = store.release(JOB_TYPE, [(1, deadline)])

    assert again == 0
    assert store.in_flight(JOB_TYPE) == 1
    assert wake_ups(raw, namespace) == [1]


def test_a_poller_waiting_for_several_slots_is_woken_once_that_many_are_free(
    new_store: StoreFactory, raw: redis.Redis, namespace: str
) -> None:
    poller, worker = new_store(), new_store()
    reservation = poller.reserve(JOB_TYPE, want=4, bound=4, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    poller.commit(reservation, [(key, deadline) for key in range(1, 5)])
    assert poller.reserve(JOB_TYPE, want=4, bound=4, hold=30, least=3) is None

    worker.release(JOB_TYPE, [(1, deadline)])
    worker.release(JOB_TYPE, [(2, deadline)])
    assert wake_ups(raw, namespace) == []  # two free: not yet what the poller waits for
    worker.release(JOB_TYPE, [(3, deadline)])

    assert wake_ups(raw, namespace) == [1]
    assert granted(poller.reserve(JOB_TYPE, want=4, bound=4, hold=30, least=3)) == 3
    assert wake_ups(raw, namespace) == []  # a reservation drops the wake-ups nobody waited for


def test_the_fewest_slots_any_waiting_poller_needs_decides_the_wake_up(
    new_store: StoreFactory, raw: redis.Redis, namespace: str
) -> None:
    batching, streaming, worker = new_store(), new_store(), new_store()
    reservation = batching.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    batching.commit(reservation, [(1, deadline), (2, deadline)])
    assert streaming.reserve(JOB_TYPE, want=1, bound=2, hold=30) is None
    assert batching.reserve(JOB_TYPE, want=2, bound=2, hold=30, least=2) is None

    worker.release(JOB_TYPE, [(1, deadline)])

    assert wake_ups(raw, namespace) == [1]


def test_a_waiting_pollers_need_lapses_so_releases_wake_again(
    new_store: StoreFactory, raw: redis.Redis, namespace: str
) -> None:
    poller, worker = new_store(), new_store()
    reservation = poller.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    poller.commit(reservation, [(1, deadline), (2, deadline)])
    assert poller.reserve(JOB_TYPE, want=2, bound=2, hold=30, least=2) is None

    assert 0 < raw.pttl(f"{namespace}:need:{JOB_TYPE}") <= NEED_TTL * 1000
    raw.delete(f"{namespace}:need:{JOB_TYPE}")  # as it lapses NEED_TTL after the poller stopped asking
    worker.release(JOB_TYPE, [(1, deadline)])

    assert wake_ups(raw, namespace) == [1]


def test_late_release_of_an_earlier_activation_does_not_free_the_new_one(store: InflightStore) -> None:
    first_deadline, second_deadline = in_ms(60), in_ms(120)
    reservation = store.reserve(JOB_TYPE, want=1, bound=1, hold=30)
    assert reservation is not None
    store.commit(reservation, [(7, second_deadline)])

    freed = store.release(JOB_TYPE, [(7, first_deadline)])

    assert freed == 0
    assert store.in_flight(JOB_TYPE) == 1
    assert store.release(JOB_TYPE, [(7, second_deadline)]) == 1


def test_release_of_nothing_is_a_no_op(store: InflightStore) -> None:
    assert store.release(JOB_TYPE, []) == 0


def test_a_worker_with_its_own_store_frees_a_pollers_job(new_store: StoreFactory) -> None:
    poller, worker = new_store(), new_store()
    reservation = poller.reserve(JOB_TYPE, want=1, bound=1, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    poller.commit(reservation, [(5, deadline)])

    assert worker.release(JOB_TYPE, [(5, deadline)]) == 1
    assert poller.in_flight(JOB_TYPE) == 0


# -- lapsing -------------------------------------------------------------------------------------------


def test_a_job_slot_lapses_at_the_jobs_deadline(store: InflightStore, clock: Clock) -> None:
    reservation = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    store.commit(reservation, [(1, in_ms(0.3)), (2, in_ms(60))])
    assert store.in_flight(JOB_TYPE) == 2

    clock.advance(0.4)

    assert store.in_flight(JOB_TYPE) == 1
    again = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert granted(again) == 1


def test_a_reservation_lapses_after_its_hold_time(store: InflightStore, clock: Clock) -> None:
    store.reserve(JOB_TYPE, want=2, bound=2, hold=0.3)
    assert store.reserve(JOB_TYPE, want=1, bound=2, hold=30) is None

    clock.advance(0.4)

    assert store.in_flight(JOB_TYPE) == 0
    again = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert granted(again) == 2


def test_the_reservation_of_a_poller_gone_silent_is_dropped_by_the_next_reservation(
    new_store: StoreFactory, clock: Clock
) -> None:
    killed, survivor = new_store(), new_store()
    assert granted(killed.reserve(JOB_TYPE, want=4, bound=4, hold=60)) == 4
    assert survivor.reserve(JOB_TYPE, want=4, bound=4, hold=60) is None

    clock.advance(OWNER_TTL + 0.5)

    assert granted(survivor.reserve(JOB_TYPE, want=4, bound=4, hold=60)) == 4


def test_a_poller_that_keeps_its_heartbeat_keeps_its_reservation(new_store: StoreFactory, clock: Clock) -> None:
    polling, other = new_store(), new_store()
    assert granted(polling.reserve(JOB_TYPE, want=4, bound=4, hold=60)) == 4

    for _ in range(3):
        clock.advance(OWNER_TTL * 0.6)
        polling.heartbeat()

    assert other.reserve(JOB_TYPE, want=1, bound=4, hold=60) is None
    assert polling.in_flight(JOB_TYPE) == 4


def test_a_release_that_failed_goes_through_once_redis_answers_again(
    store: InflightStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reservation = store.reserve(JOB_TYPE, want=2, bound=2, hold=30)
    assert reservation is not None
    first = (1, in_ms(60))
    store.commit(reservation, [first, (2, in_ms(60))])
    release = store.release
    refusals = iter([redis.ConnectionError("Redis is away"), redis.ConnectionError("still away")])

    def flaky_release(job_type: str, jobs: Iterable[tuple[int, int]]) -> int:
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return release(job_type, jobs)

    monkeypatch.setattr(store, "release", flaky_release)
    store.release_later(JOB_TYPE, [first])

    deadline = time.monotonic() + 10 * RETRY_RELEASE
    while store.in_flight(JOB_TYPE) != 1:
        assert time.monotonic() < deadline, "the failed release was never tried again"
        time.sleep(0.05)


def test_a_failed_release_past_its_deadline_is_dropped_not_retried(store: InflightStore, clock: Clock) -> None:
    calls: list[object] = []
    store.release_later(JOB_TYPE, [(1, in_ms(0.1))])
    clock.advance(1.0)
    original = store.release
    store.release = lambda job_type, jobs: calls.append(jobs) or original(job_type, jobs)  # type: ignore[method-assign]

    time.sleep(3 * RETRY_RELEASE)

    assert calls == []


# -- waiting -------------------------------------------------------------------------------------------


def test_wait_for_free_slot_wakes_when_a_slot_frees(new_store: StoreFactory) -> None:
    poller, worker = new_store(), new_store()
    reservation = poller.reserve(JOB_TYPE, want=1, bound=1, hold=30)
    assert reservation is not None
    deadline = in_ms(60)
    poller.commit(reservation, [(1, deadline)])
    releaser = threading.Timer(0.2, worker.release, args=(JOB_TYPE, [(1, deadline)]))

    started = time.monotonic()
    releaser.start()
    poller.wait_for_free_slot(JOB_TYPE, timeout=5)
    waited = time.monotonic() - started
    releaser.join()

    assert 0.15 <= waited < 2.0
    assert poller.in_flight(JOB_TYPE) == 0


def test_wait_for_free_slot_gives_up_after_its_timeout(store: InflightStore) -> None:
    started = time.monotonic()
    store.wait_for_free_slot(JOB_TYPE, timeout=1)

    assert 0.9 <= time.monotonic() - started < 2.0


def test_wait_for_free_slot_below_a_second_waits_about_that_long(store: InflightStore) -> None:
    started = time.monotonic()
    store.wait_for_free_slot(JOB_TYPE, timeout=0.2)

    assert 0.15 <= time.monotonic() - started < 0.8


# -- outage --------------------------------------------------------------------------------------------


def test_unreachable_redis_raises_a_redis_error() -> None:
    store = InflightStore.from_url(f"redis://127.0.0.1:{unused_port()}/0")
    try:
        with pytest.raises(redis.RedisError):
            store.reserve(JOB_TYPE, want=1, bound=1, hold=30)
        with pytest.raises(redis.RedisError):
            store.release(JOB_TYPE, [(1, in_ms(60))])
    finally:
        store.close()


def test_reserve_waits_for_the_least_number_of_free_slots(store: InflightStore) -> None:
    held = store.reserve("threshold", want=8, bound=8, hold=30)
    assert granted(held) == 8
    assert held is not None
    # Three of the eight finish: fewer free than the four asked for at least, so nothing is reserved.
    deadline = in_ms(30)
    store.commit(held, [(i, deadline) for i in range(5)])
    assert store.reserve("threshold", want=8, bound=8, hold=30, least=4) is None
    assert store.release("threshold", [(4, deadline)]) == 1
    # Now four are free, and all four come in one reservation.
    assert granted(store.reserve("threshold", want=8, bound=8, hold=30, least=4)) == 4
