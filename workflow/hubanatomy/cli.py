"""The `hubanatomy` command: the library's entry points outside Snakemake."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from hubanatomy.errors import InputError, describe_os_error
from hubanatomy.logs import setup_logging


def _simulate(args) -> None:
    from hubanatomy.simulator import simulate

    truth = simulate(models=args.models, seed=args.seed, scenario=args.scenario,
                     out_dir=args.out)
    print(json.dumps(truth["counts"], indent=2))


def _normalise(args) -> None:
    import tempfile
    from contextlib import nullcontext
    from pathlib import Path

    from hubanatomy.acquire.archive import archive_files, convert_local_archive
    from hubanatomy.snapshot.normalise import normalise, source_record

    files = archive_files(args.raw)
    summary = {}
    if files:  # the release's CSV/parquet: to the raw format first (beside --out: it is big)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        raw_dir = (nullcontext(args.raw_out) if args.raw_out else tempfile.TemporaryDirectory(
            prefix=".hubanatomy-raw-", dir=Path(args.out).parent))
        with raw_dir as raw_root:
            report = convert_local_archive(files, raw_root)
            summary["archive"] = {k: report[k] for k in ("rows", "models", "rows_skipped")}
            summary["archive"]["bad_fields"] = report["problems"]["counts"]
            manifest = normalise(raw_root, args.out, source_record({"kind": args.kind}, raw_root),
                                 max_reject_fraction=args.max_reject_fraction)
    else:
        manifest = normalise(args.raw, args.out, source_record({"kind": args.kind}, args.raw),
                             max_reject_fraction=args.max_reject_fraction)
    print(json.dumps({**summary, "rows": manifest["rows"],
                      "rejected": manifest["normalise"]["rejects_by_reason"]}, indent=2))


def _crawl(args) -> None:
    from hubanatomy.acquire.crawl import CrawlSettings, run_crawl

    settings = CrawlSettings(
        endpoint=args.endpoint, max_models=args.max_models, workers=args.workers,
        api_requests_per_window=args.api_limit, resolver_requests_per_window=args.resolver_limit,
        window_seconds=args.window, page_size=args.page_size, max_retries=args.max_retries,
        max_card_bytes=args.max_card_bytes, backoff_seconds=args.backoff,
        flush_records=args.flush_records, accept_errors=args.accept_errors,
        max_wait_seconds=args.max_wait)
    manifest = run_crawl(args.out, settings, shards=args.shards, jobs=args.jobs)
    print(json.dumps(manifest["acquisition"]["requests"], indent=2))


def _serve_hub(args) -> None:
    import tempfile
    import threading

    from hubanatomy.acquire.arxiv import emulated_response
    from hubanatomy.emulator.hub import Faults, HubEmulator

    faults = Faults(
        api_limit=args.api_limit, resolver_limit=args.resolver_limit,
        window_seconds=args.window, error_rate=args.error_rate, error_burst=args.error_burst,
        slow_rate=args.slow_rate, slow_seconds=args.slow_seconds,
        truncate_rate=args.truncate_rate, malformed_rate=args.malformed_rate, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="hub-emulator-") as tmp:
        datasets = {}
        if args.dataset_repo:
            from hubanatomy.acquire.archive import write_archive

            write_archive(args.raw, tmp, fmt=args.archive_format, shards=args.archive_shards)
            datasets[args.dataset_repo] = tmp
        emulator = HubEmulator(args.raw, faults, datasets=datasets, arxiv=emulated_response,
                               host=args.host, port=args.port)
        stop = threading.Event()
        # SIGTERM (e.g. from a test or a workflow manager) stops as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with emulator:
            print(emulator.url, flush=True)
            try:
                while not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubanatomy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="write a simulated raw Hub")
    sim.add_argument("--models", type=int, required=True, help="number of models")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--scenario", choices=("directed", "neutral"), default="directed")
    sim.add_argument("--out", required=True, help="output directory (raw format)")
    sim.set_defaults(run=_simulate)

    norm = commands.add_parser("normalise", help="raw Hub data -> canonical snapshot")
    norm.add_argument("--raw", required=True,
                      help="raw directory or .jsonl file, or files in the archive schema (the "
                      "release's CSV, a parquet copy, or a folder holding one such table)")
    norm.add_argument("--raw-out", default=None,
                      help="with archive files: keep their raw form (and archive_problems.csv) "
                      "here; default: a temporary folder beside --out, removed after")
    norm.add_argument("--out", required=True, help="snapshot directory")
    norm.add_argument("--kind", default="snapshot", choices=("snapshot", "simulated", "crawl"),
                      help="what the raw data is (recorded in the manifest)")
    norm.add_argument("--max-reject-fraction", type=float, default=0.01)
    norm.set_defaults(run=_normalise)

    crawl = commands.add_parser("crawl", help="crawl a Hub (or the emulator) into the raw "
                                "format; rerun the same command to resume")
    crawl.add_argument("--endpoint", default="https://huggingface.co")
    crawl.add_argument("--out", required=True, help="crawl directory (raw format)")
    crawl.add_argument("--max-models", type=int, default=None)
    crawl.add_argument("--shards", type=int, default=1, help="card shards")
    crawl.add_argument("--jobs", type=int, default=1, help="shards run at once (processes)")
    crawl.add_argument("--workers", type=int, default=8, help="fetching threads per shard")
    crawl.add_argument("--api-limit", type=int, default=1000, help="API requests per window")
    crawl.add_argument("--resolver-limit", type=int, default=5000,
                       help="resolver (card) requests per window")
    crawl.add_argument("--window", type=float, default=300.0, help="window length, seconds")
    crawl.add_argument("--page-size", type=int, default=1000)
    crawl.add_argument("--max-retries", type=int, default=8)
    crawl.add_argument("--max-card-bytes", type=int, default=2_000_000)
    crawl.add_argument("--backoff", type=float, default=1.0,
                       help="first retry delay after a 5xx or network error, seconds")
    crawl.add_argument("--flush-records", type=int, default=1000,
                       help="card records per checkpointed part file")
    crawl.add_argument("--accept-errors", action="store_true",
                       help="keep requests that fail after every retry as errors instead of "
                       "stopping with an error (a rerun retries them either way)")
    crawl.add_argument("--max-wait", type=float, default=3600.0,
                       help="longest rate-limit wait, seconds; a longer one stops the crawl "
                       "(resumable)")
    crawl.set_defaults(run=_crawl)

    hub = commands.add_parser("serve-hub", help="serve a raw directory like the Hugging Face "
                              "Hub on loopback (offline tests of the crawl and downloads)")
    hub.add_argument("--raw", required=True, help="raw directory to serve")
    hub.add_argument("--host", default="127.0.0.1")
    hub.add_argument("--port", type=int, required=True, help="port (0: any free port)")
    hub.add_argument("--seed", type=int, default=0, help="seed of the injected faults")
    hub.add_argument("--api-limit", type=int, default=None, help="API requests per window")
    hub.add_argument("--resolver-limit", type=int, default=None,
                     help="resolver requests per window")
    hub.add_argument("--window", type=float, default=300.0, help="window length, seconds")
    hub.add_argument("--error-rate", type=float, default=0.0,
                     help="share of requests answered 5xx on their first attempts")
    hub.add_argument("--error-burst", type=int, default=1, help="failing attempts each")
    hub.add_argument("--slow-rate", type=float, default=0.0)
    hub.add_argument("--slow-seconds", type=float, default=0.5)
    hub.add_argument("--truncate-rate", type=float, default=0.0)
    hub.add_argument("--malformed-rate", type=float, default=0.0)
    hub.add_argument("--dataset-repo", default=None,
                     help="also serve the raw data in the archive schema as this dataset repo")
    hub.add_argument("--archive-format", choices=("parquet", "csv"), default="parquet")
    hub.add_argument("--archive-shards", type=int, default=1)
    hub.set_defaults(run=_serve_hub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        args.run(args)
    except InputError as error:
        print(f"hubanatomy: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a read-only folder: one line naming the path
        print(f"hubanatomy: {describe_os_error(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
