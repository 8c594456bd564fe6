"""Time and peak memory of the genetic-similarity stage on a snapshot, as the workflow runs it
(default settings: 5,000 samples per motif, three graph variants, vocabularies of 512
features fitted on 100,000 texts, 1,000 bootstrap resamples and sign flips).

    python benchmarks/similarity.py --snapshot bench/snapshot

The lineage is built first (not counted). The target of the similarity issue at 1.86M models:
vectorizer fit, motif counting and every sampled configuration in at most 5 minutes and 8 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

import polars as pl
from laps import Laps

from hubanatomy.lineage.build import DEFAULT_VARIANTS, LineageSettings, build_lineage
from hubanatomy.similarity.motifs import motif_table, sample_all_pairs
from hubanatomy.similarity.score import (
    read_dna,
    score_all,
    similarity_table,
    similarity_tests,
    split_scored,
)
from hubanatomy.snapshot.files import CARDS, MODELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", required=True, type=Path)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    variants = {"finetune": ["finetune"], "finetune_adapter": ["finetune", "adapter"],
                "all": list(DEFAULT_VARIANTS["all"])}
    settings = LineageSettings(variants={k: tuple(v) for k, v in variants.items()})
    lineage = build_lineage(pl.read_parquet(f"{args.snapshot}/models.parquet",
                                            columns=["model_id", "created_at"]),
                            pl.read_parquet(f"{args.snapshot}/parents.parquet"), settings)
    laps = Laps()
    lap = laps.lap
    counts = motif_table(lineage.nodes, lineage.edges, variants)
    lap("count_motifs")
    pairs = sample_all_pairs(lineage.nodes, lineage.edges, variants, args.samples, 1)
    lap("sample_pairs")
    dna = read_dna(args.snapshot / MODELS, args.snapshot / CARDS, 512, 512)
    scored = score_all(pairs, dna, lineage.nodes["model_id"], 512,
                       100_000, 1, workers=2)
    lap("fit_and_score")
    parts = split_scored(scored)
    similarity_table(parts, args.replicates, 1)
    lap("table")
    similarity_tests(parts, args.replicates, 1)
    lap("tests")
    print(json.dumps({
        "pairs": pairs.height, "scored_pairs": scored.height,
        "motif_occurrences": dict(zip(
            (counts["variant"] + ":" + counts["motif"]).to_list(),
            counts["occurrences"].to_list(), strict=True)),
        "seconds": laps.total(),
        "peak_gb_whole_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024**2, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
