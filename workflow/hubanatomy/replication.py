"""The replication table: every number of the paper (data/paper_numbers.csv) next to ours.

Each part of the workflow writes the values it computes as (key, value) rows
(results/replication/<part>.csv); `replication_table` joins them to the paper's numbers and
gives a verdict per row: `match` / `differs` on real data; on the simulator, which is
calibrated to the paper's marginals, shares and means get `calibrated` / `off-calibration` (a
check of the calibration) while counts and ranks, which depend on the simulated Hub's size and
planted orders, get `not comparable (simulated)`; `not yet computed` where no part has
produced the number yet. A simulated value is `calibrated` when it is within the paper's
tolerance or within CALIBRATION_TOLERANCE of the paper (the simulator is a stochastic model
calibrated to the paper's marginals, not a copy of the Hub).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hubanatomy import snapshot as snap
from hubanatomy.datafiles import read_data_csv
from hubanatomy.languages import language_name
from hubanatomy.summary import HAS_CARD_MIN_CHARS

COLUMNS = ["key", "description", "paper", "ours", "unit", "tolerance", "verdict"]
NOT_YET = "not yet computed"
NOT_COMPARABLE = "not comparable (simulated)"
# units whose value on the simulator depends on its size or planted order, not its calibration
SIZE_OR_ORDER_UNITS = ("count", "rank")
CALIBRATION_TOLERANCE = ("rel:0.25", "abs:0.01")


def paper_numbers() -> pl.DataFrame:
    return read_data_csv("paper_numbers.csv",
                         schema_overrides={"paper": pl.Float64, "section": pl.String})


def within(ours: float, paper: float, tolerance: str) -> bool:
    """abs:x -> |ours - paper| <= x; rel:x -> |ours - paper| <= x * |paper|;
    min -> ours >= paper (the paper gives a lower bound)."""
    kind, _, amount = tolerance.partition(":")
    if kind == "min":
        return ours >= paper
    limit = float(amount) * (abs(paper) if kind == "rel" else 1.0)
    if kind not in ("abs", "rel"):
        raise ValueError(f"paper_numbers.csv: unknown tolerance {tolerance!r}")
    return abs(ours - paper) <= limit + 1e-12


def _format(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def replication_table(parts: list[pl.DataFrame], simulated: bool) -> pl.DataFrame:
    """parts: frames with columns key, value (float). Later parts do not override earlier."""
    paper = paper_numbers()
    ours: dict[str, float] = {}
    for part in parts:
        for key, value in part.select("key", "value").iter_rows():
            ours.setdefault(key, value)
    rows = []
    for row in paper.iter_rows(named=True):
        value = ours.get(row["key"])
        if value is None:
            verdict = NOT_YET
        elif simulated and row["unit"] in SIZE_OR_ORDER_UNITS:
            verdict = NOT_COMPARABLE
        elif not simulated:
            verdict = "match" if within(value, row["paper"], row["tolerance"]) else "differs"
        else:
            close = any(within(value, row["paper"], t)
                        for t in (row["tolerance"], *CALIBRATION_TOLERANCE))
            verdict = "calibrated" if close else "off-calibration"
        rows.append({"key": row["key"], "description": row["description"],
                     "paper": _format(row["paper"]), "ours": _format(value),
                     "unit": row["unit"], "tolerance": row["tolerance"], "verdict": verdict})
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})


def foundation_values(snapshot_dir: str | Path) -> pl.DataFrame:
    """Our values of the paper's data counts and summary-figure shares (keys `data.*`,
    `top.*` of issue `foundation`)."""
    d = Path(snapshot_dir)
    models = pl.read_parquet(d / snap.MODELS, columns=["pipeline_tag", "library_name",
                                                      "licenses", "languages", "datasets"])
    cards = pl.read_parquet(d / snap.CARDS, columns=["length_chars"])
    total = models.height
    keys = paper_numbers().filter(pl.col("issue") == "foundation")["key"].to_list()

    def counts(column: str) -> dict[str, int]:
        series = models[column]
        if series.dtype == pl.List(pl.String):
            series = series.explode()
        vc = series.drop_nulls().value_counts()
        return dict(zip(vc[column].to_list(), vc["count"].to_list(), strict=True))

    licenses, tasks, libraries = counts("licenses"), counts("pipeline_tag"), counts("library_name")
    datasets = counts("datasets")
    languages = {language_name(code): n for code, n in counts("languages").items()}
    with_language = int((models["languages"].list.len() > 0).sum())
    with_task = int(models["pipeline_tag"].is_not_null().sum())
    with_library = int(models["library_name"].is_not_null().sum())
    ranked_languages = sorted(languages.values(), reverse=True)

    values: dict[str, float] = {
        "data.models_total": total,
        "data.share_with_card": float((cards["length_chars"] >= HAS_CARD_MIN_CHARS).mean()),
        "top.licenses.distinct_tags": len(licenses),
        "top.licenses.tag_count": sum(licenses.values()),
        "top.languages.text.English.share_lower_bound":
            languages.get("English", 0) / with_language if with_language else None,
        "top.languages.text.runner_up.share":
            ranked_languages[1] / with_language if len(ranked_languages) > 1 else None,
    }
    for key in keys:
        if key in values:
            continue
        parts = key.split(".")
        if parts[0] != "top" or len(parts) < 4:
            continue
        panel, name, measure = parts[1], ".".join(parts[2:-1]), parts[-1]
        table, denominator = {
            "licenses": (licenses, total), "tasks": (tasks, with_task),
            "languages": (languages, with_language), "libraries": (libraries, with_library),
            "datasets": (datasets, total),
        }.get(panel, (None, None))
        if table is None:
            continue
        count = table.get(name, 0)
        if measure == "count":
            values[key] = count
        elif measure == "share" and denominator:
            values[key] = count / denominator
    return pl.DataFrame({"key": list(values), "value": [
        None if v is None else float(v) for v in values.values()]},
        schema={"key": pl.String, "value": pl.Float64}).filter(pl.col("key").is_in(keys))


def lineage_values(nodes: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Our values of the paper's lineage numbers (keys `lineage.*`), on the paper's
    definitions: models of the snapshot only (virtual parents left out)."""
    from hubanatomy.lineage_tables import find_model

    keys = paper_numbers().filter(pl.col("issue") == "lineage")["key"].to_list()
    present = edges.filter(~pl.col("parent_virtual"))
    parents_present = present["parent_node"].unique().implode()
    values: dict[str, float] = {
        "lineage.nodes": int((~nodes["virtual"]).sum()),
        "lineage.edges": present.height,
    }
    typed = 0
    for relation in ("finetune", "quantized", "adapter"):
        n = int((present["primary_relation"] == relation).sum())
        typed += n
        values[f"lineage.edges.{relation}"] = n
        values[f"lineage.edges_child_has_children.{relation}"] = present.filter(
            (pl.col("primary_relation") == relation)
            & pl.col("child_node").is_in(parents_present)).height
    values["lineage.edges.merge"] = present.height - typed  # by difference, as the paper
    for key in keys:
        parts = key.split(".")
        if parts[1] not in ("top_parents", "largest_families"):
            continue
        model = find_model(nodes, ".".join(parts[2:-1]))
        if model is None:
            continue
        row = nodes.filter(pl.col("model_id") == model).row(0, named=True)
        if parts[1] == "top_parents":
            values[key] = row["children"]
        elif "family_size_no_merge" in row:
            values[key] = row["family_size_no_merge"]
    return pl.DataFrame({"key": list(values), "value": [float(v) for v in values.values()]},
                        schema={"key": pl.String, "value": pl.Float64}).filter(
        pl.col("key").is_in(keys))


def drift_values(mutation_rates: pl.DataFrame, numeric: pl.DataFrame) -> pl.DataFrame:
    """Our values of the paper's drift numbers (keys `drift.*`): its v1 numbers are on all
    edges (our variant `all`), its later mutation rates on the fine-tune-only graph."""
    keys = paper_numbers().filter(pl.col("issue") == "drift")["key"].to_list()
    values: dict[str, float] = {}
    for row in mutation_rates.filter(pl.col("relation") == "all").iter_rows(named=True):
        label = {"all": "v1", "finetune": "finetune"}.get(row["variant"])
        if label:
            values[f"drift.mutation_rate.{label}.{row['trait']}"] = row["mutation_rate"]
    drifts = {(r["measure"], r["relation"]): r
              for r in numeric.filter(pl.col("variant") == "all").iter_rows(named=True)}

    def put(key: str, measure: str, relation: str, field: str) -> None:
        row = drifts.get((measure, relation))
        if row is not None and row[field] is not None and np.isfinite(row[field]):
            values[key] = row[field]

    for side in ("parent", "child"):
        put(f"drift.languages.mean.both_listed.{side}", "n_languages_listed", "all", side)
        put(f"drift.languages.mean.all_edges.{side}", "n_languages", "all", side)
        put(f"drift.card_length.mean.{side}", "card_length_chars", "all", side)
        put(f"drift.auto_generated.all.{side}", "auto_generated", "all", side)
        for relation in ("finetune", "adapter", "quantized", "merge"):
            put(f"drift.card_length.{relation}.{side}", "card_length_chars", relation, side)
            put(f"drift.auto_generated.{relation}.{side}", "auto_generated", relation, side)
            put(f"drift.languages.{relation}.{side}", "n_languages_listed", relation, side)
    put("drift.card_length.mean.difference", "card_length_chars", "all", "difference")
    put("drift.auto_generated.all.difference", "auto_generated", "all", "difference")
    put("drift.card_length.edges", "card_length_chars", "all", "n_edges")
    return pl.DataFrame({"key": list(values), "value": [float(v) for v in values.values()]},
                        schema={"key": pl.String, "value": pl.Float64}).filter(
        pl.col("key").is_in(keys))


def ordering_values(orderings: pl.DataFrame) -> pl.DataFrame:
    """Our values of the paper's ordering numbers (keys `ordering.*`): the exact weighted order
    on all edges (v1) and on fine-tunes only, its metrics and every value's rank."""
    keys = paper_numbers().filter(pl.col("issue") == "orderings")["key"].to_list()
    exact = orderings.filter((pl.col("weighting") == "weighted") & (pl.col("method") == "exact"))
    values: dict[str, float] = {}
    for row in exact.iter_rows(named=True):
        label = {"all": "v1", "finetune": "finetune"}.get(row["variant"])
        if label is None:
            continue
        prefix = f"ordering.{label}.{row['trait']}.weighted"
        values[f"{prefix}.arcs.consistent"] = row["arcs_consistent"]
        values[f"{prefix}.arcs.total"] = row["arcs_total"]
        values[f"{prefix}.arcs.consistent_share"] = row["arcs_share"]
        values[f"{prefix}.mutations_accounted.share"] = row["mutations_share"]
        value = language_name(row["value"]) if row["trait"] == "languages" else row["value"]
        values[f"{prefix}.rank.{value}"] = row["rank"]
    return pl.DataFrame({"key": list(values), "value": [float(v) for v in values.values()]},
                        schema={"key": pl.String, "value": pl.Float64}).filter(
        pl.col("key").is_in(keys))


def similarity_values(table: pl.DataFrame, motifs: pl.DataFrame, cards_kept: int,
                      samples: int) -> pl.DataFrame:
    """Our values of the paper's similarity numbers (keys `similarity.*`), on the fine-tune
    graph as the paper: random pairs, parent-child (edge motif), siblings (two-children motif),
    grandparent-grandchild (chain motif), and the uncle motif's pairs."""
    keys = paper_numbers().filter(pl.col("issue") == "similarity")["key"].to_list()
    values: dict[str, float] = {
        "data.cards_kept_for_similarity": cards_kept,
        "similarity.motifs": motifs["motif"].n_unique(),
        "similarity.configurations": int(motifs.unique("motif")["configurations"].sum()),
        "similarity.samples_per_configuration": samples,
    }
    picks = {
        "random": ("random", "random pair"), "parent_child": ("edge", "parent-child"),
        "siblings": ("two_children", "siblings"),
        "grandparent_grandchild": ("chain", "grandparent-grandchild"),
        "uncle_motif.parent_child": ("uncle", "parent-child (upper)"),
        "uncle_motif.siblings": ("uncle", "siblings (parent and uncle)"),
    }
    rows = table.filter((pl.col("variant") == "finetune") & (pl.col("measure") == "tfidf"))
    for text in ("metadata", "cards"):
        for name, (motif, configuration) in picks.items():
            hit = rows.filter((pl.col("text") == text) & (pl.col("motif") == motif)
                              & (pl.col("configuration") == configuration))
            if hit.height and hit["mean"][0] is not None:
                values[f"similarity.{text}.tfidf.{name}"] = hit["mean"][0]
    return pl.DataFrame({"key": list(values), "value": [float(v) for v in values.values()]},
                        schema={"key": pl.String, "value": pl.Float64}).filter(
        pl.col("key").is_in(keys))
