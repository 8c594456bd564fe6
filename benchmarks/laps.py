"""Lap times for the stage benchmarks."""

from __future__ import annotations

import time


class Laps:
    """`lap(name)` records the seconds since the previous lap; `seconds` has them all."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 1)
        self.last = now

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.perf_counter() - self.start, 1)}
