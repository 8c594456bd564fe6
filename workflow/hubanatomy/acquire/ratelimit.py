"""Request budgets per rate-limit window, shared by every thread and process of one crawl.

The Hub counts requests per fixed window and per bucket ("api" for /api/*, "resolver" for
file downloads) and tells the client where it stands in every answer
(`RateLimit: "api";r=<remaining>;t=<seconds to reset>`,
`RateLimit-Policy: ...;q=<limit>;w=<window>`); once the budget is spent it answers 429 with
`Retry-After`. A client that only backs off on 429 wastes requests and idles; one that counts
its own requests drifts from the server's window. So the budget is counted locally and
corrected from every answer:

* a request is sent only while the local count of the window is below the limit;
* the server's `r`, `t` and `q` correct the count, the window end and the limit (`t` is whole
  seconds rounded up, so the earliest end seen in a window is kept);
* a 429 closes the window until `Retry-After` has passed.

The state is a small JSON file, changed under an exclusive `flock` of a lock file beside it
and replaced atomically, so Snakemake's card shards, run as separate processes (or cluster
jobs on a shared file system), share one budget, and a killed process never leaves half a
file. A state file that is unreadable anyway (a power cut, an edit) is started afresh with a
warning: the server's headers correct the count within one answer.

A wait longer than `max_wait_seconds` (a long `Retry-After`) raises WaitTooLong instead of
sleeping; long waits are logged with their end time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import random
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from huggingface_hub.utils import parse_ratelimit_headers

from hubanatomy.snapshot.raw import write_atomic

log = logging.getLogger(__name__)

# slack when deciding whether the server has moved to a later window than ours (seconds)
_NEW_WINDOW_SLACK = 1.0
# waits at least this long are logged (once per window end and bucket, not per thread)
LOG_WAIT_SECONDS = 5.0
_ENTRY_KEYS = ("end", "used", "limit")


class WaitTooLong(Exception):
    """The rate limit asks for a longer wait than allowed; the message says until when."""

    def __init__(self, bucket: str, seconds: float, why: str, limit: float):
        self.bucket, self.seconds, self.until = bucket, seconds, _clock_time(seconds)
        super().__init__(f"the {bucket} rate limit asks to wait {seconds:,.0f} s ({why}, until "
                         f"{self.until}), more than the {limit:g} s allowed")


def _clock_time(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


class SharedBudget:
    def __init__(self, state_path: str | Path, limits: Mapping[str, int],
                 window_seconds: float, max_wait_seconds: float | None = None):
        self.path = Path(state_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.limits = dict(limits)
        self.window = float(window_seconds)
        self.max_wait = max_wait_seconds
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self.waited_seconds = 0.0

    def _load(self) -> dict:
        """The shared state; an unreadable file (or bucket entry) is started afresh."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            state = json.loads(text) if text.strip() else {}
            if not isinstance(state, dict):
                raise ValueError(f"a JSON {type(state).__name__}, not an object")
        except (ValueError, UnicodeDecodeError) as error:
            log.warning("%s is unreadable (%s); the request budget starts afresh (the Hub's "
                        "RateLimit headers correct it)", self.path, str(error)[:200])
            return {}
        for bucket, entry in list(state.items()):
            if not (isinstance(entry, dict) and all(
                    isinstance(entry.get(k), int | float) and not isinstance(entry.get(k), bool)
                    for k in _ENTRY_KEYS)):
                log.warning("%s: the %r entry is malformed (%.100r); that budget starts afresh",
                            self.path, bucket, entry)
                del state[bucket]
        return state

    def _update(self, change):
        """Run change(state, now) under both locks; returns its result."""
        with self._lock, open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            state = self._load()
            result = change(state, time.time())
            # many writes a second: atomic (a kill leaves the old or the new file), not synced
            write_atomic(self.path, json.dumps(state).encode(), sync=False)
            return result

    def _bucket(self, state: dict, bucket: str, now: float) -> dict:
        entry = state.setdefault(bucket, {"end": 0.0, "used": 0,
                                          "limit": self.limits[bucket]})
        if now >= entry["end"]:
            entry["end"], entry["used"] = now + self.window, 0
        return entry

    def try_acquire(self, bucket: str) -> float:
        """Count one request of `bucket` if it fits in the current window and return 0, or
        return the seconds until it may fit."""
        def take(state, now):
            entry = self._bucket(state, bucket, now)
            if entry["used"] < entry["limit"]:
                entry["used"] += 1
                return 0.0
            return max(entry["end"] - now, 1e-3)

        return self._update(take)

    def acquire(self, bucket: str) -> None:
        """Block until one more request of `bucket` fits in the current window, and count it."""
        while (wait := self.try_acquire(bucket)) > 0:
            # spread the waiting workers a little so they do not all wake at once
            self.pause(bucket, wait + random.uniform(0.0, 0.05), "window full")

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
        """Correct the budget from an answer's headers; return the wait a 429 asks for."""
        info = parse_ratelimit_headers(headers)
        retry_after = _retry_after(headers) if status == 429 else None
        if info is None and retry_after is None:
            return None

        def correct(state, now):
            entry = self._bucket(state, bucket, now)
            if info is not None:
                if info.limit:
                    entry["limit"] = info.limit
                server_end = now + info.reset_in_seconds
                used = entry["limit"] - info.remaining
                if server_end > entry["end"] + _NEW_WINDOW_SLACK:
                    # the server is already in a later window than ours
                    entry["end"], entry["used"] = server_end, used
                else:
                    entry["end"] = min(entry["end"], server_end) if server_end > now else \
                        entry["end"]
                    entry["used"] = max(entry["used"], used)
            if status == 429:
                wait = retry_after if retry_after is not None else (
                    info.reset_in_seconds if info is not None else self.window)
                entry["end"], entry["used"] = now + wait, entry["limit"]
                return wait
            return None

        return self._update(correct)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value.strip()))
            except ValueError:
                return None
    return None

