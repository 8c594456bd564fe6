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

from hubanatomy.datafiles import read_data_csv
from hubanatomy.snapshot import files as snap
from hubanatomy.snapshot.languages import language_name
from hubanatomy.summary.tables import HAS_CARD_MIN_CHARS

COLUMNS = ["key", "description", "paper", "ours", "unit", "tolerance", "verdict",
           "definition"]
NOT_YET = "not yet computed"
NOT_AVAILABLE = "not available"
NOT_COMPARABLE = "not comparable (simulated)"
NO_PAPER_VALUE = "ours only (the paper gives no number)"
# units whose value on the simulator depends on its size or planted order, not its calibration
SIZE_OR_ORDER_UNITS = ("count", "rank")
CALIBRATION_TOLERANCE = ("rel:0.25", "abs:0.01")
# what every part writes (results/replication/<part>.csv): our value, or why there is none;
# and, where our definition differs from the paper's, how (with the paper's value if known)
PART_SCHEMA = {"key": pl.String, "value": pl.Float64, "unavailable": pl.String,
               "definition": pl.String}


class Values:
    """Our values of one part's paper numbers: a number, or the reason there is none (a row is
    computed only when its inputs exist: 0 against the paper would be a false finding)."""

    def __init__(self, issue: str):
        self.keys = paper_numbers().filter(pl.col("issue") == issue)["key"].to_list()
        self.rows: dict[str, dict] = {}

    def put(self, key: str, value: float | None, definition: str | None = None) -> None:
        if value is None or not np.isfinite(value):
            return
        self.rows[key] = {"key": key, "value": float(value), "unavailable": None,
                          "definition": definition}

    def unavailable(self, keys, reason: str) -> None:
        """Mark keys (an iterable, or a prefix string) as not available, unless computed."""
        if isinstance(keys, str):
            keys = [k for k in self.keys if k.startswith(keys)]
        for key in keys:
            self.rows.setdefault(key, {"key": key, "value": None, "unavailable": reason,
                                       "definition": None})

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([self.rows[k] for k in self.keys if k in self.rows],
                            schema=PART_SCHEMA)


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
    """parts: frames of PART_SCHEMA (key, value[, unavailable, definition]). Later parts do not
    override earlier."""
    paper = paper_numbers()
    ours: dict[str, dict] = {}
    for part in parts:
        for row in part.iter_rows(named=True):
            ours.setdefault(row["key"], row)
    rows = []
    for row in paper.iter_rows(named=True):
        mine = ours.get(row["key"], {})
        value = mine.get("value")
        if value is None:
            reason = mine.get("unavailable")
            verdict = f"{NOT_AVAILABLE}: {reason}" if reason else NOT_YET
        elif row["paper"] is None:
            verdict = NO_PAPER_VALUE
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
                     "unit": row["unit"], "tolerance": row["tolerance"], "verdict": verdict,
                     "definition": mine.get("definition") or ""})
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})


# the summary panels: column of models.parquet, what a model lacking it lacks
PANELS = {"licenses": ("licenses", "declares a license"),
          "tasks": ("pipeline_tag", "has a pipeline tag"),
          "languages": ("languages", "lists a language"),
          "libraries": ("library_name", "names a library"),
          "datasets": ("datasets", "names a dataset")}


def foundation_values(models_path: str | Path, cards_path: str | Path) -> pl.DataFrame:
    """Our values of the paper's data counts and summary-figure shares (keys `data.*`,
    `top.*` of issue `foundation`)."""
    models = pl.read_parquet(models_path, columns=["pipeline_tag", "library_name", "licenses",
                                                   "languages", "datasets"])
    cards = pl.read_parquet(cards_path, columns=["status", "length_chars"])
    out = Values("foundation")
    out.put("data.models_total", models.height)

    known = cards.filter(pl.col("status").is_in(snap.KNOWN_CARD_STATUSES))
    if known.height == 0:
        out.unavailable(["data.share_with_card"], "no card of this snapshot was fetched")
    else:
        unknown = cards.height - known.height
        out.put("data.share_with_card",
                float((known["length_chars"] >= HAS_CARD_MIN_CHARS).mean()),
                f"over the {known.height:,} models whose card is known ({unknown:,} not fetched "
                "or failed, left out)" if unknown else None)

    def counts(column: str) -> dict[str, int]:
        series = models[column]
        if series.dtype == pl.List(pl.String):
            series = series.explode()
        vc = series.drop_nulls().value_counts()
        return dict(zip(vc[column].to_list(), vc["count"].to_list(), strict=True))

    def carriers(column: str) -> int:
        series = models[column]
        if series.dtype == pl.List(pl.String):
            return int((series.list.len() > 0).sum())
        return int(series.is_not_null().sum())

    tables = {panel: counts(column) for panel, (column, _) in PANELS.items()}
    tables["languages"] = {language_name(code): n for code, n in tables["languages"].items()}
    carrying = {panel: carriers(column) for panel, (column, _) in PANELS.items()}
    # shares of all models (licenses, datasets) or of the models carrying the trait
    denominators = {"licenses": models.height, "datasets": models.height,
                    "tasks": carrying["tasks"], "languages": carrying["languages"],
                    "libraries": carrying["libraries"]}
    for panel, (_, lacking) in PANELS.items():
        if carrying[panel] == 0:
            out.unavailable(f"top.{panel}.", f"no model of this snapshot {lacking}")
    licenses = tables["licenses"]
    if carrying["licenses"]:
        out.put("top.licenses.distinct_tags", len(licenses))
        out.put("top.licenses.tag_count", sum(licenses.values()))
    ranked_languages = sorted(tables["languages"].values(), reverse=True)
    if carrying["languages"]:
        out.put("top.languages.text.English.share_lower_bound",
                tables["languages"].get("English", 0) / carrying["languages"])
        if len(ranked_languages) > 1:
            out.put("top.languages.text.runner_up.share",
                    ranked_languages[1] / carrying["languages"])
        else:
            out.unavailable(["top.languages.text.runner_up.share"],
                            "fewer than two languages in this snapshot")
    for key in out.keys:
        parts = key.split(".")
        if key in out.rows or parts[0] != "top" or len(parts) < 4 or parts[1] not in PANELS:
            continue
        panel, name, measure = parts[1], ".".join(parts[2:-1]), parts[-1]
        count = tables[panel].get(name, 0)
        if measure == "count":
            out.put(key, count)
        elif measure == "share" and denominators[panel]:
            out.put(key, count / denominators[panel])
    return out.frame()


def lineage_values(nodes: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Our values of the paper's lineage numbers (keys `lineage.*`), on the paper's
    definitions: models of the snapshot only (virtual parents left out)."""
    from hubanatomy.lineage.tables import find_model

    out = Values("lineage")
    present = edges.filter(~pl.col("parent_virtual"))
    parents_present = present["parent_node"].unique().implode()
    resolved = present.filter(pl.col("resolution") != "exact").height
    resolution = (f"{resolved:,} of the edges have a parent found by a rename, its case or its "
                  f"legacy name; matching ids exactly (the paper) gives "
                  f"{present.height - resolved:,}" if resolved else None)
    out.put("lineage.nodes", int((~nodes["virtual"]).sum()))
    out.put("lineage.edges", present.height, resolution)
    relation = present["primary_relation"]
    typed = int(relation.is_in(["finetune", "quantized", "adapter", "merge"]).sum())
    untyped = present.height - typed
    if present.height and typed == 0:
        out.unavailable("lineage.edges.", "every edge of this snapshot is untyped (generic "
                        "base_model: tags only): its relations are unknown")
        out.unavailable("lineage.edges_child_has_children.", "every edge of this snapshot is "
                        "untyped: its relations are unknown")
    for kind in ("finetune", "quantized", "adapter", "merge"):
        if not typed:
            break
        of_kind = present.filter(pl.col("primary_relation") == kind)
        definition = None
        if kind == "merge":
            by_difference = present.height - int(
                relation.is_in(["finetune", "quantized", "adapter"]).sum())
            definition = (f"typed merge edges only; the paper's difference (all edges minus "
                          f"finetune, quantized and adapter) gives {by_difference:,}, which "
                          f"includes the {untyped:,} untyped edges") if untyped else None
        out.put(f"lineage.edges.{kind}", of_kind.height, definition)
        out.put(f"lineage.edges_child_has_children.{kind}",
                of_kind.filter(pl.col("child_node").is_in(parents_present)).height)
    out.put("lineage.edges.unspecified", untyped)
    for key in out.keys:
        parts = key.split(".")
        if parts[1] not in ("top_parents", "largest_families"):
            continue
        name = ".".join(parts[2:-1])
        model = find_model(nodes, name)
        if model is None:
            out.unavailable([key], f"{name} is not in this snapshot")
            continue
        row = nodes.filter(pl.col("model_id") == model).row(0, named=True)
        if parts[1] == "top_parents":
            out.put(key, row["children"])
        elif "family_size_no_merge" in row:
            out.put(key, row["family_size_no_merge"])
        else:
            out.unavailable([key], "the no_merge graph variant is not in lineage.variants")
    return out.frame()


# why a numeric drift has no edges, by the edges it needs
DRIFT_NEEDS = {"both_cards": "no edge where parent and child both have a card (longer than 3 "
                             "characters, fetched)",
               "both_languages": "no edge where parent and child both list languages",
               "all": "no edge whose parent is in this snapshot"}


def drift_values(mutation_rates: pl.DataFrame, numeric: pl.DataFrame) -> pl.DataFrame:
    """Our values of the paper's drift numbers (keys `drift.*`): its v1 numbers are on all
    edges (our variant `all`), its later mutation rates on the fine-tune-only graph."""
    from hubanatomy.drift.measures import MEASURES

    out = Values("drift")
    for row in mutation_rates.filter(pl.col("relation") == "all").iter_rows(named=True):
        label = {"all": "v1", "finetune": "finetune"}.get(row["variant"])
        if label is None:
            continue
        key = f"drift.mutation_rate.{label}.{row['trait']}"
        if row["n_edges"]:
            out.put(key, row["mutation_rate"])
        else:
            out.unavailable([key], f"no edge of the {row['variant']} graph where parent and "
                                   f"child both list {row['trait']}")
    drifts = {(r["measure"], r["relation"]): r
              for r in numeric.filter(pl.col("variant") == "all").iter_rows(named=True)}

    def put(key: str, measure: str, relation: str, field: str) -> None:
        row = drifts.get((measure, relation))
        if row is None:
            # rows per relation exist for the relations present, and only when there are two
            # or more (one relation's rows would repeat the all-edges rows)
            if any(r != "all" for _, r in drifts):
                out.unavailable([key], f"no {relation} edge in this snapshot")
            elif drifts:
                out.unavailable([key], "the edges of this snapshot have a single relation: "
                                       "its numbers are the all-edges rows")
            return
        if not row["n_edges"]:
            out.unavailable([key], DRIFT_NEEDS[MEASURES[measure][1]] + (
                f" ({relation} edges)" if relation != "all" else ""))
        elif field == "n_edges":
            out.put(key, row["n_edges"])
        else:
            out.put(key, row[field])

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
    # the mean number of languages over all edges is 0 when no model lists one: not a finding
    listed = drifts.get(("n_languages_listed", "all"))
    if listed is not None and not listed["n_edges"]:
        for side in ("parent", "child"):
            out.rows.pop(f"drift.languages.mean.all_edges.{side}", None)
        out.unavailable("drift.languages.mean.all_edges.", DRIFT_NEEDS["both_languages"])
    return out.frame()


def ordering_values(orderings: pl.DataFrame, values_from: str = "transitions") -> pl.DataFrame:
    """Our values of the paper's ordering numbers (keys `ordering.*`): the exact weighted order
    on all edges (v1) and on fine-tunes only, its metrics and every value's rank. A value
    outside the order (no transition among the top values) has no rank."""
    out = Values("orderings")
    exact = orderings.filter((pl.col("weighting") == "weighted") & (pl.col("method") == "exact"))
    definition = (None if values_from == "transitions" else
                  "top n by number of models among all values (the paper: among values in at "
                  "least one transition)")
    ordered = set()
    for row in exact.iter_rows(named=True):
        label = {"all": "v1", "finetune": "finetune"}.get(row["variant"])
        if label is None:
            continue
        prefix = f"ordering.{label}.{row['trait']}.weighted"
        ordered.add(prefix)
        out.put(f"{prefix}.arcs.consistent", row["arcs_consistent"], definition)
        out.put(f"{prefix}.arcs.total", row["arcs_total"], definition)
        out.put(f"{prefix}.arcs.consistent_share", row["arcs_share"], definition)
        out.put(f"{prefix}.mutations_accounted.share", row["mutations_share"], definition)
        value = language_name(row["value"]) if row["trait"] == "languages" else row["value"]
        out.put(f"{prefix}.rank.{value}", row["rank"], definition)
    for key in out.keys:
        prefix = ".".join(key.split(".")[:4])
        if prefix not in ordered:
            trait, graph = key.split(".")[2], key.split(".")[1]
            out.unavailable([key], f"no {trait} transition between two top values on the "
                                   f"{'all-edges' if graph == 'v1' else graph} graph")
        elif ".rank." in key:
            out.unavailable([key], "this value takes part in no transition among the top "
                                   "values here, so no data decides its place")
    return out.frame()


def similarity_values(table: pl.DataFrame, motifs: pl.DataFrame, cards_kept: int | None,
                      samples: int) -> pl.DataFrame:
    """Our values of the paper's similarity numbers (keys `similarity.*`), on the fine-tune
    graph as the paper: random pairs, parent-child (edge motif), siblings (two-children motif),
    grandparent-grandchild (chain motif), and the uncle motif's pairs. cards_kept is None when
    no card of the snapshot was fetched."""
    out = Values("similarity")
    if cards_kept is None:
        out.unavailable(["data.cards_kept_for_similarity"], "no card of this snapshot was "
                                                            "fetched")
    else:
        out.put("data.cards_kept_for_similarity", cards_kept)
    out.put("similarity.motifs", motifs["motif"].n_unique())
    out.put("similarity.configurations", int(motifs.unique("motif")["configurations"].sum()))
    out.put("similarity.samples_per_configuration", samples)
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
            key = f"similarity.{text}.tfidf.{name}"
            if hit.height and hit["mean"][0] is not None and hit["n"][0]:
                out.put(key, hit["mean"][0])
            elif text == "cards" and not cards_kept:
                out.unavailable([key], "no card kept as DNA in this snapshot")
            else:
                out.unavailable([key], f"no {motif} motif of the fine-tune graph with {text} "
                                       "DNA at both ends")
    return out.frame()
