"""The directionality sweep: siblings vs parent-child similarity on simulated Hubs as the
shared direction of mutation grows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.similarity.motifs import MOTIFS, sample_motif, variant_graph
from hubanatomy.similarity.score import read_dna, score_all
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.files import CARDS, MODELS
from hubanatomy.snapshot.normalise import normalise, source_record
from hubanatomy.stats.inference import FamilyBootstrap


def directionality_sweep(shares: list[float], models: int, seed: int, workdir,
                         samples: int, features: int, fit_sample: int, card_min_chars: int,
                         card_chars: int, replicates: int) -> pl.DataFrame:
    """The drift schematic made quantitative: simulate the directed scenario with a growing
    share of siblings following a shared direction (mutation.sibling_shared), and the neutral
    one; measure siblings and parent-child similarity in two-children motifs of the fine-tune
    graph."""
    rows = []
    runs = [("directed", share) for share in shares] + [("neutral", None)]
    for i, (scenario, share) in enumerate(runs):
        root = Path(workdir) / f"run{i}"
        simulate(models, seed, scenario, root / "raw",
                 mutation=None if share is None else {"sibling_shared": share})
        normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
        settings = LineageSettings(variants={"finetune": ("finetune",)})
        lineage = build_lineage(pl.read_parquet(root / "snap" / "models.parquet",
                                                columns=["model_id", "created_at"]),
                                pl.read_parquet(root / "snap" / "parents.parquet"), settings)
        graph, n_models = variant_graph(lineage.nodes, lineage.edges, ["finetune"])
        occurrences = sample_motif(graph, "two_children", samples,
                                   np.random.default_rng(seed), np.arange(n_models))
        if occurrences is None:
            continue
        family = lineage.nodes["family_finetune"].to_numpy()[occurrences[:, 0]]
        pairs = pl.concat([
            pl.DataFrame({"configuration": c, "occurrence": np.arange(len(occurrences)),
                          "a": occurrences[:, x], "b": occurrences[:, y], "family": family})
            for c, _, _, (x, y) in MOTIFS["two_children"]])
        dna = read_dna(root / "snap" / MODELS, root / "snap" / CARDS, card_min_chars, card_chars)
        scored = score_all(pairs, dna,
                           lineage.nodes["model_id"], features, fit_sample, seed)
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
    return pl.DataFrame(rows, schema_overrides={"sibling_shared": pl.Float64})
