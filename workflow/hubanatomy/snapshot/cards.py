"""Model-card features and the parents a card's YAML front matter declares, all vectorised.

"Auto-generated" follows the paper: the card contains "automatically generated" or
"generated automatically", case-insensitively. Words are runs of non-whitespace (ASCII
whitespace, counted over the UTF-8 bytes: a regex pass over gigabytes of cards is 10x slower).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hubanatomy.snapshot.tags import RELATIONS, UNSPECIFIED

AUTO_GENERATED = r"(?i)automatically generated|generated automatically"
# YAML front matter: a first line "---", the YAML, a closing "---" line
FRONT_MATTER = r"(?s)\A\x{feff}?---[ \t]*\r?\n(?:(.*?)\r?\n)?---[ \t]*(?:\r?\n|$)"
_INLINE = (r"(?m)^base_model:[ \t]*['\"]?([^\s'\"\[\]#|>][^\s'\"#]*)['\"]?[ \t]*(?:#[^\n]*)?"
           r"\r?$")
_YAML_NULL = ("null", "Null", "NULL", "~")
_FLOW = r"(?m)^base_model:[ \t]*\[([^\]\n]*)\]"
_BLOCK = r"(?m)^base_model:[ \t]*(?:#[^\n]*)?\r?\n((?:[ \t]*-[ \t]*[^\n]*(?:\r?\n|$))+)"
_RELATION = r"(?m)^base_model_relation:[ \t]*['\"]?([A-Za-z]+)"


# bytes.translate maps every byte to 1 (part of a word) or 0 (ASCII whitespace) in one C pass
_WORD_BYTE = bytes(0 if chr(b) in " \t\n\r\x0b\x0c" else 1 for b in range(256))


def count_words(texts: pl.Series) -> pl.Series:
    """Whitespace-separated words per text (0 for null), vectorised over the UTF-8 bytes."""
    array = texts.to_arrow(compat_level=pl.CompatLevel.oldest())
    if len(array) == 0:
        return pl.Series(texts.name, [], dtype=pl.Int64)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1]
    data_buffer = array.buffers()[2]
    raw = b"" if data_buffer is None else data_buffer.to_pybytes()[: offsets[-1]]
    word = np.frombuffer(raw.translate(_WORD_BYTE), dtype=np.int8)
    begin, end = offsets[:-1], offsets[1:]
    if len(word) == 0:
        return pl.Series(texts.name, np.zeros(len(begin), dtype=np.int64))
    # a word starts at a word byte that follows a space byte or begins a text
    starts = np.empty(len(word), dtype=bool)
    starts[0] = word[0] == 1
    np.greater(word[1:], word[:-1], out=starts[1:])
    nonempty = end > begin
    starts[begin[nonempty]] = word[begin[nonempty]] == 1
    counts = np.diff(np.searchsorted(np.flatnonzero(starts), offsets))
    return pl.Series(texts.name, counts, dtype=pl.Int64)


def card_features(cards: pl.DataFrame) -> pl.DataFrame:
    """Add length_chars, length_words, auto_generated of the `card` column (0/False if null)."""
    card = pl.col("card")
    return cards.with_columns(
        card.str.len_chars().fill_null(0).cast(pl.Int64).alias("length_chars"),
        count_words(cards["card"]).alias("length_words"),
        card.str.contains(AUTO_GENERATED).fill_null(False).alias("auto_generated"),
    )


def front_matter(card: pl.Expr) -> pl.Expr:
    """The YAML between the opening and closing '---' ('' if empty, null if there is none)."""
    return pl.when(card.str.contains(FRONT_MATTER)).then(
        card.str.extract(FRONT_MATTER, 1).fill_null(""))


def broken_front_matter(card: pl.Expr, fm: pl.Expr) -> pl.Expr:
    """Cards that open a front matter block (fm = its extracted text) but never close it."""
    return card.str.starts_with("---") & fm.is_null()


def front_matter_parents(cards: pl.DataFrame) -> pl.DataFrame:
    """(child_id, parent_id, relation) declared by `base_model:` in the front matter (column fm)
    of the cards (column model_id); relation from `base_model_relation:`, else unspecified.
    Ids are kept as written, for the lineage to clean or reject (parent_ids.py); a YAML null
    declares no parent."""
    fm = (cards.select(pl.col("model_id").alias("child_id"), "fm")
          .filter(pl.col("fm").str.contains(r"(?m)^base_model:")))
    items = r"-[ \t]*['\"]?[^\s'\"#]+"
    fm = fm.with_columns(
        inline=pl.col("fm").str.extract(_INLINE, 1),
        flow=pl.col("fm").str.extract(_FLOW, 1).str.split(","),
        block=pl.col("fm").str.extract(_BLOCK, 1).str.extract_all(items)
        .list.eval(pl.element().str.replace(r"^-[ \t]*['\"]?", "")),
        relation=pl.col("fm").str.extract(_RELATION, 1).str.to_lowercase(),
    )
    parents = fm.select(
        "child_id", "relation",
        pl.concat_list(pl.col("inline"), pl.col("flow").fill_null([]),
                       pl.col("block").fill_null([])).list.drop_nulls().alias("parent_id"),
    ).explode("parent_id").with_columns(
        pl.col("parent_id").str.strip_chars().str.strip_chars("'\""))
    return (parents.filter((pl.col("parent_id") != "") & ~pl.col("parent_id").is_in(_YAML_NULL))
            .with_columns(relation=pl.when(pl.col("relation").is_in(RELATIONS))
                          .then(pl.col("relation")).otherwise(pl.lit(UNSPECIFIED)))
            .select("child_id", "parent_id", "relation")
            .unique(maintain_order=True))
