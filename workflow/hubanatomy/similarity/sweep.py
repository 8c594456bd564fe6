"""The directionality sweep: the drift schematic made quantitative. Simulated Hubs in the
directed scenario with a growing share of siblings following a shared direction of mutation
(mutation.sibling_shared), and one in the neutral scenario; on each, siblings and parent-child
similarity in two-children motifs of the fine-tune graph. Each Hub is one run of the
workflow's sweep rules (simulate, normalise, score), so runs are cached and run in parallel."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from hubanatomy.errors import InputError
from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.similarity.motifs import MOTIFS, sample_motif, variant_graph
from hubanatomy.similarity.score import read_dna, score_all
from hubanatomy.stats.inference import FamilyBootstrap

SWEEP_SCHEMA = {"scenario": pl.String, "sibling_shared": pl.Float64, "text": pl.String,
                "pair_kind": pl.String, "tfidf_mean": pl.Float64, "ci_low": pl.Float64,
                "ci_high": pl.Float64, "n": pl.Int64, "families": pl.Int64}
NEUTRAL = "neutral"
_DIRECTED = re.compile(r"directed-(\d+(?:\.\d+)?)")


def sweep_runs(shares: list[float]) -> list[str]:
    """The runs of a sweep, in the table's order: one directed Hub per share, then the
    neutral one."""
    return [f"directed-{float(share)}" for share in shares] + [NEUTRAL]


def run_scenario(run: str) -> tuple[str, float | None]:
    """(scenario, sibling_shared share or None) of a run name from sweep_runs."""
    if run == NEUTRAL:
        return NEUTRAL, None
    match = _DIRECTED.fullmatch(run)
    if not match:
        raise InputError(f"sweep run {run!r} is neither 'neutral' nor 'directed-<share>'")
    return "directed", float(match.group(1))


def run_mutation(run: str) -> dict | None:
    """The simulator's mutation overrides of a run."""
    _, share = run_scenario(run)
    return None if share is None else {"sibling_shared": share}


def sweep_scores(run: str, models, parents, cards, seed: int, samples: int, features: int,
                 fit_sample: int, card_min_chars: int, card_chars: int,
                 replicates: int) -> pl.DataFrame:
    """The rows of one run (its snapshot's models, parents and cards files): mean TF-IDF
    similarity of siblings and of parent-child pairs per DNA, with family-bootstrap
    intervals; no rows when the fine-tune graph has no two-children motif."""
    scenario, share = run_scenario(run)
    settings = LineageSettings(variants={"finetune": ("finetune",)})
    lineage = build_lineage(pl.read_parquet(models, columns=["model_id", "created_at"]),
                            pl.read_parquet(parents), settings)
    graph, n_models = variant_graph(lineage.nodes, lineage.edges, ["finetune"])
    occurrences = sample_motif(graph, "two_children", samples, np.random.default_rng(seed),
                               np.arange(n_models))
    if occurrences is None:
        return pl.DataFrame(schema=SWEEP_SCHEMA)
    family = lineage.nodes["family_finetune"].to_numpy()[occurrences[:, 0]]
    pairs = pl.concat([
        pl.DataFrame({"configuration": c, "occurrence": np.arange(len(occurrences)),
                      "a": occurrences[:, x], "b": occurrences[:, y], "family": family})
        for c, _, _, (x, y) in MOTIFS["two_children"]])
    dna = read_dna(models, cards, card_min_chars, card_chars)
    scored = score_all(pairs, dna, lineage.nodes["model_id"], features, fit_sample, seed)
    rows = []
    for text in scored["text"].unique(maintain_order=True).to_list():
        frame = scored.filter(pl.col("text") == text)
        boot = FamilyBootstrap(frame["family"].to_numpy(), replicates, seed)
        for configuration in ("siblings", "parent-child"):
            boot.add(configuration, frame["tfidf"].to_numpy(),
                     (frame["configuration"] == configuration).to_numpy())
        for configuration, s in boot.compute().items():
            rows.append({"scenario": scenario, "sibling_shared": share, "text": text,
                         "pair_kind": configuration, "tfidf_mean": s["mean"],
                         "ci_low": s["low"], "ci_high": s["high"], "n": s["n_edges"],
                         "families": s["n_families"]})
    return pl.DataFrame(rows, schema=SWEEP_SCHEMA)
