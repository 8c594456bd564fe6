"""Time and peak memory of the lineage stage on a snapshot (default: a 1.86M-model
simulated Hub made by benchmarks/simulate_and_normalise.py --keep --out DIR).

    python benchmarks/lineage.py --snapshot DIR/snapshot

The target of the lineage issue: 1.86M nodes / 574k edges in at most 60 s and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time

import polars as pl

from hubanatomy.lineage.build import LineageSettings, build_lineage, lineage_files, write_lineage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", required=True, help="a canonical snapshot directory")
    args = parser.parse_args()

    start = time.perf_counter()
    models = pl.read_parquet(f"{args.snapshot}/models.parquet", columns=["model_id", "created_at"])
    parents = pl.read_parquet(f"{args.snapshot}/parents.parquet")
    renames = pl.read_parquet(f"{args.snapshot}/renames.parquet")
    read = time.perf_counter() - start
    lineage = build_lineage(models, parents, LineageSettings(), renames=renames)
    built = time.perf_counter() - start - read
    with tempfile.TemporaryDirectory() as out:
        write_lineage(lineage, **lineage_files(out))
    total = time.perf_counter() - start
    print(json.dumps({
        "nodes": lineage.nodes.height, "edges": lineage.edges.height,
        "seconds": {"read": round(read, 1), "build": round(built, 1), "total": round(total, 1)},
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "hygiene": lineage.hygiene["counts"],
        "variants": lineage.hygiene["variants"],
    }, indent=2))


if __name__ == "__main__":
    main()
