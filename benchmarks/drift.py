"""Time and peak memory of the whole traits-and-drift stage on a snapshot (default settings:
1,000 bootstrap resamples and 1,000 sign flips, variants all and finetune).

    python benchmarks/drift.py --snapshot bench/snapshot

The lineage is built first (not counted); then label_traits, drift edges, mutation rates,
numeric drifts, the tests and the four transition tables are timed as the workflow runs them.
The target of the drift issue: 1.86M models / 574k edges in at most 3 minutes and 6 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

import polars as pl
from laps import Laps

from hubanatomy.drift import measures as drift
from hubanatomy.drift.edges import all_drift_edges, split_variants
from hubanatomy.drift.labels import SET_TRAITS, label_traits
from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.snapshot.files import CARDS, MODELS
from hubanatomy.stats.tables import finalise_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", required=True, type=Path)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    settings = LineageSettings()
    lineage = build_lineage(pl.read_parquet(f"{args.snapshot}/models.parquet",
                                            columns=["model_id", "created_at"]),
                            pl.read_parquet(f"{args.snapshot}/parents.parquet"), settings)
    laps = Laps()
    lap = laps.lap
    traits = label_traits(args.snapshot / MODELS, args.snapshot / CARDS)
    lap("label_traits")
    frames = split_variants(all_drift_edges(
        lineage.edges, lineage.nodes, traits,
        {v: list(settings.variants[v]) for v in ("all", "finetune")}), ["all", "finetune"])
    lap("drift_edges")
    drift.mutation_rates(frames, args.replicates, 1)
    lap("mutation_rates")
    drift.numeric_drift(frames, args.replicates, 1)
    lap("numeric_drift")
    parts = [drift.drift_tests(frames, args.replicates, 1)]
    lap("drift_tests")
    for trait in SET_TRAITS:
        parts.append(drift.transition_analysis(frames, traits, trait, 20, args.replicates, 1)[1])
    lap("transitions")
    tests = finalise_tests(parts)
    print(json.dumps({
        "edges": {v: f.height for v, f in frames.items()},
        "tests": tests.height, "seconds": laps.total(),
        "peak_gb_whole_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024**2, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
