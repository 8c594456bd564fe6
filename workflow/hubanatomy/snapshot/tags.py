"""Parsing the Hub's flat tag lists into traits and declared parents: the paper's parsing,
without its losses (docs/method.md#snapshot).

`license:X`, `dataset:X`, `arxiv:X`, `region:X` become lists; bare ISO 639 codes become
languages (languages.py, 2- and 3-letter codes kept). `base_model:X` declares a parent with an
unspecified relation, `base_model:<relation>:X` a typed one; unlike the paper, every relation
declared for a pair is kept (one row each), and a generic tag only adds an `unspecified` row
when no typed tag names the same parent.
"""

from __future__ import annotations

import polars as pl

from hubanatomy.snapshot.languages import normalise_language_tags

RELATIONS = ("finetune", "adapter", "quantized", "merge")
UNSPECIFIED = "unspecified"
BASE_MODEL = "base_model:"

PREFIXED_LISTS = {  # column -> (tag prefix, lowercase the value)
    "licenses": ("license:", True),
    "datasets": ("dataset:", False),
    "arxiv": ("arxiv:", False),
    "regions": ("region:", True),
}


def _prefixed(tags: pl.Expr, prefix: str, lower: bool) -> pl.Expr:
    value = pl.element().str.slice(len(prefix)).str.strip_chars()
    if lower:
        value = value.str.to_lowercase()
    return (tags.list.eval(pl.element().filter(pl.element().str.starts_with(prefix)))
            .list.eval(value).list.eval(pl.element().filter(pl.element() != ""))
            .list.unique(maintain_order=True))


def trait_lists(frame: pl.DataFrame, tags: str = "tags") -> pl.DataFrame:
    """Add licenses, datasets, arxiv, regions and languages (list<string>) from `tags`."""
    frame = frame.with_columns(pl.col(tags).fill_null(pl.lit([], dtype=pl.List(pl.String))))
    frame = frame.with_columns(
        _prefixed(pl.col(tags), prefix, lower).alias(name)
        for name, (prefix, lower) in PREFIXED_LISTS.items()
    )
    return frame.with_columns(languages=normalise_language_tags(frame[tags]))


def declared_parents(frame: pl.DataFrame, child: str = "model_id",
                     tags: str = "tags") -> tuple[pl.DataFrame, dict]:
    """One row per declared (child_id, parent_id, relation) from base_model tags, the parent id
    as written (the lineage cleans or rejects it, parent_ids.py), and counts of the tags whose
    relation name is unknown (kept as unspecified)."""
    long = (frame.select(pl.col(child).alias("child_id"), pl.col(tags))
            .explode(tags)
            .filter(pl.col(tags).str.starts_with(BASE_MODEL))
            .with_columns(rest=pl.col(tags).str.slice(len(BASE_MODEL))))
    # "<relation>:<id>" or "<id>"; the id itself may hold a colon (a URL)
    word = pl.col("rest").str.extract(r"^([A-Za-z_]+):", 1)
    typed = word.is_not_null() & ~word.str.to_lowercase().is_in(["http", "https"])
    long = long.with_columns(
        relation=pl.when(typed).then(word.str.to_lowercase()),
        parent_id=pl.when(typed).then(pl.col("rest").str.slice(word.str.len_chars() + 1))
        .otherwise(pl.col("rest")).str.strip_chars(),
    )
    unknown_relation = long.filter(pl.col("relation").is_not_null()
                                   & ~pl.col("relation").is_in(RELATIONS))
    long = long.with_columns(
        relation=pl.when(pl.col("relation").is_in(RELATIONS)).then(pl.col("relation"))
        .when(pl.col("relation").is_not_null()).then(pl.lit(UNSPECIFIED)))

    typed_rows = (long.filter(pl.col("relation").is_not_null())
                  .select("child_id", "parent_id", "relation").unique(maintain_order=True))
    generic = (long.filter(pl.col("relation").is_null())
               .select("child_id", "parent_id").unique(maintain_order=True)
               .join(typed_rows.select("child_id", "parent_id"), on=["child_id", "parent_id"],
                     how="anti", maintain_order="left")
               .with_columns(relation=pl.lit(UNSPECIFIED)))
    parents = pl.concat([typed_rows, generic]).with_columns(origin=pl.lit("tag"))
    counts = {"base_model_tags": long.height, "unknown_relation_tags": unknown_relation.height}
    examples = {
        "unknown_relation_tags": unknown_relation.head(5).select("child_id", tags).rows(),
    }
    return parents, {"counts": counts, "examples": examples}
