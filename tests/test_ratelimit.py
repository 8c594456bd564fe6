"""The crawl's shared request budget, lock-free: member files, static shares per window on
the epoch grid, gifts to members that join during a window, `left` records, dead members,
corrections from the server's headers (lowering only), 429 waits, and one budget across
processes."""

from __future__ import annotations

import json
import multiprocessing
import random

import pytest

from hubanatomy.acquire import ratelimit
from hubanatomy.acquire.ratelimit import SharedBudget, share

WINDOW = 10.0
START = 1_000_000.0  # a window start (a multiple of WINDOW)


class FakeClock:
    """time.time / time.sleep stand-ins: sleeping moves the clock, nothing waits."""

    def __init__(self, start: float = START):
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


@pytest.fixture
def members(tmp_path):
    """make(limits, **options) -> a member of the budget in tmp_path/budget (no heartbeat
    thread: the fake clock drives everything); all are closed at the end."""
    made = []

    def make(limits=None, **options):
        budget = SharedBudget(tmp_path / "budget", limits or {"api": 10},
                              options.pop("window_seconds", WINDOW),
                              heartbeat_thread=False, **options)
        made.append(budget)
        return budget

    yield make
    for budget in made:
        budget.close()


def take(budget: SharedBudget, bucket: str = "api", most: int = 10_000) -> int:
    """Requests `budget` gets now, without waiting."""
    n = 0
    while n < most and budget.try_acquire(bucket) == 0:
        n += 1
    return n


def headers(remaining: int, reset: int, limit: int | None = None, window: int = 10) -> dict:
    out = {"RateLimit": f'"api";r={remaining};t={reset}'}
    if limit is not None:
        out["RateLimit-Policy"] = f'"fixed window";"api";q={limit};w={window}'
    return out


def files(tmp_path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "budget").glob("*.json"))]


# ------------------------------------------------------------------------------ shares

@pytest.mark.parametrize(("limit", "n"), [(10, 3), (7, 7), (2, 3), (1000, 4), (5, 1)])
def test_static_shares_sum_to_the_limit(limit, n):
    ids = [f"node{i}-{random.random()}" for i in range(n)]
    shares = [share(limit, ids, m) for m in ids]
    assert sum(shares) == limit
    assert max(shares) - min(shares) <= 1
    # the larger shares go to the first ids in sorted order, whatever order they come in
    assert [share(limit, list(reversed(ids)), m) for m in sorted(ids)] == sorted(
        shares, reverse=True)


def test_a_lone_member_founds_its_first_window_and_waits_for_the_next(clock, members):
    budget = members({"api": 3})
    for _ in range(3):
        budget.acquire("api")
    assert clock.slept == []
    budget.acquire("api")  # waits for the next window on the epoch grid
    assert START + WINDOW <= clock.now < START + WINDOW + 0.1
    assert take(budget) == 2  # the new window has room for two more


def test_members_present_at_a_window_start_share_the_limit(clock, members, tmp_path):
    group = [members({"api": 10}) for _ in range(3)]
    clock.now = START + WINDOW + 0.5  # all registered before this window began
    got = {b.id: take(b) for b in group}
    assert sum(got.values()) == 10
    assert got == {b.id: share(10, list(got), b.id) for b in group}
    assert sorted(got.values()) == [3, 3, 4]
    # an idle member's share is its own: the others do not take it
    clock.now = START + 2 * WINDOW
    assert take(group[0]) + take(group[1]) == 10 - share(10, list(got), group[2].id)
    assert all(f["left"] is None for f in files(tmp_path))


def test_a_member_that_joins_mid_window_lives_on_gifts_until_the_next(clock, members):
    a, b = members({"api": 12}), members({"api": 12})
    clock.now = START + WINDOW
    assert take(a, most=2) == 2 and take(b, most=2) == 2  # shares of 6 each, 4 left each
    clock.now += 3.0
    joiner = members({"api": 12})
    assert take(joiner) == 0  # nobody has seen it yet
    clock.now += 1.0          # after a scan interval the members hand over part of the rest
    assert take(a, most=1) == 1 and take(b, most=1) == 1
    gifts = take(joiner)
    assert gifts > 0
    # and the window's total stays within the limit, spent to the last request
    assert 2 + 2 + 1 + 1 + gifts + take(a) + take(b) == 12
    clock.now = START + 2 * WINDOW  # the next window: a share of its own
    assert sorted([take(a), take(b), take(joiner)]) == [4, 4, 4]


def test_a_member_that_leaves_stays_charged_until_the_window_ends(clock, members, tmp_path):
    a, b, late = members({"api": 9}), members({"api": 9}), members({"api": 9})
    clock.now = START + WINDOW + 1
    spent = take(a)
    assert spent == 3
    a.close()  # mid-window: a left record, still counted
    [record] = [f for f in files(tmp_path) if f["id"] == a.id]
    assert record["left"] == clock.now
    clock.now += 2
    # b and late start their window after a left: they still take only their third
    assert take(b) == 3 and take(late) == 3
    clock.now = START + 2 * WINDOW + 0.1  # next window: a is gone, two share it
    assert take(b) + take(late) == 9
    assert a.id not in {f["id"] for f in files(tmp_path)}  # removed once no window counts it


def test_a_member_that_only_lived_on_gifts_removes_its_file(clock, members, tmp_path):
    members({"api": 4})
    clock.now += 1
    guest = members({"api": 4})
    assert guest.path.is_file()
    guest.close()
    assert not guest.path.exists()


def test_a_founding_member_leaves_what_it_spent_charged(clock, members):
    """A window where no active member has a share: the earliest joiner founds it with the
    limit less what the members that left spent in it."""
    first = members({"api": 10})
    clock.now = START + WINDOW + 1
    assert take(first, most=4) == 4
    first.close()
    clock.now += 1
    second = members({"api": 10})  # joins after first left: founds with the rest
    assert take(second) == 6
    third = members({"api": 10})   # a later joiner waits for gifts from the founder
    assert take(third) == 0


def test_a_joiner_founds_when_the_founder_it_waited_on_leaves(clock, members):
    """One crawl step's member opens before the step before it has closed (both joined
    mid-window, the first founded): when the founder leaves, the joiner takes over what it
    left, instead of waiting a whole window for a share (a crawl hung here in CI)."""
    step1 = members({"api": 10})
    assert take(step1, most=1) == 1           # founds the window, spends one
    step2 = members({"api": 10})              # joins while step1 is still there
    clock.now += 1.0                          # a scan: step1 hands step2 part of its rest
    gifts = take(step2)
    step1.close()                             # leaves mid-window, still charged
    clock.now += 1.0
    rest = take(step2)
    assert gifts + rest == 9                  # the whole limit less step1's one request
    assert step2.try_acquire("api") > 0       # and not one more in this window


def test_joiners_of_an_empty_window_found_it_once(clock, members, tmp_path):
    """Members starting in the same window, nobody with a share: the first founds it and
    hands over to the others; never two founders (the ids decide nothing)."""
    group = [members({"api": 12}) for _ in range(4)]
    founders = [f["id"] for f in files(tmp_path) if f["buckets"]["api"]["founder"]]
    assert founders == [group[0].id]
    clock.now += 1
    got = [take(b) for b in group]
    assert sum(got) == 12 and got[0] > 0 and all(got[1:])


def test_the_window_total_never_exceeds_the_limit_as_members_come_and_go(clock, members):
    rng = random.Random(3)
    limit = 17
    live: list[SharedBudget] = []
    per_window: dict[float, int] = {}
    for _step in range(600):
        clock.now += rng.uniform(0.05, 0.6)
        window = (clock.now // WINDOW) * WINDOW
        r = rng.random()
        if r < 0.03 or not live:
            live.append(members({"api": limit}))
        elif r < 0.05 and len(live) > 1:
            live.pop(rng.randrange(len(live))).close()
        for b in live:
            per_window[window] = per_window.get(window, 0) + take(b, most=rng.randint(0, 3))
    assert max(per_window.values()) <= limit
    # windows where every member wanted more than it got were used in full
    for b in live:
        b.close()
    busy_windows = [w for w, n in per_window.items() if n == limit]
    assert len(busy_windows) > len(per_window) / 2


# ----------------------------------------------------------------------- dead and broken

def _fake_member(tmp_path, name: str, **fields) -> None:
    record = {"id": name, "host": "elsewhere", "pid": 1, "time": START, "joined": START - 100,
              "left": None, "buckets": {}} | fields
    (tmp_path / "budget").mkdir(exist_ok=True)
    (tmp_path / "budget" / f"{name}.json").write_text(json.dumps(record))


def test_a_dead_member_is_not_counted_and_its_file_goes(clock, members, tmp_path):
    # written 40 s ago (the file itself is fresh: the written time counts, not the mtime)
    _fake_member(tmp_path, "aaa-dead", time=START - 40)
    _fake_member(tmp_path, "aab-alive", time=START - 5)
    me = members({"api": 10}, ttl_seconds=30)
    clock.now = START + WINDOW
    # dead: not counted; alive (its heartbeat written 15 s before the window): counted
    assert take(me) == share(10, ["aab-alive", me.id], me.id) == 5
    assert not (tmp_path / "budget" / "aaa-dead.json").exists()
    assert (tmp_path / "budget" / "aab-alive.json").exists()


def test_the_heartbeat_keeps_a_member_alive_and_a_silent_one_rejoins(clock, members,
                                                                     caplog):
    me = members({"api": 10})
    written = json.loads(me.path.read_text())["time"]
    clock.now += 12  # past the heartbeat
    take(me)
    assert json.loads(me.path.read_text())["time"] == clock.now > written
    clock.now += 100  # silent longer than the ttl (a stopped process): joins again
    take(me)
    assert json.loads(me.path.read_text())["joined"] == clock.now
    assert "it joins again" in caplog.text


@pytest.mark.parametrize("content", [b'{"id": "x", "time": 1.0, "jo', b"\x00\x00\x00", b"[]",
                                     b'{"id": "x", "time": "soon", "joined": 1}', b""])
def test_a_corrupt_member_file_is_ignored_with_a_warning(clock, members, tmp_path, caplog,
                                                        content):
    (tmp_path / "budget").mkdir()
    (tmp_path / "budget" / "zzz-broken.json").write_bytes(content)
    me = members({"api": 4})
    clock.now = START + WINDOW
    assert take(me) == 4  # alone: the broken file is no member
    assert "zzz-broken.json is unreadable" in caplog.text
    assert caplog.text.count("zzz-broken.json is unreadable") == 1  # warned once


def test_an_old_flocked_budget_file_is_removed(clock, tmp_path, caplog, members):
    (tmp_path / "budget.json").write_text('{"api": {"end": 0, "used": 0, "limit": 5}}')
    (tmp_path / "budget.json.lock").write_text("")
    caplog.set_level("INFO", logger="hubanatomy.acquire.ratelimit")
    members({"api": 5})
    assert not (tmp_path / "budget.json").exists()
    assert not (tmp_path / "budget.json.lock").exists()
    assert "request budget of an earlier version" in caplog.text


def test_a_ttl_not_above_the_heartbeat_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ttl_seconds"):
        SharedBudget(tmp_path / "budget", {"api": 1}, 10, heartbeat_seconds=10, ttl_seconds=5)


# ----------------------------------------------------------------------- server headers

def test_headers_only_lower_the_allowance(clock, members):
    me = members({"api": 10})
    clock.now = START + WINDOW
    assert take(me, most=2) == 2
    # a server that claims more room, or a higher limit, changes nothing
    me.observe("api", 200, headers(remaining=500, reset=8, limit=1000))
    assert take(me) == 8
    clock.now = START + 2 * WINDOW
    me.observe("api", 200, headers(remaining=3, reset=10, limit=1000))
    assert take(me) == 3  # r caps this window
    clock.now = START + 3 * WINDOW
    me.observe("api", 200, headers(remaining=4, reset=10, limit=6))
    assert take(me) == 4
    clock.now = START + 4 * WINDOW
    assert take(me) == 6  # the lower limit q shares from now on


def test_no_remaining_closes_the_bucket_until_the_servers_reset(clock, members):
    me = members({"api": 10})
    clock.now = START + WINDOW + 1
    me.acquire("api")
    # the server's window is not ours (ends in 15 s): wait for it
    me.observe("api", 200, headers(remaining=0, reset=15))
    assert me.try_acquire("api") == pytest.approx(15)
    clock.now = START + 3 * WINDOW + 1
    assert me.try_acquire("api") == 0
    # the server's window is ours (t is rounded up): wait for our window end, no longer
    me.observe("api", 200, headers(remaining=0, reset=9))
    assert me.try_acquire("api") == pytest.approx(9)
    clock.now += 0.6
    me.observe("api", 200, headers(remaining=0, reset=9))  # ceil(8.4) = 9: still ours
    assert me.try_acquire("api") == pytest.approx(8.4)


def test_a_late_answer_of_the_window_before_lowers_nothing(clock, members):
    me = members({"api": 10})
    clock.now = START + WINDOW - 0.2
    take(me)
    clock.now = START + WINDOW + 0.05  # the answer of the last request arrives now
    me.observe("api", 200, headers(remaining=0, reset=1))
    assert take(me) == 10
    me.observe("api", 200, headers(remaining=0, reset=10))  # this window's: it closes
    assert me.try_acquire("api") == pytest.approx(WINDOW - 0.05)


def test_a_429_closes_the_window_for_retry_after_for_every_member(clock, members):
    me, other = members({"resolver": 1000}), members({"resolver": 1000})
    clock.now = START + WINDOW
    me.acquire("resolver")
    assert me.observe("resolver", 429, {"Retry-After": "7"}) == 7
    assert me.try_acquire("resolver") == pytest.approx(7)
    clock.now += 1  # the other member reads it at its next scan
    assert other.try_acquire("resolver") == pytest.approx(6)
    clock.now += 6
    assert me.try_acquire("resolver") == 0 and other.try_acquire("resolver") == 0


def test_buckets_are_counted_apart(clock, members):
    me = members({"api": 1, "resolver": 2})
    assert take(me, "api") == 1
    assert take(me, "resolver") == 2


def test_a_wait_beyond_the_cap_stops_and_stays_resumable(clock, members):
    budget = members({"api": 100}, window_seconds=300, max_wait_seconds=600)
    budget.acquire("api")
    assert budget.observe("api", 429, {"Retry-After": "7200"}) == 7200
    with pytest.raises(ratelimit.WaitTooLong, match=r"wait 7,200 s .*until .* UTC.*600 s"):
        budget.pause("api", 7200, "Retry-After")
    budget.close()
    # the closed bucket is in the member's left record: a rerun refuses too, until then
    again = members({"api": 100}, window_seconds=300, max_wait_seconds=600)
    with pytest.raises(ratelimit.WaitTooLong, match="window full"):
        again.acquire("api")
    assert clock.slept == []
    clock.now += 7200
    again.acquire("api")


def test_long_waits_are_logged_once_with_their_end(clock, members, caplog):
    budget = members({"api": 1}, window_seconds=40)  # START is on its grid
    caplog.set_level("INFO", logger="hubanatomy.acquire.ratelimit")
    budget.acquire("api")
    budget.acquire("api")   # waits for the next window: logged
    budget.pause("api", 0.5, "Retry-After")  # short: not logged
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waits) == 1
    assert waits[0].startswith("api rate limit: waiting 40 s (window full), until ")
    assert waits[0].endswith(" UTC")


def test_a_failed_write_leaves_the_previous_file_whole(clock, members, monkeypatch):
    """A member file is replaced by a rename, never rewritten in place: a write that fails (a
    full disk; a kill) leaves the previous file, and no temp file."""
    from hubanatomy.snapshot import raw

    me = members({"api": 5})
    before = me.path.read_bytes()

    def full_disk(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(raw.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        me.observe("api", 429, {"Retry-After": "3"})  # a 429 is written at once
    assert me.path.read_bytes() == before
    assert sorted(p.name for p in me.path.parent.iterdir()) == [me.path.name]


# ---------------------------------------------------------------------------- processes

def _take_for(directory, start, most: int, out) -> None:
    """Ask for up to `most` requests until the others have started and asked too."""
    import time

    budget = SharedBudget(directory, {"api": 25}, window_seconds=3600, scan_seconds=0.05)
    start.wait()
    taken = 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        if taken < most and budget.try_acquire("api") == 0:
            taken += 1
        else:
            time.sleep(0.02)  # idle: its heartbeat thread still hands its rest over
    budget.close()
    out.put(taken)


def test_processes_never_exceed_the_shared_limit(tmp_path):
    """Four processes (spawned: nothing shared but the folder) asking for 10 requests each of
    an hour's budget of 25 at once get no more than 25 between them: the first to join
    founds the window, the others live on what it hands over."""
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Event()
    workers = [context.Process(target=_take_for, args=(tmp_path / "budget", start, 10, out))
               for _ in range(4)]
    for w in workers:
        w.start()
    start.set()
    taken = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(taken) <= 25
    assert sum(taken) > 10                   # more than one member's worth: gifts
    assert sum(1 for t in taken if t) >= 2
