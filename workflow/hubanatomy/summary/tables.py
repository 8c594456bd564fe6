"""First look at a snapshot: summary counts, the "top tens" of the paper's summary figure,
and models created per month. Everything is a tidy table; figures are drawn from these."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hubanatomy.snapshot import files as snap
from hubanatomy.snapshot.languages import language_name

PANELS = ("licenses", "tasks", "languages", "libraries", "parents", "datasets",
          "downloads", "arxiv")
PANEL_TITLES = {
    "licenses": "Licenses (share of all models)",
    "tasks": "Tasks (share of models with a pipeline tag)",
    "languages": "Languages (share of models listing any)",
    "libraries": "Libraries (share of models with a library)",
    "parents": "Parents by number of direct children",
    "datasets": "Datasets (models tagged)",
    "downloads": "Most downloaded models",
    "arxiv": "Most linked arXiv papers (models)",
    "arxiv_categories": "arXiv categories (share of linked papers found)",
}
# with the arXiv lookup (config arxiv.enabled), this panel takes the place of "arxiv"
ARXIV_CATEGORIES = "arxiv_categories"
# what each panel's share is a share of (the table's denominator_of column)
DENOMINATOR_OF = {
    "licenses": "models", "tasks": "models with a pipeline tag",
    "languages": "models listing any language", "libraries": "models with a library",
    "parents": "models", "datasets": "models", "arxiv": "models",
    ARXIV_CATEGORIES: "distinct linked arXiv papers found on arXiv (primary category; each "
                      "paper once, however many models link it)",
}
# the paper counts a model as having a card when the card is longer than 3 characters
HAS_CARD_MIN_CHARS = 4


def _read(path: str | Path, columns: list[str]) -> pl.DataFrame:
    return pl.read_parquet(path, columns=columns)


def _top(frame: pl.DataFrame, column: str, n: int, denominator: int) -> pl.DataFrame:
    """Counts of `column` values, top n (ties broken by value), with shares of denominator."""
    counts = (frame.group_by(column).len("count")
              .sort(["count", column], descending=[True, False]).head(n))
    return counts.select(
        pl.int_range(1, pl.len() + 1).alias("rank"),
        pl.col(column).cast(pl.String).alias("value"),
        pl.col("count").cast(pl.Int64),
        (pl.col("count") / denominator).alias("share") if denominator else pl.lit(None, pl.Float64)
        .alias("share"),
        pl.lit(denominator, pl.Int64).alias("denominator"),
    )


def summary_panels(arxiv_categories: bool = False) -> tuple[str, ...]:
    """The panels of the summary figure, in drawing order."""
    return tuple(ARXIV_CATEGORIES if p == "arxiv" and arxiv_categories else p for p in PANELS)


def arxiv_category_top(categories: pl.DataFrame, n: int) -> pl.DataFrame:
    """Primary arXiv categories of the distinct linked papers arXiv found (status ok, counted
    once however many models link them), with shares of those papers."""
    papers = (categories.filter(pl.col("status") == "ok")
              .unique("paper_id").drop_nulls("primary_category"))
    return _top(papers, "primary_category", n, papers.height)


def read_arxiv_categories(path: str | Path) -> pl.DataFrame:
    """The arXiv lookup's table (results/tables/arxiv_categories.csv), typed."""
    return pl.read_csv(path, schema_overrides={"arxiv_id": pl.String, "paper_id": pl.String,
                                               "models": pl.Int64, "status": pl.String,
                                               "primary_category": pl.String,
                                               "categories": pl.String})


def top_tens(models: str | Path, lineage_nodes: pl.DataFrame, n: int = 10,
             arxiv_categories: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (panel, rank): value, count, share and its denominator. Parents are counted
    by their direct children in the lineage (lineage_nodes: model_id, children), with parent ids
    resolved as in top_parents.csv. With the table of arXiv categories
    (arxiv.categories_table), the arXiv panel shows primary categories of the linked papers
    instead of the most linked papers. models: the snapshot's models file."""
    models = _read(models, ["model_id", "downloads", "pipeline_tag",
                                               "library_name", "licenses", "languages",
                                               "datasets", "arxiv"])
    total = models.height
    children = (lineage_nodes.filter(pl.col("children") > 0)
                .select(pl.col("model_id").repeat_by("children").explode()))

    def exploded(column: str) -> pl.DataFrame:
        return models.select(column).explode(column).drop_nulls()

    with_language = int((models["languages"].list.len() > 0).sum())
    tables = {
        "licenses": _top(exploded("licenses"), "licenses", n, total),
        "tasks": _top(models.select("pipeline_tag").drop_nulls(), "pipeline_tag", n,
                      int(models["pipeline_tag"].is_not_null().sum())),
        "languages": _top(exploded("languages"), "languages", n, with_language)
        .with_columns(pl.col("value").map_elements(language_name, return_dtype=pl.String)),
        "libraries": _top(models.select("library_name").drop_nulls(), "library_name", n,
                          int(models["library_name"].is_not_null().sum())),
        "parents": _top(children, "model_id", n, total),
        "datasets": _top(exploded("datasets"), "datasets", n, total),
        "arxiv": _top(exploded("arxiv"), "arxiv", n, total),
        ARXIV_CATEGORIES: None if arxiv_categories is None
        else arxiv_category_top(arxiv_categories, n),
        "downloads": models.sort(["downloads", "model_id"], descending=[True, False]).head(n)
        .select(pl.int_range(1, pl.len() + 1).alias("rank"), pl.col("model_id").alias("value"),
                pl.col("downloads").alias("count"), pl.lit(None, pl.Float64).alias("share"),
                pl.lit(None, pl.Int64).alias("denominator")),
    }
    panels = summary_panels(arxiv_categories is not None)
    return pl.concat([t.select(pl.lit(p).alias("panel"), pl.all(),
                               pl.lit(DENOMINATOR_OF.get(p), pl.String).alias("denominator_of"))
                      for p, t in tables.items() if p in panels])


def snapshot_summary(models: str | Path, parents: str | Path,
                     cards: str | Path) -> pl.DataFrame:
    """metric, value, description: the snapshot's headline counts."""
    models = _read(models, ["model_id", "author", "created_at", "downloads",
                                               "pipeline_tag", "library_name", "licenses",
                                               "languages", "datasets", "arxiv"])
    parents = _read(parents, ["child_id", "parent_id", "relation", "origin"])
    cards = _read(cards, ["status", "length_chars", "auto_generated"])
    total = models.height
    known = models["model_id"].implode()
    has_card = cards["length_chars"] >= HAS_CARD_MIN_CHARS
    known_card = cards["status"].is_in(snap.KNOWN_CARD_STATUSES)
    license_tags = models["licenses"].explode().drop_nulls()
    rows: list[tuple[str, float | int | str | None, str]] = [
        ("models", total, "models in the snapshot"),
        ("authors", models["author"].n_unique(), "distinct authors (namespaces)"),
        ("created_at_min", _iso(models["created_at"].min()), "earliest createdAt"),
        ("created_at_max", _iso(models["created_at"].max()), "latest createdAt"),
        ("downloads_total", int(models["downloads"].sum()), "sum of downloads"),
        ("models_with_pipeline_tag", int(models["pipeline_tag"].is_not_null().sum()),
         "models with a pipeline tag"),
        ("models_with_library", int(models["library_name"].is_not_null().sum()),
         "models with a library name"),
        ("models_with_license", int((models["licenses"].list.len() > 0).sum()),
         "models with at least one license tag"),
        ("license_tags", len(license_tags), "license tags over all models"),
        ("distinct_license_tags", license_tags.n_unique(), "distinct license tags"),
        ("models_with_language", int((models["languages"].list.len() > 0).sum()),
         "models listing at least one language"),
        ("models_with_dataset", int((models["datasets"].list.len() > 0).sum()),
         "models tagged with at least one dataset"),
        ("models_with_arxiv", int((models["arxiv"].list.len() > 0).sum()),
         "models linking at least one arXiv paper"),
        ("models_with_card", int(has_card.sum()), "models whose card is longer than 3 characters"),
        ("models_with_card_known", int(known_card.sum()),
         "models whose card was fetched or is known to be absent (404)"),
        ("share_with_card", float(has_card.filter(known_card).mean())
         if known_card.any() else None,
         "share of those models whose card is longer than 3 characters (empty: no card known)"),
        ("cards_auto_generated", int(cards["auto_generated"].sum()),
         "cards containing 'automatically generated' or 'generated automatically'"),
        ("card_status_missing", int((cards["status"] == "missing").sum()),
         "models without a card (no README.md)"),
        ("card_status_error", int((cards["status"] == "error").sum()),
         "models whose card could not be fetched or read (unknown)"),
        ("card_status_not_fetched", int((cards["status"] == snap.NOT_FETCHED).sum()),
         "models whose card was never asked for (unknown)"),
        ("declared_parent_rows", parents.height, "declared (child, parent, relation) rows"),
        ("models_declaring_parents", parents["child_id"].n_unique(),
         "models declaring at least one parent"),
        ("declared_parents_absent", int((~parents["parent_id"].is_in(known)).sum()),
         "declared parent rows whose parent is not in the snapshot"),
    ]
    for relation in ("finetune", "adapter", "quantized", "merge", "unspecified"):
        rows.append((f"declared_parent_rows_{relation}",
                     int((parents["relation"] == relation).sum()),
                     f"declared parent rows with relation {relation}"))
    rows.append(("declared_parent_rows_from_card", int((parents["origin"] == "card").sum()),
                 "declared parent rows found only in card front matter"))
    return pl.DataFrame(
        {"metric": [r[0] for r in rows], "value": [_text(r[1]) for r in rows],
         "description": [r[2] for r in rows]})


def created_by_month(models: str | Path) -> pl.DataFrame:
    """Models created per calendar month (UTC), and the cumulative count."""
    models = _read(models, ["created_at"]).drop_nulls()
    months = (models.select(pl.col("created_at").dt.truncate("1mo").dt.date().alias("month"))
              .group_by("month").len("models").sort("month"))
    return months.with_columns(pl.col("models").cast(pl.Int64),
                               cumulative=pl.col("models").cum_sum().cast(pl.Int64))


def _iso(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value) -> str:
    """Stable text for a table cell: integers plain, floats with 6 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
