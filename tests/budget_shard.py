"""One card shard of a crawl, run as its own process or Slurm job by test_slurm_budget.py.

    python tests/budget_shard.py CRAWL_ROOT SHARD SHARDS SETTINGS_JSON BARRIER_DIR

Waits until every shard has started (a file per shard in BARRIER_DIR: a Slurm job may wait
in the queue while the others run), crawls its shard with the shared request budget, and
writes BARRIER_DIR/done-SHARD.json with the time it began and ended crawling."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, crawl_cards
from hubanatomy.logs import setup_logging
from hubanatomy.snapshot.raw import write_atomic

BARRIER_TIMEOUT = 3600.0


def main() -> None:
    root, shard, shards, settings, barrier = sys.argv[1:6]
    shard, shards, barrier = int(shard), int(shards), Path(barrier)
    setup_logging()
    write_atomic(barrier / f"started-{shard}", b"")
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while len(list(barrier.glob("started-*"))) < shards:
        if time.monotonic() > deadline:
            sys.exit(f"shard {shard}: the other shards did not start within "
                     f"{BARRIER_TIMEOUT:.0f} s")
        time.sleep(0.2)
    began = time.time()
    try:
        counts = crawl_cards(root, CrawlSettings(**json.loads(settings)), shard, shards)
        status = "ok"
    except Exception as error:  # reported to the test, which fails with it
        counts, status = {}, f"{type(error).__name__}: {error}"
    write_atomic(barrier / f"done-{shard}.json", json.dumps(
        {"shard": shard, "began": began, "ended": time.time(), "status": status,
         "counts": counts}).encode())


if __name__ == "__main__":
    main()
