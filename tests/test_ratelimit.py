"""The crawl's shared request budget: local counting, corrections from the server's headers,
429 waits, and one budget across processes."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from hubanatomy.acquire import ratelimit
from hubanatomy.acquire.ratelimit import SharedBudget


class FakeClock:
    """time.time / time.sleep stand-ins: sleeping moves the clock, nothing waits."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ratelimit.time, "time", fake.time)
    monkeypatch.setattr(ratelimit.time, "sleep", fake.sleep)
    return fake


def headers(remaining: int, reset: int, limit: int | None = None, window: int = 300) -> dict:
    out = {"RateLimit": f'"api";r={remaining};t={reset}'}
    if limit is not None:
        out["RateLimit-Policy"] = f'"fixed window";"api";q={limit};w={window}'
    return out


def test_requests_beyond_the_limit_wait_for_the_next_window(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"api": 3}, window_seconds=10)
    start = clock.now
    for _ in range(3):
        budget.acquire("api")
    assert clock.slept == []
    budget.acquire("api")
    assert clock.now - start >= 10
    assert clock.now - start < 10.1
    assert budget.try_acquire("api") == 0  # the new window has room for two more
    assert budget.try_acquire("api") == 0
    assert budget.try_acquire("api") > 0


def test_server_headers_correct_count_window_and_limit(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"api": 100}, window_seconds=300)
    budget.acquire("api")
    # the server has seen more of our requests (or others') and its window ends in 20 s
    assert budget.observe("api", 200, headers(remaining=0, reset=20, limit=50)) is None
    wait = budget.try_acquire("api")
    assert 19.9 < wait <= 20
    # and the limit it states replaces the configured one
    clock.now += wait
    taken = sum(budget.try_acquire("api") == 0 for _ in range(60))
    assert taken == 50


def test_the_earliest_reset_seen_in_a_window_is_kept(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"api": 10}, window_seconds=300)
    budget.acquire("api")
    budget.observe("api", 200, headers(remaining=9, reset=30))
    clock.now += 0.7
    budget.observe("api", 200, headers(remaining=8, reset=30))  # rounded up: later end
    for _ in range(8):
        assert budget.try_acquire("api") == 0
    assert budget.try_acquire("api") == pytest.approx(30 - 0.7)


def test_a_429_closes_the_window_for_retry_after(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"resolver": 1000}, window_seconds=300)
    budget.acquire("resolver")
    assert budget.observe("resolver", 429, {"Retry-After": "7"}) == 7
    assert budget.try_acquire("resolver") == pytest.approx(7)
    clock.now += 7
    assert budget.try_acquire("resolver") == 0


def test_buckets_are_counted_apart(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"api": 1, "resolver": 2}, window_seconds=60)
    assert budget.try_acquire("api") == 0
    assert budget.try_acquire("api") > 0
    assert budget.try_acquire("resolver") == 0
    assert budget.try_acquire("resolver") == 0
    assert budget.try_acquire("resolver") > 0


def test_two_budgets_on_one_file_share_the_count(tmp_path, clock):
    a = SharedBudget(tmp_path / "b.json", {"api": 5}, window_seconds=60)
    b = SharedBudget(tmp_path / "b.json", {"api": 5}, window_seconds=60)
    assert [a.try_acquire("api") == 0 for _ in range(3)] == [True] * 3
    assert [b.try_acquire("api") == 0 for _ in range(3)] == [True, True, False]
    assert a.try_acquire("api") > 0


def _take_many(path, n, out):
    budget = SharedBudget(path, {"api": 25}, window_seconds=3600)
    out.put(sum(budget.try_acquire("api") == 0 for _ in range(n)))


def test_processes_never_exceed_the_shared_limit(tmp_path):
    out = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_take_many, args=(tmp_path / "b.json", 10, out))
               for _ in range(4)]
    for w in workers:
        w.start()
    taken = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(taken) == 25


def test_a_wait_beyond_the_cap_stops_and_stays_resumable(tmp_path, clock):
    budget = SharedBudget(tmp_path / "b.json", {"api": 100}, window_seconds=300,
                          max_wait_seconds=600)
    budget.acquire("api")
    assert budget.observe("api", 429, {"Retry-After": "7200"}) == 7200
    with pytest.raises(ratelimit.WaitTooLong, match=r"wait 7,200 s .*until .* UTC.*600 s"):
        budget.pause("api", 7200, "Retry-After")
    # the closed window is in the shared state: a rerun refuses too, until the time has come
    again = SharedBudget(tmp_path / "b.json", {"api": 100}, window_seconds=300,
                         max_wait_seconds=600)
    with pytest.raises(ratelimit.WaitTooLong, match="window full"):
        again.acquire("api")
    assert clock.slept == []
    clock.now += 7200
    again.acquire("api")


def test_long_waits_are_logged_once_with_their_end(tmp_path, clock, caplog):
    budget = SharedBudget(tmp_path / "b.json", {"api": 1}, window_seconds=30)
    caplog.set_level("INFO", logger="hubanatomy.acquire.ratelimit")
    budget.acquire("api")
    budget.acquire("api")   # waits for the next window: logged
    budget.pause("api", 0.5, "Retry-After")  # short: not logged
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waits) == 1
    assert waits[0].startswith("api rate limit: waiting 30 s (window full), until ")
    assert waits[0].endswith(" UTC")


@pytest.mark.parametrize("content", [b'{"api": {"end": 1.0, "us', b"\x00\x00\x00", b"[]",
                                     b'{"api": {"end": "soon", "used": 1, "limit": 5}}'])
def test_a_corrupted_state_file_is_started_afresh(tmp_path, clock, caplog, content):
    path = tmp_path / "b.json"
    path.write_bytes(content)
    budget = SharedBudget(path, {"api": 2}, window_seconds=60)
    assert budget.try_acquire("api") == 0
    assert budget.try_acquire("api") == 0
    assert budget.try_acquire("api") > 0
    assert "starts afresh" in caplog.text
    assert set(json.loads(path.read_text())) == {"api"}


def test_a_failed_write_leaves_the_previous_state_whole(tmp_path, clock, monkeypatch):
    """The state is replaced by a rename, never rewritten in place: a write that fails (a
    full disk; a kill) leaves the previous state, and no temp file."""
    from hubanatomy.snapshot import raw

    path = tmp_path / "b.json"
    budget = SharedBudget(path, {"api": 5}, window_seconds=60)
    budget.acquire("api")
    before = path.read_bytes()

    def full_disk(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(raw.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        budget.acquire("api")
    assert path.read_bytes() == before and json.loads(before)["api"]["used"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "b.json.lock"]
