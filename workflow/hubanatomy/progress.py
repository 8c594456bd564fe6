"""Progress with an ETA for long loops, written to the log (so it lands in Snakemake's logs)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("hubanatomy.progress")


class Progress:
    def __init__(self, what: str, total: int | None, unit: str = "items",
                 every_seconds: float = 10.0):
        self.what, self.total, self.unit = what, total, unit
        self.every = every_seconds
        self.done = 0
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every or (self.total and self.done >= self.total):
            self.last = now
            log.info("%s: %s", self.what, self.status(now))

    def status(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.done:,} {self.unit}"
        if self.total:
            text += f" of {self.total:,} ({100 * self.done / self.total:.0f}%)"
            if rate > 0 and self.done < self.total:
                text += f", ETA {(self.total - self.done) / rate:.0f} s"
        return f"{text}, {rate:,.0f} {self.unit}/s"

    def close(self) -> None:
        log.info("%s: finished, %s in %.1f s", self.what, f"{self.done:,} {self.unit}",
                 time.monotonic() - self.start)
