"""Trait labels of every model: the sets whose mutation we measure, and card features.

Licenses are classed by data/license_taxonomy.csv (commercial / use-restricted / copyleft /
permissive / other-unknown); a license tag missing from it lands in other-unknown and is
counted in the coverage table, never dropped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hubanatomy.datafiles import read_data_csv
from hubanatomy.snapshot import files as snap
from hubanatomy.summary.tables import HAS_CARD_MIN_CHARS

SET_TRAITS = ("licenses", "languages", "tasks", "libraries")
LICENSE_CLASSES = ("commercial", "use-restricted", "permissive", "copyleft", "other-unknown")
# openness of a license class: changes toward higher ranks go toward open licenses
OPENNESS = {"commercial": 0, "use-restricted": 1, "permissive": 2, "copyleft": 2}
PLACEHOLDERS = ("other", "unknown", "none", "")


def license_taxonomy() -> pl.DataFrame:
    table = read_data_csv("license_taxonomy.csv")
    bad = table.filter(~pl.col("class").is_in(LICENSE_CLASSES))
    if bad.height:
        raise ValueError(f"license_taxonomy.csv: unknown class for {bad['license'].to_list()}")
    return table


def value_classes(trait: str) -> dict[str, str]:
    """Colouring classes of a trait's values: license classes, task classes (the paper's
    embeddings & features / generative / classification / reinforcement learning), else none."""
    if trait == "licenses":
        return dict(license_taxonomy().select("license", "class").iter_rows())
    if trait == "tasks":
        return dict(read_data_csv("task_classes.csv").iter_rows())
    return {}


def label_traits(models: str | Path, cards: str | Path) -> pl.DataFrame:
    """One row per model (of the snapshot's models and cards files): the trait sets, license
    classes and card features."""
    models = pl.read_parquet(models, columns=["model_id", "licenses", "languages",
                                                      "pipeline_tag", "library_name"])
    cards = pl.read_parquet(cards, columns=["model_id", "status", "length_chars",
                                                    "length_words", "auto_generated"])
    classes = dict(license_taxonomy().select("license", "class").iter_rows())
    empty = pl.lit([], dtype=pl.List(pl.String))
    frame = models.join(cards, on="model_id", how="left", maintain_order="left")
    # null (unknown) where the card was not fetched or could not be read
    has_card = (pl.when(pl.col("status").is_in(snap.KNOWN_CARD_STATUSES))
                .then((pl.col("status") == "ok") & (pl.col("length_chars") >= HAS_CARD_MIN_CHARS)))
    return frame.select(
        "model_id",
        "licenses",
        pl.col("licenses").list.eval(pl.element().replace_strict(
            classes, default="other-unknown", return_dtype=pl.String)).alias("license_classes"),
        "languages",
        pl.when(pl.col("pipeline_tag").is_not_null())
        .then(pl.concat_list(pl.col("pipeline_tag"))).otherwise(empty).alias("tasks"),
        pl.when(pl.col("library_name").is_not_null())
        .then(pl.concat_list(pl.col("library_name"))).otherwise(empty).alias("libraries"),
        has_card.alias("has_card"),
        pl.when(has_card).then(pl.col("length_chars")).alias("card_length_chars"),
        pl.when(has_card).then(pl.col("length_words")).alias("card_length_words"),
        pl.when(has_card).then(pl.col("auto_generated")).alias("auto_generated"),
        pl.col("languages").list.len().alias("n_languages"),
    )


def license_coverage(traits: pl.DataFrame) -> pl.DataFrame:
    """Every license tag seen, its class, whether the taxonomy knows it, and how many models."""
    taxonomy = license_taxonomy().select("license", "class")
    seen = traits.select(pl.col("licenses").explode().drop_nulls()).group_by("licenses").len(
        "models").rename({"licenses": "license"})
    return (seen.join(taxonomy, on="license", how="left")
            .with_columns(in_taxonomy=pl.col("class").is_not_null(),
                          **{"class": pl.col("class").fill_null("other-unknown")})
            .sort(["models", "license"], descending=[True, False])
            .select("license", "class", "in_taxonomy", pl.col("models").cast(pl.Int64)))
