"""Request budgets per rate-limit window, shared by every thread, process and cluster node of
one crawl, without locks.

The Hub counts requests per fixed window and per bucket ("api" for /api/*, "resolver" for
file downloads) and tells the client where it stands in every answer
(`RateLimit: "api";r=<remaining>;t=<seconds to reset>`,
`RateLimit-Policy: ...;q=<limit>;w=<window>`); once the budget is spent it answers 429 with
`Retry-After`. A client that only backs off on 429 wastes requests and idles, so the budget
is counted locally and every answer can only lower it.

Why no lock: the card shards run as separate processes, on a cluster as Slurm jobs on
different nodes sharing a network file system. An earlier version kept one JSON file under
`flock`, and flock is unreliable on NFS and Lustre (silently local, or not supported). What
those file systems do guarantee is that a rename (`os.replace`) is atomic. So:

* every process crawling (a *member*) writes only its own file,
  `<dir>/<host>-<pid>-<random>.json`, always whole (temp file + rename), with the time it was
  written; it rewrites it as a heartbeat (`heartbeat_seconds`) and a member whose last
  written time is older than `ttl_seconds` is dead (the time is in the file, not its mtime,
  which caches and clocks of file servers blur);
* windows lie on the epoch grid (a window starts at floor(time / window) * window), so all
  nodes agree on them without talking;
* at the start of a window each member lists the members present: those that registered
  before the window started, are alive, and had not left before it started. Sorted by id,
  member i of n takes the static share `L // n + (1 if i < L % n else 0)` of the limit L.
  Every member counts the same set, so the shares sum to L;
* a member that joins during a window has no share in it: the members hand it part of what
  they have not spent yet (each records its gifts in its own file; the joiner adds up those
  addressed to it). A gift moves budget, it never creates any. From the next window on the
  joiner has a share of its own. In a window where no member still active has a share (the
  first start, or the step before has just ended), the first joiner founds it: it takes
  the limit less what the members that left spent and gave in it, and gives to the others
  (it writes that it founds, then looks again: of two that found at once, at least one sees
  the other and steps down before spending anything);
* a member that leaves (close, or at exit) removes its file, or, when it has a share in the
  current window, rewrites it as a `left` record, which still counts it, and its gifts,
  until the window ends; otherwise a member starting its window late would see one member
  fewer and take a larger share of budget already spent. Files of members that left or died
  are removed once no window can count them any more (by any member: their owner is gone);
* the server's headers only ever lower the allowance: `r` caps what this member may still
  send in the window, `r = 0` closes the bucket until the server's reset, a lower `q` lowers
  the limit shared from the next window on; a 429 closes the bucket until `Retry-After`
  (recorded in the member file, so the other members and a rerun wait too).

Members' clocks are assumed synchronised (NTP), as the shared window grid needs anyway.
Beyond atomic renames, the design needs a new member file to show in the others' directory
listings before the next window starts; NFS clients cache listings for some seconds
(`acdirmin`), so a member that registered just before a window may be counted by some members
and not by others in that one window (too much granted, once): the server's headers and 429s
correct it. Opening a file re-reads it on NFS (close-to-open), so heartbeats and gifts are
seen as written. A member file that is unreadable is ignored with a warning. A leftover
`budget.json` (and its lock) of the flock version beside the folder is removed.

A wait longer than `max_wait_seconds` (a long `Retry-After`) raises WaitTooLong instead of
sleeping; long waits are logged with their end time.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from huggingface_hub.utils import parse_ratelimit_headers

from hubanatomy.snapshot.raw import write_atomic

log = logging.getLogger(__name__)

# waits at least this long are logged (once per end time and bucket, not per thread)
LOG_WAIT_SECONDS = 5.0
HEARTBEAT_SECONDS = 10.0
# an answer whose reset falls this soon after our window began belongs to the window before
_LATE_SECONDS = 1.5
TTL_SECONDS = 30.0


class WaitTooLong(Exception):
    """The rate limit asks for a longer wait than allowed; the message says until when."""

    def __init__(self, bucket: str, seconds: float, why: str, limit: float):
        self.bucket, self.seconds, self.until = bucket, seconds, _clock_time(seconds)
        super().__init__(f"the {bucket} rate limit asks to wait {seconds:,.0f} s ({why}, until "
                         f"{self.until}), more than the {limit:g} s allowed")


def _clock_time(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def share(limit: int, members: list[str], member: str) -> int:
    """The static share of `member` among `members` (sorted by id) of a limit."""
    order = sorted(members)
    i, n = order.index(member), len(order)
    return limit // n + (1 if i < limit % n else 0)


@dataclass
class _Bucket:
    window: float = -1.0        # start of the window the counts below belong to
    share: int = 0              # static share (0: joined during the window)
    member: bool = False        # counted among the window's members, or its founder
    founder: bool = False       # took the window's budget as nobody active had a share
    used: int = 0
    received: int = 0           # gifts addressed to this member in the window
    gave: dict[str, int] = field(default_factory=dict)
    cap: int | None = None      # the most the server's `r` still allows in the window
    blocked_until: float = 0.0  # closed by a 429 (or r = 0) until then

    def allowance(self) -> int:
        granted = self.share - sum(self.gave.values()) + self.received
        return granted if self.cap is None else min(granted, self.cap)


@dataclass
class _Member:
    id: str
    time: float
    joined: float
    left: float | None
    buckets: dict

    def counted_in(self, window: float, ttl: float) -> bool:
        """Whether this member takes a static share of the window starting at `window`."""
        return (self.joined < window and (self.left is None or self.left >= window)
                and self.time + ttl > window)


class SharedBudget:
    """One member of the budget kept in `state_dir` (see the module docstring); use one per
    process and close it when done (it closes at exit too)."""

    def __init__(self, state_dir: str | Path, limits: Mapping[str, int], window_seconds: float,
                 max_wait_seconds: float | None = None,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, ttl_seconds: float = TTL_SECONDS,
                 scan_seconds: float | None = None, heartbeat_thread: bool = True):
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.limits = dict(limits)
        self.window = float(window_seconds)
        self.max_wait = max_wait_seconds
        self.heartbeat = float(heartbeat_seconds)
        self.ttl = float(ttl_seconds)
        if self.ttl <= self.heartbeat:
            raise ValueError(f"ttl_seconds ({ttl_seconds}) must exceed heartbeat_seconds "
                             f"({heartbeat_seconds})")
        # how often members look for joiners to give to and gifts to take
        self.scan = float(scan_seconds) if scan_seconds is not None else min(
            1.0, self.window / 10)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(32):08x}"
        self.path = self.dir / f"{self.id}.json"
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self._warned: set[str] = set()
        self.waited_seconds = 0.0
        self._buckets = {b: _Bucket() for b in self.limits}
        self._last_scan = {b: -math.inf for b in self.limits}
        self._closed = False
        self._remove_old_state()
        now = time.time()
        self._joined = now
        self._left: float | None = None
        with self._lock:
            self._write(now)
            self._scan_all(now)  # blocks others recorded (a 429 of a run that stopped)
        self._stop = threading.Event()
        self._thread = None
        if heartbeat_thread:
            self._thread = threading.Thread(target=self._beat_forever, daemon=True,
                                            name=f"budget-heartbeat-{self.id}")
            self._thread.start()
        atexit.register(self.close)

    # -- member files ---------------------------------------------------------------------

    def _remove_old_state(self) -> None:
        old = self.dir.with_name(self.dir.name + ".json")
        for path in (old, old.with_name(old.name + ".lock")):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            log.info("removed %s, the request budget of an earlier version (a flock'd file); "
                     "the budget now lives in %s/", path, self.dir)

    def _record(self, now: float) -> dict:
        return {"id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "time": now,
                "joined": self._joined, "left": self._left,
                "buckets": {name: {"window": b.window, "share": b.share, "used": b.used,
                                   "founder": b.founder, "gave": dict(b.gave),
                                   "blocked_until": b.blocked_until}
                            for name, b in self._buckets.items()}}

    def _write(self, now: float) -> None:
        """Replace this member's file (the caller holds the lock)."""
        write_atomic(self.path, json.dumps(self._record(now)).encode(), sync=False)
        self._written = now

    def _beat(self, now: float) -> None:
        """Rewrite the file when the heartbeat is due (the caller holds the lock). A member
        whose file went stale (a stopped process) counts as dead for the others: it joins
        again."""
        if self._closed or now - self._written < self.heartbeat:
            return
        if now - self._written >= self.ttl:
            log.warning("request budget: this process was silent for %.0f s (more than the "
                        "%.0f s after which it counts as gone); it joins again", now -
                        self._written, self.ttl)
            self._joined = now
        self._write(now)

    def _beat_forever(self) -> None:
        """The heartbeat, and the scans of a member that sends nothing for a while (done, or
        waiting): it still hands its rest over to joiners."""
        while not self._stop.wait(self.scan):
            with self._lock:
                if self._closed:
                    return
                now = time.time()
                try:
                    self._beat(now)
                    for name in self._buckets:
                        self._update(name, now)
                except OSError as error:  # a full disk, a file server away: try again
                    log.warning("request budget: cannot update %s: %s", self.path, error)

    def _members(self, now: float) -> list[_Member]:
        """The member files present; unreadable ones are skipped with a warning, those that
        no window can count any more are removed."""
        members = []
        for path in sorted(self.dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                data = json.loads(path.read_bytes())
                member = _Member(str(data["id"]), float(data["time"]), float(data["joined"]),
                                 None if data.get("left") is None else float(data["left"]),
                                 dict(data.get("buckets") or {}))
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
                if path.name not in self._warned:
                    self._warned.add(path.name)
                    log.warning("request budget: %s is unreadable (%s); ignored", path,
                                str(e)[:200])
                continue
            if member.id == self.id:
                member = _Member(self.id, now, self._joined, self._left, {})
            elif self._expired(member, now):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                continue
            members.append(member)
        if not any(m.id == self.id for m in members) and not self._closed:
            members.append(_Member(self.id, now, self._joined, self._left, {}))
        return members

    def _expired(self, member: _Member, now: float) -> bool:
        """No window can count the member any more, and it blocks nothing."""
        end = member.left if member.left is not None else member.time + self.ttl
        last_window_end = (math.floor(end / self.window) + 1) * self.window
        blocked = max((_number(b.get("blocked_until")) for b in member.buckets.values()
                       if isinstance(b, dict)), default=0.0)
        return now >= last_window_end and now > blocked

    # -- the budget -----------------------------------------------------------------------

    def _scan_all(self, now: float) -> None:
        members = self._members(now)
        for name in self._buckets:
            self._update(name, now, members)

    def _update(self, name: str, now: float, members: list[_Member] | None = None) -> None:
        """Start a new window when one began, then give to joiners and take gifts (the
        caller holds the lock)."""
        b = self._buckets[name]
        start = math.floor(now / self.window) * self.window
        if members is None:
            if start == b.window and now - self._last_scan[name] < self.scan:
                return
            members = self._members(now)
        self._last_scan[name] = now
        write = False
        if start != b.window:
            counted = [m for m in members if m.counted_in(start, self.ttl)]
            blocked = b.blocked_until
            self._buckets[name] = b = _Bucket(window=start, blocked_until=blocked)
            ids = [m.id for m in counted]
            if self.id in ids:
                b.member, b.share = True, share(self.limits[name], ids, self.id)
        if not b.member:
            founders = set(_founders(members, name, start, self.id))
            holders = [m for m in members if m.id != self.id
                       and (m.counted_in(start, self.ttl) or m.id in founders)]
            if all(m.left is not None for m in holders):
                # nobody active has a share (a first start, or the step before has ended,
                # before or after this joiner came): the first joiner to say so founds the
                # window with what the leavers left unspent. Said, then checked: of joiners
                # that say so at the same moment, at least one sees the other and steps down
                # (both may: then both try again at the next scan)
                spent = sum(_spent(m.buckets.get(name), start) for m in holders)
                b.member, b.founder = True, True
                b.share = max(0, self.limits[name] - spent)
                self._write(now)
                members = self._members(now)
                if _founders(members, name, start, self.id, active=True):
                    b.member, b.founder, b.share = False, False, 0
                    write = True
        others = [m for m in members if m.id != self.id]
        received = 0
        for m in others:
            entry = m.buckets.get(name)
            if not isinstance(entry, dict):
                continue
            until = _number(entry.get("blocked_until"))
            if until > b.blocked_until:
                b.blocked_until = until  # another member's 429 closes ours too
            gave = entry.get("gave")
            if _number(entry.get("window")) == start and isinstance(gave, dict):
                received += int(_number(gave.get(self.id)))
        b.received = received
        if b.member:
            joiners = [m.id for m in others
                       if m.left is None and m.joined >= start and m.time + self.ttl > now
                       and not m.counted_in(start, self.ttl) and m.id not in b.gave]
            rest = b.allowance() - b.used
            if joiners and rest > 0:
                givers = sum(1 for m in members if m.left is None and m.counted_in(
                    start, self.ttl)) or 1
                gift = rest // (givers + len(joiners))
                for joiner in joiners:
                    b.gave[joiner] = gift
                write = True
        if write:
            self._write(now)

    def try_acquire(self, bucket: str) -> float:
        """Count one request of `bucket` if this member's allowance has room and return 0, or
        return the seconds to wait before asking again."""
        with self._lock:
            now = time.time()
            self._beat(now)
            self._update(bucket, now)
            b = self._buckets[bucket]
            if now < b.blocked_until:
                return b.blocked_until - now
            if b.used < b.allowance():
                b.used += 1
                return 0.0
            end = b.window + self.window
            if not b.member:  # a joiner: gifts may still come
                return max(min(self.scan, end - now), 1e-3)
            return max(end - now, 1e-3)

    def acquire(self, bucket: str) -> None:
        """Block until one more request of `bucket` fits, and count it."""
        while (wait := self.try_acquire(bucket)) > 0:
            # spread the waiting workers a little so they do not all wake at once
            self.pause(bucket, wait + random.uniform(0.0, 0.05),
                       "window full" if wait > self.scan else "waiting for a share")

    def pause(self, bucket: str, seconds: float, why: str) -> None:
        """Sleep `seconds` for `bucket` (logged when long); WaitTooLong beyond max_wait."""
        if self.max_wait is not None and seconds > self.max_wait:
            raise WaitTooLong(bucket, seconds, why, self.max_wait)
        if seconds >= LOG_WAIT_SECONDS:
            end = time.time() + seconds
            with self._lock:
                fresh = abs(end - self._logged.get(bucket, 0.0)) > 1.0
                if fresh:
                    self._logged[bucket] = end
            if fresh:
                log.info("%s rate limit: waiting %.0f s (%s), until %s", bucket, seconds, why,
                         _clock_time(seconds))
        with self._lock:
            self.waited_seconds += seconds
        time.sleep(seconds)

    def observe(self, bucket: str, status: int, headers: Mapping[str, str]) -> float | None:
        """Lower the budget from an answer's headers; return the wait a 429 asks for."""
        info = parse_ratelimit_headers(headers)
        retry_after = _retry_after(headers) if status == 429 else None
        if info is None and retry_after is None:
            return None
        with self._lock:
            now = time.time()
            self._update(bucket, now)
            b = self._buckets[bucket]
            end = b.window + self.window
            reset = None if info is None else now + info.reset_in_seconds
            # an answer sent just before our window began, read just after (t is whole seconds
            # rounded up: its reset lies within a second or so of our start) speaks of the
            # window that ended, not of this one
            stale = reset is not None and reset < end and reset <= b.window + _LATE_SECONDS
            if info is not None and not stale:
                if info.limit and info.limit < self.limits[bucket]:
                    log.info("%s rate limit: the server allows %d requests per window, not %d",
                             bucket, info.limit, self.limits[bucket])
                    self.limits[bucket] = info.limit
                cap = b.used + max(0, info.remaining)
                b.cap = cap if b.cap is None else min(b.cap, cap)
                if info.remaining <= 0 and status != 429:
                    # t is whole seconds rounded up: an end within a second of ours is ours
                    until = end if reset - 1.0 <= end <= reset else reset
                    b.blocked_until = max(b.blocked_until, until)
            if status != 429:
                return None
            wait = retry_after if retry_after is not None else (
                info.reset_in_seconds if info is not None else self.window)
            b.blocked_until = max(b.blocked_until, now + wait)
            self._write(now)
            return wait

    def close(self) -> None:
        """Leave: the file is removed, or stays as a `left` record until the current window
        ends when this member has a share in it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            now = time.time()
            try:
                # a member with a share in the current window stays charged until it ends
                # (so does a closed bucket); one that only lived on gifts is simply gone
                current = math.floor(now / self.window) * self.window
                if self._joined < current or any(
                        (b.member and b.window == current) or b.blocked_until > now
                        for b in self._buckets.values()):
                    self._left = now
                    self._write(now)
                else:
                    self.path.unlink(missing_ok=True)
            except OSError as error:  # the folder is gone (at exit): nothing left to charge
                log.debug("request budget: cannot record leaving in %s: %s", self.path, error)
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
        atexit.unregister(self.close)

    def __enter__(self) -> SharedBudget:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _founders(members: list[_Member], bucket: str, window: float, me: str,
              active: bool = False) -> list[str]:
    """The other members that founded `bucket`'s window starting at `window` (that have not
    left, with active)."""
    return [m.id for m in members if m.id != me and isinstance(e := m.buckets.get(bucket), dict)
            and _number(e.get("window")) == window and e.get("founder") is True
            and not (active and m.left is not None)]


def _spent(entry, window: float) -> int:
    """What a member's bucket entry used and gave away in the window starting at `window`."""
    if not isinstance(entry, dict) or _number(entry.get("window")) != window:
        return 0
    gave = entry.get("gave")
    return int(_number(entry.get("used"))) + (
        sum(int(_number(v)) for v in gave.values()) if isinstance(gave, dict) else 0)


def _number(value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else 0.0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value.strip()))
            except ValueError:
                return None
    return None
