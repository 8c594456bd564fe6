"""A crawl of a simulated Hub through the Hub emulator, with rate limits scaled down: how much
of the request budget the crawler actually uses, and how many requests retries wasted.

    python benchmarks/crawl.py --models 100000
    python benchmarks/crawl.py --models 1500 --shards 4 --jobs 4 --window 3 \
        --resolver-limit 40 --api-limit 25 --no-faults

The emulator runs in its own process (as the Hub would be elsewhere), with its windows on the
epoch grid as the crawler's; the crawl runs its card shards as processes sharing one budget
(lock-free member files, see hubanatomy.acquire.ratelimit), as Snakemake's jobs do. Budget
use of a bucket is the requests the emulator accepted divided by limit x windows, over the
windows from the bucket's first to its last accepted request, the first and last (partial)
windows left out, in the phase that needs it: the listing for the API bucket (the card phase
only probes a few parents), the card phase for the resolver bucket. The goal is >= 90%. Also
printed: the 429s the emulator answered and the cards it served in full more than once
(duplicates: wasted budget; 0 expected without faults).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
from pathlib import Path

from laps import Laps

from hubanatomy.acquire.crawl import CrawlSettings, crawl_list, run_crawl
from hubanatomy.emulator.hub import Faults, HubEmulator
from hubanatomy.logs import setup_logging
from hubanatomy.simulator import simulate
from hubanatomy.snapshot import raw


def serve(raw_root: str, faults: Faults, pipe) -> None:
    """The emulator's process: send its URL, answer 'stats' requests until 'stop'."""
    with HubEmulator(raw_root, faults=faults) as hub:
        pipe.send(hub.url)
        while pipe.recv() == "stats":
            pipe.send({**hub.stats(), "repeated": hub.repeated_fetches()})


def budget_use(bucket: dict, window: float) -> dict:
    windows = {int(k): v for k, v in bucket["windows"].items()}
    if not windows or not bucket["limit"]:
        return {"windows": 0}
    first, last = min(windows), max(windows)
    full = range(first + 1, last)  # the first and last are partial: the phase began/ended
    used = sum(windows.get(w, 0) for w in full)
    return {
        "limit_per_window": bucket["limit"],
        "window_seconds": window,
        "windows_spanned": last - first + 1,
        "accepted_in_full_windows": used,
        "budget_use": round(used / (bucket["limit"] * len(full)), 4) if len(full) else None,
        "accepted_per_window": [windows.get(w, 0) for w in range(first, last + 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--raw", help="serve this raw directory instead of simulating one")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--api-limit", type=int, default=25)
    parser.add_argument("--resolver-limit", type=int, default=2800)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--error-rate", type=float, default=0.01)
    parser.add_argument("--truncate-rate", type=float, default=0.005)
    parser.add_argument("--malformed-rate", type=float, default=0.05)
    parser.add_argument("--slow-rate", type=float, default=0.005)
    parser.add_argument("--no-faults", action="store_true",
                        help="no injected errors, truncations, malformed pages or slow answers "
                             "(rate limits only): every request wasted is the budget's fault")
    args = parser.parse_args()
    if args.no_faults:
        args.error_rate = args.truncate_rate = args.malformed_rate = args.slow_rate = 0.0
    setup_logging()  # progress and ETA of the crawl on stderr

    laps = Laps()
    with tempfile.TemporaryDirectory() as work:
        raw_root = Path(args.raw) if args.raw else Path(work) / "raw"
        if not args.raw:
            simulate(args.models, args.seed, "directed", raw_root)
            laps.lap("simulate")
        faults = Faults(api_limit=args.api_limit, resolver_limit=args.resolver_limit,
                        window_seconds=args.window, error_rate=args.error_rate, error_burst=2,
                        slow_rate=args.slow_rate, slow_seconds=0.5,
                        truncate_rate=args.truncate_rate, malformed_rate=args.malformed_rate,
                        seed=args.seed, epoch_windows=True)
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.Process(target=serve, args=(str(raw_root), faults, theirs))
        server.start()
        url = ours.recv()
        laps.lap("emulator start")
        settings = CrawlSettings(endpoint=url, api_requests_per_window=args.api_limit,
                                 resolver_requests_per_window=args.resolver_limit,
                                 window_seconds=args.window, workers=args.workers)
        crawl_list(Path(work) / "crawl", settings)
        laps.lap("crawl: listing")
        ours.send("stats")
        listing = ours.recv()
        listing_fetched = set(listing["repeated"])
        manifest = run_crawl(Path(work) / "crawl", settings, shards=args.shards, jobs=args.jobs)
        laps.lap("crawl: cards and gather")
        ours.send("stats")
        stats = ours.recv()
        ours.send("stop")
        server.join()

        models = manifest["source"]["models"]
        pages = manifest["source"]["list_pages"]
        probes = manifest["acquisition"]["parents_probed"]
        requests = manifest["acquisition"]["requests"]
        sent = {"api": requests.get("api_requests", 0),
                "resolver": requests.get("resolver_requests", 0)}
        useful = {"api": pages + probes, "resolver": models}
        source_models = sum(len(f.read_bytes().splitlines()) for f in raw.model_files(raw_root))
        cards_phase = budget_use(stats["resolver"], args.window)
        duplicates = {t: n for t, n in stats["repeated"].items()
                      if "/resolve/" in t and t not in listing_fetched}
        print(json.dumps({
            "models_served": source_models,
            "models_crawled": models,
            "cards": manifest["acquisition"]["cards"],
            "renames": manifest["acquisition"]["renames"],
            "requests_sent": sent,
            "requests_needed": useful,
            "wasted_on_retries": {b: sent[b] - useful[b] for b in sent},
            "client_counts": requests,
            "emulator": {b: {k: v for k, v in stats[b].items() if k != "windows"}
                         for b in ("api", "resolver")},
            "budget": {"api (listing)": budget_use(listing["api"], args.window),
                       "resolver (cards)": cards_phase},
            "resolver_budget_use_percent": (None if cards_phase.get("budget_use") is None
                                            else round(100 * cards_phase["budget_use"], 1)),
            "http_429": {b: stats[b]["limited"] for b in ("api", "resolver")},
            "cards_fetched_twice": len(duplicates),
            "duplicate_examples": sorted(duplicates)[:5],
            "seconds": laps.total(),
        }, indent=2))


if __name__ == "__main__":
    main()
