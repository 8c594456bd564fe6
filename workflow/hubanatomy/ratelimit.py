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

The state is a small JSON file under an exclusive `flock`, so Snakemake's card shards, run as
separate processes (or cluster jobs on a shared file system), share one budget.
"""

from __future__ import annotations

import fcntl
import json
import random
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from huggingface_hub.utils import parse_ratelimit_headers

# slack when deciding whether the server has moved to a later window than ours (seconds)
_NEW_WINDOW_SLACK = 1.0


class SharedBudget:
    def __init__(self, state_path: str | Path, limits: Mapping[str, int],
                 window_seconds: float):
        self.path = Path(state_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.limits = dict(limits)
        self.window = float(window_seconds)
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _update(self, change):
        """Run change(state, now) under both locks; returns its result."""
        with self._lock, open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            state = json.loads(text) if text.strip() else {}
            result = change(state, time.time())
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state))
            handle.flush()
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
            pause = wait + random.uniform(0.0, 0.05)
            with self._lock:
                self.waited_seconds += pause
            time.sleep(pause)

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

