"""Time and peak memory of the simulator and the normaliser at a given Hub size.

    python benchmarks/simulate_and_normalise.py --models 1860411 [--out DIR] [--keep]

Each stage runs in its own freshly spawned process, which reports its wall time and its own
peak resident memory (resource.getrusage(RUSAGE_SELF).ru_maxrss). The targets of the
foundation issue at 1.86M models: 3 minutes / 6 GB (simulator), 3 minutes / 8 GB (normaliser).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _simulate(models: int, seed: int, scenario: str, out: str, queue) -> None:
    from hubanatomy.simulator import simulate

    start = time.perf_counter()
    truth = simulate(models, seed, scenario, out)
    queue.put((time.perf_counter() - start, _peak_gb(), truth["counts"]["edges"]))


def _normalise(raw: str, out: str, queue) -> None:
    from hubanatomy.snapshot.normalise import normalise, source_record

    start = time.perf_counter()
    manifest = normalise(raw, out, source_record({"kind": "simulated"}, raw))
    queue.put((time.perf_counter() - start, _peak_gb(), manifest["rows"]))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def measure(target, *args) -> tuple[float, float, object]:
    """(wall seconds, peak resident GB, what target reported) of target(*args) in a child."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed with exit code {process.exitcode}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1_860_411)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="directed", choices=("directed", "neutral"))
    parser.add_argument("--out", help="working directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the raw data and snapshot")
    args = parser.parse_args()

    work = Path(args.out or tempfile.mkdtemp(prefix="hubanatomy-bench-"))
    raw, snapshot = work / "raw", work / "snapshot"
    results = {"models": args.models, "scenario": args.scenario, "seed": args.seed}
    seconds, peak, edges = measure(_simulate, args.models, args.seed, args.scenario, str(raw))
    results["simulate"] = {"seconds": round(seconds, 1), "peak_gb": round(peak, 2),
                           "edges": edges,
                           "raw_gb": round(sum(f.stat().st_size for f in raw.rglob("*")
                                               if f.is_file()) / 1e9, 2)}
    seconds, peak, rows = measure(_normalise, str(raw), str(snapshot))
    results["normalise"] = {"seconds": round(seconds, 1), "peak_gb": round(peak, 2),
                            "rows": rows}
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
