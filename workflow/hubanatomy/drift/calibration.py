"""Calibration of the drift tests on the simulator: are the planted drifts of the `directed`
scenario found, and how many tests come out significant in the `neutral` one, where every
effect is null?

One run simulates a Hub of a scenario and seed, and passes it through the workflow's own code
(normaliser, lineage, trait labels, drift edges, every drift test, Benjamini-Hochberg) with the
workflow's default settings but for the number of resamples. Runs are independent jobs (one
per scenario and seed), so a cluster runs them side by side.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from hubanatomy.drift import measures as drift
from hubanatomy.drift.edges import drift_edges
from hubanatomy.drift.labels import SET_TRAITS, label_traits
from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.files import CARDS, MODELS, PARENTS
from hubanatomy.snapshot.normalise import normalise, source_record
from hubanatomy.stats.tables import finalise_tests

LEVEL = 0.05
# the tests of a direction of change, whose null hypothesis the neutral scenario makes true;
# relation effects are not among them: the simulator gives each relation its own card lengths
# and languages in both scenarios, so relations differ there too
DIRECTIONAL = ("paired_difference", "direction_share", "transition_directedness")
VARIANTS = ("all", "finetune")
DIRECTED = "more one-directional than chance (one-sided)"
# (test, trait, direction the directed scenario plants, variants where it is planted), each
# checked on relation "all"; libraries change only through adapters, absent from fine-tunes
PLANTED = [
    ("paired_difference", "card_length_chars", "child < parent", VARIANTS),
    ("paired_difference", "card_length_words", "child < parent", VARIANTS),
    ("paired_difference", "auto_generated", "child > parent", VARIANTS),
    ("paired_difference", "has_card", "child < parent", VARIANTS),
    ("paired_difference", "n_languages_listed", "child < parent", VARIANTS),
    ("paired_difference", "n_languages", "child < parent", VARIANTS),
    ("direction_share", "license_toward_open", "toward open", VARIANTS),
    ("direction_share", "languages_drop_non_english", "drops non-English", VARIANTS),
    *[("transition_directedness", t, DIRECTED, VARIANTS) for t in SET_TRAITS if t != "libraries"],
    ("transition_directedness", "libraries", DIRECTED, ("all",)),
]


def calibration_tests(models: int, seed: int, scenario: str, replicates: int, top_n: int,
                      scratch: Path) -> pl.DataFrame:
    """Every drift test of the workflow on one simulated Hub (scratch files go under scratch)."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="calibration-") as work:
        raw, snap = Path(work) / "raw", Path(work) / "snapshot"
        simulate(models, seed, scenario, raw)
        normalise(raw, snap, source_record({"kind": "simulated"}, raw))
        settings = LineageSettings()
        lineage = build_lineage(pl.read_parquet(snap / MODELS, columns=["model_id", "created_at"]),
                                pl.read_parquet(snap / PARENTS), settings)
        traits = label_traits(snap / MODELS, snap / CARDS)
    frames = {v: drift_edges(lineage.edges, lineage.nodes, traits, v, list(settings.variants[v]))
              for v in VARIANTS}
    parts = [drift.drift_tests(frames, replicates, seed)]
    for trait in SET_TRAITS:
        parts.append(drift.transition_analysis(frames, traits, trait, top_n, replicates, seed)[1])
    return finalise_tests(parts)


def planted_rows(tests: pl.DataFrame) -> pl.DataFrame:
    """The tests of the planted drifts, with whether each was found in its planted direction."""
    parts = []
    for test, trait, direction, variants in PLANTED:
        rows = tests.filter((pl.col("test") == test) & (pl.col("trait") == trait)
                            & (pl.col("relation") == "all") & pl.col("variant").is_in(variants))
        parts.append(rows.with_columns(
            # an untested planted row (too few families) counts as a miss
            found=((pl.col("q") < LEVEL) & (pl.col("direction") == direction)).fill_null(False)))
    return pl.concat(parts, how="diagonal_relaxed")


def calibration_row(scenario: str, seed: int, tests: pl.DataFrame) -> dict:
    """One run's line of the calibration table."""
    tested = tests.filter(pl.col("p").is_not_null() & pl.col("test").is_in(DIRECTIONAL))
    planted = planted_rows(tests)

    def share(column: str) -> float | None:
        return round(float((tested[column] < LEVEL).mean()), 4) if tested.height else None

    return {"scenario": scenario, "seed": seed, "directional_tested": tested.height,
            "share_p_below_level": share("p"), "share_q_below_level": share("q"),
            "planted_tests": planted.height, "planted_found": int(planted["found"].sum()),
            # misses are news only where drifts are planted
            "planted_missed": "" if scenario == "neutral" else ";".join(sorted(
                f"{r['test']}:{r['trait']}:{r['variant']}"
                for r in planted.filter(~pl.col("found")).iter_rows(named=True)))}


def calibration_table(rows: list[dict]) -> pl.DataFrame:
    """Per scenario, its runs, then one line over its seeds (seed empty): shares are means over the
    seeds, planted counts their sums. In the directed scenario planted_found / planted_tests is
    the detection rate; in the neutral one, share_q_below_level is the false-discovery share
    (every effect there is null; at most the level is expected)."""
    runs = pl.DataFrame(rows).sort("scenario", "seed")
    overall = runs.group_by("scenario", maintain_order=True).agg(
        pl.lit(None, pl.Int64).alias("seed"), pl.col("directional_tested").sum(),
        pl.col("share_p_below_level").mean().round(4),
        pl.col("share_q_below_level").mean().round(4),
        pl.col("planted_tests").sum(), pl.col("planted_found").sum(),
        pl.lit("").alias("planted_missed"))
    return pl.concat([runs, overall.select(runs.columns)], how="vertical_relaxed").sort(
        "scenario", "seed", nulls_last=True, maintain_order=True)
