"""Trait mutation and drift along lineages, with family-level inference, on the edges of
drift.edges (the family is the unit of resampling and clustering).

* mutation rate of a set trait = mean Jaccard distance between parent and child sets over edges
  where both sets are non-empty;
* transitions (the paper's definition): each trait the child adds gets one transition from every
  parent trait; each trait the parent loses gives one transition to every child trait;
* numeric drifts: parent vs child card length, P(auto-generated), P(has card), languages.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp

from hubanatomy.drift.edges import ALL, relation_groups
from hubanatomy.drift.labels import OPENNESS, PLACEHOLDERS, SET_TRAITS
from hubanatomy.snapshot import files as snap
from hubanatomy.stats.inference import (
    MIN_FAMILIES,
    FamilyBootstrap,
    clustered_regression,
    family_sign_flip_test,
    sign_flip_pvalues,
)
from hubanatomy.stats.tables import direction_label, result_frame, result_row

BASELINE_RELATION = "finetune"
# numeric drifts: name -> (trait column, which edges count)
MEASURES = {
    "card_length_chars": ("card_length_chars", "both_cards"),
    "card_length_words": ("card_length_words", "both_cards"),
    "auto_generated": ("auto_generated", "both_cards"),
    "has_card": ("has_card", "all"),
    "n_languages_listed": ("n_languages", "both_languages"),
    "n_languages": ("n_languages", "all"),
}
MUTATION_SCHEMA = {"trait": pl.String, "relation": pl.String, "variant": pl.String,
                   "mutation_rate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                   "n_edges": pl.Int64, "n_families": pl.Int64}
NUMERIC_SCHEMA = {"measure": pl.String, "relation": pl.String, "variant": pl.String,
                  **{f"{side}{suffix}": pl.Float64 for side in ("parent", "child", "difference")
                     for suffix in ("", "_low", "_high")},
                  "n_edges": pl.Int64, "n_families": pl.Int64}
TRANSITIONS_SCHEMA = {"variant": pl.String, "source": pl.String, "target": pl.String,
                      "forward": pl.Int64, "backward": pl.Int64, "net": pl.Int64,
                      "directedness": pl.Float64, "p": pl.Float64,
                      "source_models": pl.Int64, "source_rank": pl.Int64,
                      "target_models": pl.Int64, "target_rank": pl.Int64}


# --- mutation rates ---------------------------------------------------------------------

def jaccard_distance(trait: str) -> pl.Expr:
    p, c = pl.col(f"p_{trait}"), pl.col(f"c_{trait}")
    union = p.list.set_union(c).list.len()
    return 1 - p.list.set_intersection(c).list.len() / union


def mutation_rates(frames: dict[str, pl.DataFrame], replicates: int, seed: int) -> pl.DataFrame:
    rows = []
    for variant, frame in frames.items():
        boot = FamilyBootstrap(frame["family"].to_numpy(), replicates, seed)
        cells = []
        for trait in SET_TRAITS:
            both = ((frame[f"p_{trait}"].list.len() > 0)
                    & (frame[f"c_{trait}"].list.len() > 0)).to_numpy()
            distance = frame.select(jaccard_distance(trait).fill_null(0.0)).to_series().to_numpy()
            for relation, mask in relation_groups(frame):
                name = f"{trait}|{relation}"
                boot.add(name, distance, mask & both)
                cells.append((name, trait, relation))
        stats = boot.compute()
        for name, trait, relation in cells:
            s = stats[name]
            rows.append({"trait": trait, "relation": relation, "variant": variant,
                         "mutation_rate": s["mean"], "ci_low": s["low"], "ci_high": s["high"],
                         "n_edges": s["n_edges"], "n_families": s["n_families"]})
    return pl.DataFrame(rows, schema=MUTATION_SCHEMA)


# --- transitions ------------------------------------------------------------------------

def transition_counts(frame: pl.DataFrame, trait: str) -> pl.DataFrame:
    """family, source, target, count of transitions i -> j."""
    p, c = pl.col(f"p_{trait}"), pl.col(f"c_{trait}")
    base = frame.select("family", p.alias("parent"), c.alias("child"),
                        c.list.set_difference(p).alias("added"),
                        p.list.set_difference(c).alias("removed"))
    gained = (base.select("family", pl.col("parent").alias("source"),
                          pl.col("added").alias("target"))
              .filter(pl.col("target").list.len() > 0).explode("source").explode("target"))
    lost = (base.select("family", pl.col("removed").alias("source"),
                        pl.col("child").alias("target"))
            .filter(pl.col("source").list.len() > 0).explode("source").explode("target"))
    return (pl.concat([gained, lost]).drop_nulls()
            .group_by(["family", "source", "target"]).len("count")
            .sort(["family", "source", "target"]))


def top_values(traits: pl.DataFrame, trait: str, n: int) -> pl.DataFrame:
    """The n values carried by most models (placeholders dropped): value, models, rank."""
    counts = (traits.select(pl.col(trait).explode().alias("value")).drop_nulls()
              .filter(~pl.col("value").is_in(PLACEHOLDERS))
              .group_by("value").len("models").sort(["models", "value"],
                                                    descending=[True, False]).head(n))
    return counts.with_columns(rank=pl.int_range(1, pl.len() + 1),
                               models=pl.col("models").cast(pl.Int64))


def transitions_table(counts: pl.DataFrame, top: pl.DataFrame, replicates: int,
                      seed: int) -> tuple[pl.DataFrame, dict]:
    """Per unordered pair of top values, oriented by net flow: forward (dominant direction) and
    backward counts, net, directedness = forward / (forward + backward), and a family sign-flip
    p-value; plus the overall directedness test."""
    keep = top["value"].implode()
    c = counts.filter(pl.col("source").is_in(keep) & pl.col("target").is_in(keep)
                      & (pl.col("source") != pl.col("target")))
    c = c.with_columns(low=pl.min_horizontal("source", "target"),
                       high=pl.max_horizontal("source", "target"),
                       sign=pl.when(pl.col("source") < pl.col("target")).then(1).otherwise(-1))
    pairs = c.group_by(["low", "high"]).agg(
        up=(pl.col("count") * (pl.col("sign") == 1)).sum(),
        down=(pl.col("count") * (pl.col("sign") == -1)).sum()).sort(["low", "high"])
    if pairs.height == 0:
        empty = pl.DataFrame(schema={"source": pl.String, "target": pl.String,
                                     "forward": pl.Int64, "backward": pl.Int64, "net": pl.Int64,
                                     "directedness": pl.Float64, "p": pl.Float64})
        return empty, {"statistic": np.nan, "effect": np.nan, "low": np.nan, "high": np.nan,
                       "p": np.nan, "n_edges": 0, "n_families": 0}
    pairs = pairs.with_columns(pair=pl.int_range(pl.len()))
    c = c.join(pairs.select("low", "high", "pair"), on=["low", "high"], maintain_order="left")
    families, n_families = np.unique(c["family"].to_numpy(), return_inverse=True)
    enough = len(families) >= MIN_FAMILIES
    rows = c["pair"].to_numpy()
    contributions = sp.csr_matrix(
        ((c["count"] * c["sign"]).to_numpy().astype(float), (n_families, rows)),
        shape=(len(families), pairs.height))
    totals = (pairs["up"] + pairs["down"]).to_numpy().astype(float)
    statistic, p, pair_p = sign_flip_pvalues(contributions, totals, replicates, seed)
    up, down = pairs["up"].to_numpy(), pairs["down"].to_numpy()
    forward_up = up >= down
    table = pl.DataFrame({
        "source": np.where(forward_up, pairs["low"].to_numpy(), pairs["high"].to_numpy()),
        "target": np.where(forward_up, pairs["high"].to_numpy(), pairs["low"].to_numpy()),
        "forward": np.maximum(up, down).astype(np.int64),
        "backward": np.minimum(up, down).astype(np.int64),
    }).with_columns(net=pl.col("forward") - pl.col("backward"),
                    directedness=pl.col("forward") / (pl.col("forward") + pl.col("backward")),
                    p=pl.Series(pair_p)).sort(["net", "source", "target"],
                                              descending=[True, False, False])
    test = {"statistic": statistic, "effect": statistic, "low": np.nan, "high": np.nan,
            "p": p if enough else np.nan, "n_edges": int(c["count"].sum()),
            "n_families": len(families)}
    return table, test


# --- numeric drifts ---------------------------------------------------------------------

def _measure_mask(frame: pl.DataFrame, which: str) -> np.ndarray:
    if which == "both_cards":
        return (frame["p_has_card"] & frame["c_has_card"]).fill_null(False).to_numpy()
    if which == "both_languages":
        return ((frame["p_n_languages"] > 0) & (frame["c_n_languages"] > 0)).to_numpy()
    return np.ones(frame.height, dtype=bool)


def _measure_values(frame: pl.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    parent = frame[f"p_{column}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    child = frame[f"c_{column}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return parent, child


def numeric_drift(frames: dict[str, pl.DataFrame], replicates: int, seed: int) -> pl.DataFrame:
    rows = []
    for variant, frame in frames.items():
        boot = FamilyBootstrap(frame["family"].to_numpy(), replicates, seed)
        cells = []
        for measure, (column, which) in MEASURES.items():
            parent, child = _measure_values(frame, column)
            base = _measure_mask(frame, which) & np.isfinite(parent) & np.isfinite(child)
            for relation, mask in relation_groups(frame):
                for side, values in (("parent", parent), ("child", child),
                                     ("difference", child - parent)):
                    boot.add(f"{measure}|{relation}|{side}", np.nan_to_num(values), base & mask)
                cells.append((measure, relation))
        stats = boot.compute()
        for measure, relation in cells:
            row = {"measure": measure, "relation": relation, "variant": variant}
            for side in ("parent", "child", "difference"):
                s = stats[f"{measure}|{relation}|{side}"]
                row.update({side: s["mean"], f"{side}_low": s["low"], f"{side}_high": s["high"]})
            row.update({"n_edges": s["n_edges"], "n_families": s["n_families"]})
            rows.append(row)
    return pl.DataFrame(rows, schema=NUMERIC_SCHEMA)


# --- tests ------------------------------------------------------------------------------

def license_openness_change(frame: pl.DataFrame) -> np.ndarray:
    """+1 toward more open licenses, -1 toward less open, 0 no class change or unknown; a
    model's class is its least open license (the binding terms)."""
    def openness(column):
        return frame.select(pl.col(column).list.eval(
            pl.element().replace_strict(OPENNESS, default=None, return_dtype=pl.Int64))
            .list.drop_nulls().list.min()).to_series().to_numpy()

    parent, child = openness("p_license_classes"), openness("c_license_classes")
    change = np.sign(np.nan_to_num(child.astype(float) - parent.astype(float)))
    change[~(np.isfinite(parent.astype(float)) & np.isfinite(child.astype(float)))] = 0
    return change


def non_english_change(frame: pl.DataFrame) -> np.ndarray:
    """+1 when the child lists fewer non-English languages than its parent, -1 more, 0 same
    (edges where both list languages)."""
    def non_english(column):
        return frame.select(pl.col(column).list.eval(pl.element().filter(pl.element() != "en"))
                            .list.len().cast(pl.Int64)).to_series().to_numpy()

    both = ((frame["p_n_languages"] > 0) & (frame["c_n_languages"] > 0)).to_numpy()
    return np.where(both, np.sign(non_english("p_languages") - non_english("c_languages")), 0)


def drift_tests(frames: dict[str, pl.DataFrame], replicates: int, seed: int) -> pl.DataFrame:
    """Paired parent/child tests of every numeric drift, relation effects, and the direction of
    license and language changes (p-values; q is added across the whole table later)."""
    rows: list[dict] = []
    for variant, frame in frames.items():
        families = frame["family"].to_numpy()
        relation = frame["relation"].to_numpy()
        for measure, (column, which) in MEASURES.items():
            parent, child = _measure_values(frame, column)
            base = _measure_mask(frame, which) & np.isfinite(parent) & np.isfinite(child)
            diff = child - parent
            for group, mask in relation_groups(frame):
                m = base & mask
                result = family_sign_flip_test(diff[m], families[m], 0.0, replicates, seed)
                rows.append(result_row(
                    "paired_difference", f"mean child - parent {measure}", measure, group,
                    variant, result,
                    direction_label(result["effect"], "child > parent", "child < parent")))
            for group, result in clustered_regression(diff[base], relation[base],
                                                      BASELINE_RELATION, families[base]).items():
                rows.append(result_row(
                    "relation_effect", f"change of {measure}: {group} minus {BASELINE_RELATION}",
                    measure, f"{group} vs {BASELINE_RELATION}", variant, result,
                    direction_label(result["effect"], f"larger for {group}",
                                    f"smaller for {group}")))
        for name, description, change, positive, negative in (
            ("license_toward_open", "share of license class changes toward more open licenses",
             license_openness_change(frame), "toward open", "toward restricted"),
            ("languages_drop_non_english",
             "share of language changes where the child lists fewer non-English languages",
             non_english_change(frame), "drops non-English", "adds non-English"),
        ):
            for group, mask in relation_groups(frame):
                m = mask & (change != 0)
                result = direction_share_test(change[m], families[m], replicates, seed)
                rows.append(result_row("direction_share", description, name, group, variant,
                                      result,
                                      direction_label(result["effect"] - 0.5, positive,
                                                      negative)))
    return result_frame(rows)


def transition_analysis(frames: dict[str, pl.DataFrame], traits: pl.DataFrame, trait: str,
                        top_n: int, replicates: int,
                        seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The transitions table of a trait (every variant) and its directedness tests."""
    top = top_values(traits, trait, top_n)
    tables, rows = [], []
    for variant, frame in frames.items():
        table, result = transitions_table(transition_counts(frame, trait), top, replicates,
                                          seed)
        tables.append(table.select(pl.lit(variant).alias("variant"), pl.all()))
        rows.append(result_row(
            "transition_directedness",
            f"share of {trait} transitions in the dominant direction of their pair "
            f"(top {top_n}; family sign-flip test)", trait, ALL, variant, result,
            "more one-directional than chance (one-sided)" if np.isfinite(result["p"])
            else "not tested (too few families)"))
    models = top.select(pl.col("value"), "models", pl.col("rank").cast(pl.Int64))
    table = (pl.concat(tables)
             .join(models.rename({"value": "source", "models": "source_models",
                                  "rank": "source_rank"}), on="source", how="left")
             .join(models.rename({"value": "target", "models": "target_models",
                                  "rank": "target_rank"}), on="target", how="left"))
    return snap.conform(table, TRANSITIONS_SCHEMA), result_frame(rows)


def direction_share_test(change: np.ndarray, families: np.ndarray, replicates: int,
                         seed: int) -> dict:
    """Share of +1 among +-1 changes against one half (no preferred direction)."""
    return family_sign_flip_test((change > 0).astype(float), families, 0.5, replicates, seed)


