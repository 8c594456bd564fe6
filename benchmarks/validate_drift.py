"""Calibration of the drift tests on the simulator: detection of planted drifts in the
`directed` scenario, false positives in the `neutral` one, over several seeds.

    python benchmarks/validate_drift.py --models 60000 --seeds 1 2 3 4 5

For each seed and scenario: simulate, normalise, build the lineage, label traits, run every
drift test of the workflow (same code, same settings as the workflow's defaults except the
number of resamples) and the Benjamini-Hochberg correction. Prints, per scenario, the share of
planted tests found in their planted direction at q < 0.05 (directed) and the share of tests
with p < 0.05 and with q < 0.05 (neutral: every effect is null there).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from hubanatomy.drift import measures as drift
from hubanatomy.drift.edges import drift_edges
from hubanatomy.drift.labels import SET_TRAITS, label_traits
from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.files import CARDS, MODELS
from hubanatomy.snapshot.normalise import normalise, source_record
from hubanatomy.stats.tables import finalise_tests

BOTH = ("all", "finetune")
DIRECTED = "more one-directional than chance (one-sided)"
# (test, trait, direction the directed scenario plants, variants where it is planted),
# checked on relation "all"; libraries change only through adapters, absent from fine-tunes
PLANTED = [
    ("paired_difference", "card_length_chars", "child < parent", BOTH),
    ("paired_difference", "card_length_words", "child < parent", BOTH),
    ("paired_difference", "auto_generated", "child > parent", BOTH),
    ("paired_difference", "has_card", "child < parent", BOTH),
    ("paired_difference", "n_languages_listed", "child < parent", BOTH),
    ("paired_difference", "n_languages", "child < parent", BOTH),
    ("direction_share", "license_toward_open", "toward open", BOTH),
    ("direction_share", "languages_drop_non_english", "drops non-English", BOTH),
    *[("transition_directedness", t, DIRECTED, BOTH) for t in SET_TRAITS if t != "libraries"],
    ("transition_directedness", "libraries", DIRECTED, ("all",)),
]


def run_tests(work: Path, models: int, seed: int, scenario: str, replicates: int) -> pl.DataFrame:
    raw, snap = work / "raw", work / "snapshot"
    simulate(models, seed, scenario, raw)
    normalise(raw, snap, source_record({"kind": "simulated"}, raw))
    settings = LineageSettings()
    lineage = build_lineage(pl.read_parquet(snap / "models.parquet",
                                            columns=["model_id", "created_at"]),
                            pl.read_parquet(snap / "parents.parquet"), settings)
    traits = label_traits(snap / MODELS, snap / CARDS)
    frames = {v: drift_edges(lineage.edges, lineage.nodes, traits, v,
                                   list(settings.variants[v])) for v in ("all", "finetune")}
    parts = [drift.drift_tests(frames, replicates, seed)]
    for trait in SET_TRAITS:
        parts.append(drift.transition_analysis(frames, traits, trait, 20, replicates, seed)[1])
    return finalise_tests(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--replicates", type=int, default=500)
    args = parser.parse_args()

    summary = {}
    for scenario in ("directed", "neutral"):
        detected, planted_total, rows, missed = 0, 0, [], {}
        for seed in args.seeds:
            work = Path(tempfile.mkdtemp(prefix="hubanatomy-validate-"))
            start = time.perf_counter()
            tests = run_tests(work, args.models, seed, scenario, args.replicates)
            shutil.rmtree(work, ignore_errors=True)
            tested = tests.filter(pl.col("p").is_not_null())
            for test, trait, direction, variants in PLANTED:
                # an untested planted row (too few families) counts as a miss
                hits = tests.filter((pl.col("test") == test) & (pl.col("trait") == trait)
                                    & (pl.col("relation") == "all")
                                    & pl.col("variant").is_in(list(variants)))
                planted_total += hits.height
                found = hits.filter((pl.col("q") < 0.05) & (pl.col("direction") == direction))
                detected += found.height
                if scenario == "directed" and found.height < hits.height:
                    for variant in sorted(set(hits["variant"]) - set(found["variant"])):
                        missed.setdefault(f"{test}:{trait}:{variant}", []).append(seed)
            rows.append({"seed": seed, "tests": tests.height, "tested": tested.height,
                         "p<0.05": round(float((tested["p"] < 0.05).mean()), 4),
                         "q<0.05": round(float((tested["q"] < 0.05).mean()), 4),
                         "seconds": round(time.perf_counter() - start, 1)})
        summary[scenario] = {
            "per_seed": rows,
            "planted_tests_detected": f"{detected}/{planted_total}",
            "detection_rate": round(detected / planted_total, 4) if planted_total else None,
            "missed (test:trait:variant -> seeds)": missed,
            "mean_share_p<0.05": round(float(np.mean([r["p<0.05"] for r in rows])), 4),
            "mean_share_q<0.05": round(float(np.mean([r["q<0.05"] for r in rows])), 4),
        }
    print(json.dumps({"models": args.models, "seeds": args.seeds,
                      "replicates": args.replicates, **summary}, indent=2))


if __name__ == "__main__":
    main()
