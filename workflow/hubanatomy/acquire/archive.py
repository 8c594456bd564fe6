"""The paper's released dataset (modelbiome/ai_ecosystem[_withmodelcards]) both ways, and its
download with huggingface_hub.

Schema (docs/method.md#data-source, and the column order of the authors' own ai_ecosystem.csv):
one row per model with the list-API fields, the lists the authors derived from the tags (`regions`,
`licenses`, `arxiv_papers`, `datasets`, the five parent columns, `languages` as English names of
the two-letter tags), written as Python-list strings (`"['apache-2.0']"`, `'[]'`); the card
variant adds `modelCard` (the README text; an empty field when there was none, which pandas
reads back as NaN and `str()` makes "nan"), `ratelimit_retries` and `exception_raised` (empty,
or the error's message). The release itself is one CSV, `ai_ecosystem_withmodelcards.csv`,
written by pandas' `to_csv` with its index: the header starts with an empty column name.

archive_to_raw turns archive files back into the raw format (raw.py), so the archive goes
through the same normaliser as a crawl. Its policy:
* required columns: model_id, tags, likes, downloads, createdAt, pipeline_tag, library_name (a
  missing one stops the run before anything is written; the message names the closest column
  present, which catches renames); everything else is optional, unknown columns are ignored.
* the tags are the source of truth; a value of a derived column (a parent, license, dataset,
  arXiv id or region) that the tags lack is added back as its tag (`base_model:finetune:X`,
  `license:X`...) and counted: the lineage must not lose a parent the archive declares.
  `languages` holds names, not tags, and is not used.
* a bad field (a list string that does not parse, a count that is not a non-negative integer
  below 2^63, an unparseable date or flag) is emptied and the row kept; a field of a CSV that
  is not valid UTF-8 is read with U+FFFD for the bad bytes and counted. Only a row without a
  model id is skipped, and a fragment: a row with neither a date nor a tags list, which is what
  a copy of the file that broke rows at bare carriage returns in cards makes of the rest of a
  card (the row it was cut from keeps its fields, its card becomes unknown: status error).
  Every case is counted and listed with file, row and model id in archive_problems.csv and in
  raw_manifest.json `problems`; none is fatal (normalise judges what is left). A model_id
  column of numbers (a table's row index) stops the conversion.
* cards: a text ("nan", "None" and empty mean none) is status ok; no text and an
  `exception_raised` that is set (True or an error message; not False/0/nan/empty) is status
  error (the fetch failed, so the card is unknown, not absent); no text otherwise is status
  missing (404: no README). A text together with an exception is kept as ok and counted.
  Without card columns (modelbiome/ai_ecosystem) no card records are written and every model
  ends up "missing" (counted by normalise as cards_not_fetched).
"""

from __future__ import annotations

import ast
import csv
import difflib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pycountry

from hubanatomy.errors import OFFLINE_HINT, InputError
from hubanatomy.progress import Progress
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.jsonl import read_jsonl
from hubanatomy.snapshot.tags import BASE_MODEL, RELATIONS

log = logging.getLogger(__name__)

PARENT_COLUMNS = {  # column -> tag prefix (base_model:X and base_model:<rel>:X)
    "parent_model": BASE_MODEL,
    **{f"{relation}_parent": f"{BASE_MODEL}{relation}:" for relation in
       sorted(RELATIONS, key=("finetune", "quantized", "adapter", "merge").index)},
}
DERIVED_COLUMNS = {  # list column -> the tag prefix its values were cut from
    "regions": "region:", "licenses": "license:", "arxiv_papers": "arxiv:",
    "datasets": "dataset:", **PARENT_COLUMNS,
}
ARCHIVE_COLUMNS: tuple[str, ...] = (
    "model_id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
    "library_name", "createdAt", "regions", "licenses", "arxiv_papers", "datasets",
    "parent_model", "finetune_parent", "quantized_parent", "adapter_parent", "merge_parent",
    "languages",
)
CARD_COLUMNS: tuple[str, ...] = ("modelCard", "ratelimit_retries", "exception_raised")
# in a later file of the authors; recomputed by normalise from the text, so only accepted
CARD_FEATURE_COLUMNS: tuple[str, ...] = (
    "model_card_length_characters", "model_card_length_words",
    "model_card_automatically_generated")
REQUIRED_COLUMNS: tuple[str, ...] = (
    "model_id", "tags", "likes", "downloads", "createdAt", "pipeline_tag", "library_name")
LIST_COLUMNS: tuple[str, ...] = ("tags", *DERIVED_COLUMNS, "languages")
KNOWN_COLUMNS = (*ARCHIVE_COLUMNS, *CARD_COLUMNS, *CARD_FEATURE_COLUMNS)

# what pandas and str() made of a missing value
NULL_LIKE = ("", "nan", "NaN", "None", "null", "NULL")
FALSE_LIKE = ("", "nan", "NaN", "None", "null", "False", "false", "FALSE", "0", "0.0")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "1.0"), ("false", "0", "0.0")
# what the release's exception_raised holds for a failed card fetch (an error message)
FETCH_FAILED = "HTTPError('500 Server Error: Internal Server Error')"
PROBLEMS_CSV = "archive_problems.csv"
PROBLEM_SCHEMA = {"file": pl.String, "row": pl.Int64, "model_id": pl.String,
                  "column": pl.String, "problem": pl.String, "value": pl.String}
CHUNK_ROWS = 25_000
EXAMPLE_IDS = 20
# the list API's key order (GET /api/models); the archive has no _id
LIST_API_KEYS = ("id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                 "library_name", "createdAt", "modelId")

# Python repr of a list of strings: items in single quotes, or in double quotes when the item
# holds a single quote; anything with a backslash (escapes) goes to the slow path.
_SQ_LIST = r"\A\[(?:'[^'\\]*'(?:, '[^'\\]*')*)?\]\z"
_ITEM = r"""'[^'\\]*'|"[^"\\]*\""""
_QUOTED_LIST = rf"\A\[(?:(?:{_ITEM})(?:, (?:{_ITEM}))*)?\]\z"
# items whose repr is the item in quotes: printable ASCII, no backslash, not both quote kinds
_EASY_ITEM = r"\A(?:[\x20-\x26\x28-\x5b\x5d-\x7e]*|[\x20\x21\x23-\x5b\x5d-\x7e]*)\z"
_HUB_TIME = r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z\z"
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z",
                 "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f",
                 "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d")
_STRINGS = pl.List(pl.String)

# ------------------------------------------------------------------ Python-list strings


def parse_list_strings(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Python-list strings -> list<string>, and a mask of the values that did not parse (they
    become []). Null and pandas' missing markers ("nan", "") are the empty list. Vectorised:
    plain single-quoted lists are split, quoted ones regex-extracted; only strings with escapes
    (backslashes) or not in repr form at all go through ast.literal_eval."""
    name = values.name
    if values.dtype == _STRINGS:
        return values, _no(values)
    if isinstance(values.dtype, pl.List | pl.Array):
        return values.cast(_STRINGS), _no(values)
    text = values.cast(pl.String).str.strip_chars()
    frame = pl.DataFrame({"s": text}).with_columns(
        empty=pl.col("s").is_null() | pl.col("s").is_in(NULL_LIKE) | (pl.col("s") == "[]"),
        simple=pl.col("s").str.contains(_SQ_LIST).fill_null(False))
    # the common case for every row at once: "['a', 'b']" cut at "', '"
    frame = frame.with_columns(v=pl.when(pl.col("empty")).then(pl.lit([], dtype=_STRINGS))
                               .when(pl.col("simple")).then(
        pl.col("s").str.slice(2, pl.col("s").str.len_chars() - 4).str.split("', '")))
    other = frame.with_row_index("i").filter(~pl.col("empty") & ~pl.col("simple"))
    if not other.height:
        return frame["v"].alias(name), _no(values)
    quoted = other["s"].str.contains(_QUOTED_LIST)
    fixed = other.filter(quoted).select(
        "i", v=pl.col("s").str.extract_all(_ITEM).list.eval(
            pl.element().str.slice(1, pl.element().str.len_chars() - 2)), bad=pl.lit(False))
    slow = other.filter(~quoted)
    parsed = [_literal_list(s) for s in slow["s"].to_list()]
    fixed = pl.concat([fixed, pl.DataFrame({
        "i": slow["i"],
        "v": pl.Series([p if p is not None else [] for p in parsed], dtype=_STRINGS),
        "bad": pl.Series([p is None for p in parsed], dtype=pl.Boolean)})])
    out = (frame.with_row_index("i").select("i", "v")
           .join(fixed.rename({"v": "_v"}), on="i", how="left", maintain_order="left")
           .select(pl.coalesce("_v", "v").alias(name), pl.col("bad").fill_null(False)))
    return out[name], out["bad"].alias(name)


def _no(values: pl.Series) -> pl.Series:
    return pl.repeat(False, len(values), eager=True).alias(values.name)


def _literal_list(text: str) -> list[str] | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def format_list_strings(lists: pl.Series) -> pl.Series:
    """list<string> -> the Python-list strings pandas wrote (`str(list)`); null -> '[]'.
    Vectorised for printable-ASCII items, repr() for the rows that hold any other item."""
    name = lists.name
    frame = pl.DataFrame({"v": lists.cast(_STRINGS).list.drop_nulls()
                          .fill_null(pl.lit([], dtype=_STRINGS))})
    frame = frame.with_row_index("i").with_columns(
        easy=pl.col("v").list.eval(pl.element().str.contains(_EASY_ITEM)).list.all())
    item = pl.element()
    easy = frame.filter(pl.col("easy")).select(
        "i",
        s=pl.lit("[") + pl.col("v").list.eval(
            pl.when(item.str.contains("'", literal=True))
            .then(pl.lit('"') + item + pl.lit('"'))
            .otherwise(pl.lit("'") + item + pl.lit("'"))).list.join(", ") + pl.lit("]"))
    hard = frame.filter(~pl.col("easy"))
    hard = pl.DataFrame({"i": hard["i"],
                         "s": pl.Series([repr(v) for v in hard["v"].to_list()], dtype=pl.String)})
    return pl.concat([easy, hard]).sort("i")["s"].alias(name)


# ------------------------------------------------------------------ raw -> archive


@cache
def _language_names() -> dict[str, str]:
    """Two-letter ISO 639-1 code -> English name, as the authors mapped them (pycountry)."""
    return {lang.alpha_2: lang.name for lang in pycountry.languages
            if getattr(lang, "alpha_2", None)}


_RAW_SCHEMA = pa.schema([
    ("id", pa.string()), ("modelId", pa.string()), ("likes", pa.int64()),
    ("trendingScore", pa.float64()), ("private", pa.bool_()), ("downloads", pa.int64()),
    ("tags", pa.list_(pa.string())), ("pipeline_tag", pa.string()),
    ("library_name", pa.string()), ("createdAt", pa.string()),
])
_RAW_CARD_SCHEMA = pa.schema([("id", pa.string()), ("status", pa.string()),
                              ("card", pa.string())])


def _read_raw(files: list[Path], schema: pa.Schema) -> pl.DataFrame:
    frames, rejected = [], 0
    for path in files:
        for chunk in read_jsonl(path, schema):
            rejected += len(chunk.rejects)
            frames.append(pl.from_arrow(chunk.table))
    if rejected:
        log.warning("%d raw lines could not be read and are not in the archive", rejected)
    return pl.concat(frames) if frames else pl.from_arrow(schema.empty_table())


def _values_after(tags: pl.Expr, prefix: str) -> pl.Expr:
    """Values of the tags `prefix` + value with no further colon (so `base_model:X` does not
    also collect `base_model:finetune:X`), as the authors' code cut them."""
    value = pl.element().str.slice(len(prefix))
    return tags.list.eval(pl.element().filter(
        pl.element().str.starts_with(prefix)
        & (~value.str.contains(":", literal=True) if prefix == BASE_MODEL else pl.lit(True))
    ).str.slice(len(prefix)))


def write_archive(raw_root: str | Path, out_dir: str | Path, fmt: str = "parquet",
                  shards: int = 1, cards: bool = True) -> list[Path]:
    """Raw data -> files in the archive schema as the paper's code wrote them (Python-list
    strings, derived columns cut from the tags, no card and no exception as empty fields, a
    failed card fetch as an error message); parquet as data/train-0000i-of-0000n.parquet, CSV
    as ai_ecosystem[_withmodelcards].csv (or -0000i-of-0000n.csv shards) with pandas' index as
    an unnamed first column, like the release. Same raw data -> same bytes. Reads the raw data
    into memory: meant for tests and the Hub emulator, not for 1.9M models with cards."""
    if fmt not in ("parquet", "csv"):
        raise InputError(f"archive format must be 'parquet' or 'csv', got {fmt!r}")
    if shards < 1:
        raise InputError(f"archive shards must be at least 1, got {shards}")
    out = Path(out_dir)
    models = _read_raw(raw.model_files(raw_root), _RAW_SCHEMA)
    models = (models.with_columns(model_id=pl.coalesce("id", "modelId"))
              .filter(pl.col("model_id").is_not_null())
              .unique("model_id", keep="first", maintain_order=True))
    tags = pl.col("tags").fill_null(pl.lit([], dtype=_STRINGS))
    names = _language_names()
    frame = models.select(
        "model_id", "likes", "trendingScore", "private", "downloads", tags.alias("tags"),
        "pipeline_tag", "library_name", "createdAt",
        *[_values_after(tags, prefix).alias(column)
          for column, prefix in DERIVED_COLUMNS.items()],
        languages=tags.list.eval(pl.element().filter(pl.element().is_in(list(names)))
                                 .replace_strict(names, default=None)).list.drop_nulls(),
    )
    if cards:
        card_rows = _read_raw(raw.card_files(raw_root), _RAW_CARD_SCHEMA).unique(
            "id", keep="first", maintain_order=True)
        frame = frame.join(card_rows.rename({"id": "model_id"}), on="model_id", how="left",
                           maintain_order="left").with_columns(
            modelCard=pl.when(pl.col("status") == "ok").then(pl.col("card")),
            ratelimit_retries=pl.lit(0, dtype=pl.Int64),
            exception_raised=pl.when(pl.col("status") == "error").then(pl.lit(FETCH_FAILED)),
        ).drop("status", "card")
    frame = frame.with_columns(format_list_strings(frame[c]) for c in LIST_COLUMNS)
    if fmt == "csv":  # pandas writes booleans as True/False, and its index first, unnamed
        frame = frame.with_columns(
            pl.when(pl.col("private")).then(pl.lit("True")).when(~pl.col("private"))
            .then(pl.lit("False")).alias("private")).with_row_index("")

    _remove_old_archive(out)
    paths = _archive_paths(out, fmt, shards, cards)
    bounds = [round(i * frame.height / shards) for i in range(shards + 1)]
    for path, start, stop in zip(paths, bounds[:-1], bounds[1:], strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        part = frame.slice(start, stop - start)
        tmp = path.with_name(path.name + ".tmp")
        if fmt == "parquet":
            part.write_parquet(tmp, compression="zstd", statistics=True,
                               row_group_size=50_000)
        else:
            write_release_csv(part, tmp)
        os.replace(tmp, path)
    log.info("archive written: %d models in %d %s file(s) in %s", frame.height, shards, fmt, out)
    return paths


def write_release_csv(frame: pl.DataFrame, path: Path, header: bool = True) -> None:
    """CSV as pandas' to_csv writes it: an unnamed column is a bare empty name in the header
    (polars would quote it), fields quoted only when needed. Appends when header is False."""
    with open(path, "wb" if header else "ab") as handle:
        if header:
            handle.write((",".join(frame.columns) + "\n").encode())
        frame.write_csv(handle, include_header=False)


def _archive_paths(out: Path, fmt: str, shards: int, cards: bool) -> list[Path]:
    if fmt == "parquet":
        return [out / "data" / f"train-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]
    stem = "ai_ecosystem_withmodelcards" if cards else "ai_ecosystem"
    if shards == 1:
        return [out / f"{stem}.csv"]
    return [out / f"{stem}-{i:05d}-of-{shards:05d}.csv" for i in range(shards)]


def _remove_old_archive(out: Path) -> None:
    """Earlier output of write_archive in out_dir (other shard counts would mix in)."""
    for old in [*out.glob("data/train-*-of-*.parquet"), *out.glob("ai_ecosystem*.csv")]:
        old.unlink()


# ------------------------------------------------------------------ archive -> raw


def _closest(name: str, present: list[str]) -> str | None:
    lowered = {p.lower(): p for p in present}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
    if not match:
        match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return match[0] if match else None


def _file_columns(path: Path) -> list[str]:
    try:
        if _is_parquet(path):
            return list(pl.read_parquet_schema(path))
        return list(_scan_csv(path).collect_schema())
    except (OSError, pl.exceptions.PolarsError) as error:
        raise InputError(f"{path}: cannot read the archive file: {error}") from None


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() == ".parquet":
        return True
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _scan_csv(path: Path) -> pl.LazyFrame:
    # all text: the archive's quirks (True/False, 12.0, "nan") are handled here, not guessed
    return pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy",
                       empty_string_is_null=False)


def check_columns(path: Path, columns: list[str]) -> dict:
    """Raise InputError when a required column is missing; describe the rest."""
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            close = _closest(name, [c for c in columns if c not in KNOWN_COLUMNS])
            hint = f"; the closest column present is {close!r} (renamed?)" if close else ""
            raise InputError(
                f"{path}: required archive column {name!r} is missing{hint}. Columns present: "
                f"{', '.join(repr(c) for c in columns[:40])}. Expected the schema of "
                f"modelbiome/ai_ecosystem: {', '.join(ARCHIVE_COLUMNS)}")
    absent = {name: _closest(name, [c for c in columns if c not in KNOWN_COLUMNS])
              for name in KNOWN_COLUMNS if name not in columns}
    return {"absent": absent, "ignored": [c for c in columns if c not in KNOWN_COLUMNS]}


def _batches(path: Path, columns: list[str], chunk_rows: int) -> Iterator[pl.DataFrame]:
    frame = pl.scan_parquet(path) if _is_parquet(path) else _scan_csv(path)
    # polars checks a CSV row for surplus fields only when the first column is read
    first = frame.collect_schema().names()[0]
    read = columns if first in columns or _is_parquet(path) else [first, *columns]
    frame = frame.with_row_index("_row", offset=1).select("_row", *read)
    try:
        for batch in frame.collect_batches(chunk_size=chunk_rows):
            yield batch.select("_row", *columns)
    except pl.exceptions.PolarsError as error:
        # a CSV whose structure is broken (an unbalanced quote, a row with more fields than
        # the header) cannot be cut into rows safely: stop, naming the place
        detail = str(error).split("\n\n")[0][:400]
        raise InputError(f"{path}: cannot read the archive file (broken CSV quoting or a "
                         f"row with more fields than the header?): {detail}") from None


class _Problems:
    """Bad fields: all of them in archive_problems.csv, counts and example ids in memory."""

    def __init__(self, path: Path):
        self.path = path
        self.counts: dict[str, int] = {}
        self.examples: dict[str, list] = {}
        self.handle = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(PROBLEM_SCHEMA)

    def add(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        self.writer.writerows(frame.select(list(PROBLEM_SCHEMA)).iter_rows())
        for (column, problem), group in frame.group_by(["column", "problem"],
                                                       maintain_order=True):
            key = f"{column}: {problem}"
            self.counts[key] = self.counts.get(key, 0) + group.height
            seen = self.examples.setdefault(key, [])
            for model_id, file, row in group.select("model_id", "file", "row").rows():
                if len(seen) >= EXAMPLE_IDS:
                    break
                seen.append(model_id if model_id is not None else f"{file} row {row}")

    def close(self) -> dict:
        self.handle.close()
        rows = sum(self.counts.values())
        return {"fields": rows, "counts": dict(sorted(self.counts.items())),
                "example_ids": {k: self.examples[k] for k in sorted(self.examples)},
                "file": self.path.name}


def _problem_rows(batch: pl.DataFrame, mask: pl.Expr | pl.Series, column: str, problem: str,
                  value: pl.Expr | None = None) -> pl.DataFrame:
    value = pl.col(column).cast(pl.String) if value is None else value
    return batch.filter(mask).select(
        pl.col("_file").alias("file"), pl.col("_row").cast(pl.Int64).alias("row"),
        pl.col("model_id"), pl.lit(column).alias("column"), pl.lit(problem).alias("problem"),
        value.str.slice(0, 120).alias("value"))


def _text(column: str) -> pl.Expr:
    """A string column with pandas' missing markers as null."""
    text = pl.col(column).cast(pl.String)
    return (pl.when(text.str.strip_chars().is_in(NULL_LIKE)).then(None).otherwise(text)
            .alias(column))


def _null_where(values: pl.Series, mask: pl.Series) -> pl.Series:
    return pl.select(pl.when(mask).then(None).otherwise(values)).to_series().alias(values.name)


def _check_ids(path: Path, batch: pl.DataFrame) -> None:
    """A model_id column of numbers is a table's row index (pandas' index saved under that
    name, or columns shifted), not Hub ids: stop before converting anything."""
    ids = batch["model_id"]
    numbers = (ids.dtype.is_numeric() or
               ids.cast(pl.String).str.strip_chars().str.contains(r"^\d+(?:\.0)?$").all())
    if ids.len() and numbers:
        raise InputError(
            f"{path}: column 'model_id' holds numbers ({', '.join(map(str, ids.head(3)))}, ...), "
            "not Hub repo ids ('namespace/name'): a table's row index saved under that name, or "
            "shifted columns? Check the file's header")


def _replaced_bytes(batch: pl.DataFrame, invalid_utf8) -> list[pl.DataFrame]:
    """A CSV is read with invalid UTF-8 replaced by U+FFFD (one bad byte must not stop 5 GB):
    in a file that does hold invalid UTF-8, every field with a U+FFFD is a counted problem
    (kept as read). A U+FFFD the file itself spelt cannot be told apart from a replaced byte,
    so in such a file it is counted too; a file that is valid UTF-8 is never flagged."""
    marks = {c: batch[c].str.contains("\ufffd", literal=True).fill_null(False)
             for c in batch.columns if batch.schema[c] == pl.String and not c.startswith("_")}
    if not any(m.any() for m in marks.values()) or not invalid_utf8():
        return []
    return [_problem_rows(batch, mark, column, "not valid UTF-8 (bytes replaced by U+FFFD)")
            for column, mark in marks.items() if mark.any()]


def invalid_utf8_offset(path: Path, block: int = 64 << 20) -> int | None:
    """The byte offset of the first invalid UTF-8 sequence in the file, or None. Blocks are
    checked by Arrow's UTF-8 validation (about 1 GB/s); only a bad block is decoded again to
    find the place. A character split at a block's end is moved to the next block."""
    buffer = bytearray(block + 4)
    view = memoryview(buffer)
    offset = kept = 0
    with path.open("rb") as handle:
        while True:
            read = handle.readinto(view[kept:kept + block])
            end = kept + read
            cut = end
            if read:  # the lead byte of a last character that may be cut: to the next block
                for back in range(1, min(4, end) + 1):
                    if buffer[end - back] < 0x80:
                        break
                    if buffer[end - back] >= 0xC0:
                        cut = end - back
                        break
            bad = _first_invalid(view[:cut])
            if bad is not None:
                return offset + bad
            if not read:
                return None
            offset += cut
            view[:end - cut] = view[cut:end]
            kept = end - cut


def _first_invalid(data: memoryview) -> int | None:
    strings = pa.Array.from_buffers(pa.string(), 1, [
        None, pa.py_buffer(np.array([0, len(data)], dtype=np.int32)), pa.py_buffer(data)])
    try:
        strings.validate(full=True)
        return None
    except pa.ArrowInvalid:
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            return error.start
        return None


# Each step is evaluated eagerly: nesting the when/then expressions instead repeats every
# earlier step inside the later ones, which made one count column take 0.6 s per 25k rows.
def _count(batch: pl.DataFrame, column: str, integer: bool,
           problems: list[pl.DataFrame]) -> pl.Series:
    """A count column -> Int64 (or Float64); unparseable, infinite, fractional, negative or
    too large for Int64 (2^63 or more) -> null."""
    dtype = batch.schema[column]
    if dtype.is_integer():
        number = batch[column]
    else:
        if dtype.is_float():
            number = batch[column]
            bad = number.is_nan() | number.is_infinite()
        else:
            text = batch.select(_text(column).str.strip_chars()).to_series()
            number = text.cast(pl.Float64, strict=False)
            bad = text.is_not_null() & (number.is_null() | number.is_nan()
                                        | number.is_infinite())
        bad = bad.fill_null(False)
        problems.append(_problem_rows(batch, bad, column, "not a number"))
        number = _null_where(number, bad)
    if not integer:
        return number.cast(pl.Float64).alias(column)
    if not number.dtype.is_integer():
        fractional = (number != number.floor()).fill_null(False)
        problems.append(_problem_rows(batch, fractional, column, "not an integer"))
        number = _null_where(number, fractional)
    negative = (number < 0).fill_null(False)
    problems.append(_problem_rows(batch, negative, column, "negative"))
    too_large = ((number >= 2.0**63) if number.dtype.is_float() else
                 (number > 2**63 - 1) if number.dtype == pl.UInt64 else
                 pl.repeat(False, len(number), eager=True)).fill_null(False)
    problems.append(_problem_rows(batch, too_large, column, "too large (2^63 or more)"))
    return _null_where(number, negative | too_large).cast(pl.Int64).alias(column)


def _flag(batch: pl.DataFrame, column: str, problems: list[pl.DataFrame]) -> pl.Series:
    if batch.schema[column] == pl.Boolean:
        return batch[column]
    text = batch.select(_text(column).str.strip_chars().str.to_lowercase()).to_series()
    value = pl.select(pl.when(text.is_in(TRUE_WORDS)).then(True)
                      .when(text.is_in(FALSE_WORDS)).then(False)).to_series()
    problems.append(_problem_rows(batch, text.is_not_null() & value.is_null(), column,
                                  "not True/False"))
    return value.alias(column)


def _created_at(batch: pl.DataFrame, problems: list[pl.DataFrame]) -> pl.Series:
    """createdAt as the Hub writes it (2024-10-03T16:08:44.712Z); other date forms converted
    (to UTC, millisecond precision unless finer), unparseable ones emptied."""
    dtype = batch.schema["createdAt"]
    if isinstance(dtype, pl.Datetime):
        stamp = batch["createdAt"]
        if dtype.time_zone is None:
            stamp = stamp.dt.replace_time_zone("UTC")
        return _format_time(stamp.dt.convert_time_zone("UTC"))
    text = batch.select(_text("createdAt").str.strip_chars()).to_series()
    convert = text.is_not_null() & ~text.str.contains(_HUB_TIME)
    if not convert.any():
        return text
    stamp = pl.select(pl.coalesce([text.str.to_datetime(f, strict=False, time_zone="UTC",
                                                        time_unit="us")
                                   for f in _TIME_FORMATS])).to_series()
    problems.append(_problem_rows(batch, convert & stamp.is_null(), "createdAt",
                                  "not a date"))
    return pl.select(pl.when(convert).then(_format_time(stamp)).otherwise(text)
                     ).to_series().alias("createdAt")


def _format_time(stamp: pl.Series) -> pl.Series:
    fine = (stamp.dt.microsecond() % 1000 != 0).fill_null(False)
    return pl.select(pl.when(fine).then(stamp.dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ"))
                     .otherwise(stamp.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ"))
                     ).to_series().alias("createdAt")


FRAGMENT = ("a fragment of the row before it: a copy of the file split that row at a bare "
            "carriage return in its card (row skipped)")
CUT_CARD = ("cut short where a copy of the file split the row at a bare carriage return (card "
            "unknown: status error)")


def _fragments(batch: pl.DataFrame) -> pl.Series:
    """Rows that are pieces of a split row, not models: every row of the release has a
    createdAt and a tags list (the list API always gives both); a piece of card text spread
    over the columns has neither."""
    created, tags = batch["createdAt"], batch["tags"]
    no_date = (created.is_null() if isinstance(created.dtype, pl.Datetime) else
               ~created.cast(pl.String).str.contains(r"^\s*\d{4}-\d{2}-\d{2}").fill_null(False))
    no_tags = (tags.is_null() if isinstance(tags.dtype, pl.List | pl.Array) else
               ~tags.cast(pl.String).str.strip_chars().str.contains(r"(?s)^\[.*\]$")
               .fill_null(False))
    return (no_date & no_tags).alias("fragment")


def _convert_batch(batch: pl.DataFrame, file_label: str, stats: dict,
                   invalid_utf8=None) -> tuple[pl.DataFrame, pl.DataFrame | None,
                                               list[pl.DataFrame], bool]:
    """One batch of archive rows -> (list-API objects, card records with their `_row`,
    problem rows, whether the batch starts with a fragment of the previous batch's last row).
    invalid_utf8: for a CSV, a function saying whether the file holds invalid UTF-8."""
    problems: list[pl.DataFrame] = []
    columns = set(batch.columns)
    batch = batch.with_columns(_file=pl.lit(file_label))
    fragment = _fragments(batch)
    starts_with_fragment = bool(len(fragment) and fragment[0])
    if fragment.any():
        problems.append(batch.filter(fragment).select(
            file="_file", row=pl.col("_row").cast(pl.Int64),
            model_id=pl.lit(None, dtype=pl.String), column=pl.lit("(row)"),
            problem=pl.lit(FRAGMENT), value=pl.col("model_id").cast(pl.String).str.slice(0, 120)))
        stats["fragments"] += int(fragment.sum())
    # the row before a fragment lost the rest of its card (and the columns after it)
    batch = batch.with_columns(_cut=~fragment & fragment.shift(-1, fill_value=False)
                               ).filter(~fragment)
    batch = batch.with_columns(model_id=_text("model_id").str.strip_chars())
    no_id = pl.col("model_id").is_null() | (pl.col("model_id") == "")
    problems.append(_problem_rows(batch, no_id, "model_id", "missing model id (row skipped)",
                                  pl.lit(None, dtype=pl.String)))
    batch = batch.filter(~no_id)
    if invalid_utf8 is not None:
        problems += _replaced_bytes(batch, invalid_utf8)

    for column in [c for c in LIST_COLUMNS if c in columns]:
        values, bad = parse_list_strings(batch[column])
        problems.append(_problem_rows(batch, bad, column,
                                      "not a Python-list string of strings (emptied)"))
        batch = batch.with_columns(values.alias(column))
        stats["list_values_unparsed"] += int(bad.sum())

    # values of derived columns that the tags lack go back into the tags
    added = []
    for column, prefix in DERIVED_COLUMNS.items():
        if column in columns:
            added.append(batch.select(
                "model_id", _i=pl.int_range(pl.len()), column=pl.lit(column),
                tag=pl.col(column),
            ).explode("tag").filter(pl.col("tag").str.strip_chars() != "")
                .with_columns(tag=pl.lit(prefix) + pl.col("tag")))
    batch = batch.with_columns(_i=pl.int_range(pl.len()))
    if added:
        have = batch.select("_i", tag="tags").explode("tag").drop_nulls("tag")
        added = (pl.concat(added).join(have, on=["_i", "tag"], how="anti",
                                       maintain_order="left")
                 .unique(["_i", "tag"], keep="first", maintain_order=True))
    if added is not None and len(added):
        for column, group in added.group_by("column", maintain_order=True):
            stats["tags_added"][column[0]] = stats["tags_added"].get(column[0], 0) + group.height
            examples = stats["tags_added_examples"].setdefault(column[0], [])
            examples.extend(group["model_id"].head(EXAMPLE_IDS - len(examples)).to_list())
        extra = added.group_by("_i", maintain_order=True).agg(pl.col("tag").alias("_extra"))
        batch = batch.with_columns(
            batch.select("_i", "tags").join(extra, on="_i", how="left", maintain_order="left")
            .select(pl.col("tags").list.concat(pl.col("_extra").fill_null(
                pl.lit([], dtype=_STRINGS)))).to_series())

    fields = [pl.col("model_id").alias("id")]
    fields.append(_count(batch, "likes", True, problems))
    if "trendingScore" in columns:
        fields.append(_count(batch, "trendingScore", False, problems))
    if "private" in columns:
        fields.append(_flag(batch, "private", problems))
    fields += [_count(batch, "downloads", True, problems), pl.col("tags"),
               _text("pipeline_tag").alias("pipeline_tag"),
               _text("library_name").alias("library_name"),
               _created_at(batch, problems), pl.col("model_id").alias("modelId")]
    models = batch.select(fields)
    models = models.select([k for k in LIST_API_KEYS if k in models.columns])

    cards = None
    if "modelCard" in columns:
        text = pl.col("modelCard").cast(pl.String)
        has_text = text.is_not_null() & ~text.is_in(NULL_LIKE)
        if "exception_raised" in columns:
            raised = pl.col("exception_raised")
            raised = (raised.fill_null(False) if batch.schema["exception_raised"] == pl.Boolean
                      else ~raised.cast(pl.String).str.strip_chars().fill_null("")
                      .is_in(FALSE_LIKE))
        else:
            raised = pl.lit(False)
        ok = has_text & ~pl.col("_cut")
        problems.append(_problem_rows(batch, pl.col("_cut"), "modelCard", CUT_CARD))
        cards = batch.select(
            "_row", id="model_id",
            status=pl.when(ok).then(pl.lit("ok")).when(raised | pl.col("_cut"))
            .then(pl.lit("error")).otherwise(pl.lit("missing")),
            card=pl.when(ok).then(text))
        stats["cards_with_exception"] += int(batch.select((has_text & raised).sum()).item())
        if "ratelimit_retries" in columns:
            retries = pl.col("ratelimit_retries").cast(pl.String).cast(pl.Float64, strict=False)
            stats["ratelimit_retries"] += int(batch.select(retries.fill_nan(0).sum()).item())
    return models, cards, problems, starts_with_fragment


def _cut_last_card(cards: pl.DataFrame, file_label: str, problems: _Problems) -> pl.DataFrame:
    """The next batch starts with a fragment: the last card of this one was cut short."""
    last = cards.tail(1)
    problems.add(last.select(file=pl.lit(file_label), row=pl.col("_row").cast(pl.Int64),
                             model_id="id", column=pl.lit("modelCard"), problem=pl.lit(CUT_CARD),
                             value=pl.col("card").str.slice(0, 120)))
    cut = pl.int_range(pl.len()) == cards.height - 1
    return cards.with_columns(status=pl.when(cut).then(pl.lit("error")).otherwise("status"),
                              card=pl.when(cut).then(None).otherwise("card"))


def _write_cards(writer: raw.RawWriter, held: tuple[int, pl.DataFrame], cut: bool,
                 file_label: str, problems: _Problems, stats: dict) -> None:
    """Write a batch's card records once the next batch has shown whether its last card was
    cut (the next batch starts with a fragment)."""
    part, cards = held
    if cut and cards.height:
        cards = _cut_last_card(cards, file_label, problems)
    for status, n in cards["status"].value_counts().rows():
        stats["card_status"][status] = stats["card_status"].get(status, 0) + n
    writer.write_cards(part, cards.drop("_row"))


def archive_to_raw(files: list[str | Path], out_dir: str | Path, source: dict,
                   chunk_rows: int = CHUNK_ROWS) -> dict:
    """Archive-schema CSV/parquet files -> a raw directory (models/ and cards/ part files,
    raw_manifest.json with `source` and `problems`, archive_problems.csv); returns the report.
    Streams `chunk_rows` rows at a time, so memory stays bounded by one batch."""
    files = [Path(f) for f in files]
    if not files:
        raise InputError("no archive files given")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = {}
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: archive file not found")
        present = _file_columns(path)
        columns[path] = (present, check_columns(path, present))

    writer = raw.RawWriter(out)
    problems = _Problems(out / PROBLEMS_CSV)
    stats = {"list_values_unparsed": 0, "tags_added": {}, "tags_added_examples": {},
             "card_status": {}, "cards_with_exception": 0, "ratelimit_retries": 0,
             "fragments": 0}
    per_file, rows_in, models_out, part = {}, 0, 0, 0
    progress = Progress("converting archive rows", total=None, unit="rows")
    try:
        for path in files:
            present, described = columns[path]
            wanted = [c for c in KNOWN_COLUMNS if c in present and c not in CARD_FEATURE_COLUMNS]
            file_rows = file_models = 0
            checked: list[int | None] = []

            def invalid_utf8(path=path, checked=checked) -> bool:
                if not checked:  # read the file once, only when a batch holds a U+FFFD
                    checked.append(invalid_utf8_offset(path))
                    if checked[0] is not None:
                        log.warning("%s is not valid UTF-8 (first at byte %d): the bytes are "
                                    "replaced by U+FFFD and every such field is counted in %s",
                                    path, checked[0], PROBLEMS_CSV)
                return checked[0] is not None

            pending = None  # the last batch's cards: its last card may prove cut
            for batch in _batches(path, wanted, chunk_rows):
                if file_rows == 0:
                    _check_ids(path, batch)
                models, cards, bad, starts_with_fragment = _convert_batch(
                    batch, path.name, stats, None if _is_parquet(path) else invalid_utf8)
                # the previous batch's last card first: problems stay in row order
                if pending is not None:
                    _write_cards(writer, pending, starts_with_fragment, path.name, problems,
                                 stats)
                for frame in bad:
                    problems.add(frame)
                writer.write_models(part, models)
                pending = None if cards is None else (part, cards)
                part += 1
                file_rows += batch.height
                file_models += models.height
                progress.update(batch.height)
            if pending is not None:
                _write_cards(writer, pending, False, path.name, problems, stats)
            per_file[path.name] = {"rows": file_rows, "models": file_models,
                                   "absent_columns": described["absent"],
                                   "ignored_columns": described["ignored"],
                                   "cards": "modelCard" in present}
            rows_in += file_rows
            models_out += file_models
            log.info("%s: %d rows in, %d models out", path.name, file_rows, file_models)
    finally:
        problem_report = problems.close()
        progress.close()
    if rows_in == 0:
        raise InputError(f"the archive files hold no rows: {', '.join(map(str, files))}")
    problem_report["rows_skipped"] = rows_in - models_out
    report = {
        "rows": rows_in, "models": models_out, "rows_skipped": rows_in - models_out,
        "parts": part, "files": per_file,
        "tags_added_from_columns": stats["tags_added"],
        "tags_added_examples": stats["tags_added_examples"],
        "list_values_unparsed": stats["list_values_unparsed"],
        "card_status": dict(sorted(stats["card_status"].items())),
        "cards_with_exception": stats["cards_with_exception"],
        "ratelimit_retries": stats["ratelimit_retries"],
        "fragment_rows": stats["fragments"],
        "problems": problem_report,
    }
    if problem_report["fields"] > 0.01 * rows_in:
        log.warning("%d bad fields in %d archive rows: see %s", problem_report["fields"],
                    rows_in, out / PROBLEMS_CSV)
    writer.finish(source)
    manifest = {"source": source, "problems": problem_report, "written": writer.written,
                "archive": {k: v for k, v in report.items() if k != "problems"}}
    raw.write_atomic(out / raw.RAW_MANIFEST,
                     (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode())
    log.info("archive -> raw: %d rows in, %d models, %d skipped, %d bad fields, tags added %s",
             rows_in, models_out, rows_in - models_out, problem_report["fields"],
             stats["tags_added"])
    return report


# ------------------------------------------------------------------ download


_SHARD = re.compile(r"(?:[-_.]?\d{5}-of-\d{5}|[-_.]?\d+)$")


def _tables(paths: list[str]) -> dict[tuple[str, str], list[str]]:
    """Paths grouped into tables: the shards of one table (train-00000-of-00002,
    0000.parquet ...) share a folder and a name without the shard number."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in paths:
        path = Path(p)
        groups.setdefault((str(path.parent), _SHARD.sub("", path.stem)), []).append(p)
    return groups


def discover_data_files(paths: list[str]) -> list[str]:
    """The archive's data files among a repo's files: parquet if any, else CSV; README,
    .gitattributes and other files ignored. Shards of one table (train-00000-of-00002,
    0000.parquet ...) are one group; several groups are ambiguous and refused."""
    for ext in (".parquet", ".csv"):
        found = sorted(p for p in paths if p.lower().endswith(ext)
                       and not Path(p).name.startswith("."))
        if found:
            break
    else:
        return []
    groups = _tables(found)
    if len(groups) > 1:
        listed = "; ".join(f"{d}/{s or '*'}: {len(g)} file(s)" for (d, s), g in groups.items())
        raise InputError(
            f"the dataset repo holds several {ext} tables ({listed}); choose one with "
            f"data_files=[...] (paths in the repo)")
    return found


def is_archive_file(path: Path) -> bool:
    """A CSV or parquet file (by suffix; a file without one by its first bytes), not JSON
    lines."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return True
    if suffix in (".jsonl", ".json", ".ndjson"):
        return False
    with path.open("rb") as handle:
        head = handle.read(4096)
    return head.startswith(b"PAR1") or (not head.lstrip().startswith(b"{")
                                         and b"model_id" in head.split(b"\n", 1)[0])


def archive_files(path: str | Path) -> list[Path]:
    """The archive-schema files a local path names (a CSV/parquet file, or a folder holding
    one table, sharded or not), or [] when it holds raw data (JSON lines). A folder holding
    several tables (two CSVs, a CSV and its parquet copy...) is refused, naming them."""
    path = Path(path)
    if path.is_file():
        return [path] if is_archive_file(path) else []
    if not path.is_dir() or (path / raw.MODELS).is_dir() or (path / "models.jsonl").is_file():
        return []
    found = sorted(f for f in path.rglob("*") if f.is_file()
                   and f.suffix.lower() in (".csv", ".parquet")
                   and not any(part.startswith(".") for part in f.relative_to(path).parts))
    groups = _tables([f"{f.relative_to(path).as_posix()}" for f in found])
    kinds = {Path(f).suffix.lower() for f in found}
    if len(groups) > 1 or len(kinds) > 1:
        listed = "; ".join(", ".join(g[:3]) + (f" and {len(g) - 3} more" if len(g) > 3 else "")
                           for g in groups.values())
        raise InputError(
            f"{path} holds several tables ({listed}): point at one file (or a folder holding "
            "the shards of one table)")
    return found


def convert_local_archive(files: list[Path], out_dir: str | Path) -> dict:
    """Local archive-schema files -> raw (out_dir), their sha256 in the source record."""
    from hubanatomy.snapshot.files import sha256_file

    source = {"kind": "snapshot", "format": "archive",
              "files": {str(f): sha256_file(f) for f in files}}
    return archive_to_raw(files, out_dir, source)


def _verified_sha256(path: Path, listed, where: str) -> str:
    """The file's sha256, checked against what the Hub lists for it: the LFS oid (the sha256
    of the content) of an LFS file, else its git blob id. A mismatch (a corrupt or altered
    download) stops the run: the analysis must run on the exact release."""
    digest, blob = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            if listed.lfs is None:
                blob.update(chunk)
    got = digest.hexdigest()
    want, kind, have = ((listed.lfs.sha256, "LFS sha256", got) if listed.lfs is not None
                        else (listed.blob_id, "git blob id", blob.hexdigest()))
    if want and have != want:
        raise InputError(
            f"{listed.path} of {where}: the downloaded file's {kind} is {have}, but the Hub "
            f"lists {want}: the download is corrupt or the file was altered. Delete {path} "
            "(huggingface_hub's cache) and rerun to download it again")
    return got


def _connection_errors() -> tuple[type[BaseException], ...]:
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled
    return (httpx2.TransportError, OfflineModeIsEnabled, ConnectionError, TimeoutError)


def download_archive(repo_id: str, revision: str | None, out_dir: str | Path,
                     endpoint: str | None = None, timeout: float = 10.0, *,
                     cache_dir: str | Path | None = None,
                     data_files: list[str] | None = None) -> dict:
    """Download the archive dataset repo at a pinned commit and convert it to raw (out_dir).

    The revision (branch, tag or sha; default main) is resolved to its commit sha first; every
    file is then fetched at that sha through huggingface_hub's cache (HF_TOKEN is used by
    huggingface_hub and never logged). Without parquet/CSV files at the commit the Hub's
    auto-converted parquet (revision refs/convert/parquet) is used. Returns the archive_to_raw
    report; the raw manifest's source is {kind: archive, repo_id, revision, commit, endpoint,
    files: {path: sha256}}."""
    from huggingface_hub import HfApi, constants, hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    shown = raw.public_url(endpoint)
    revision = revision or "main"
    api = HfApi(endpoint=endpoint)
    offline = _connection_errors()

    def resolve(rev: str) -> str:
        try:
            info = api.dataset_info(repo_id, revision=rev, timeout=timeout)
        except GatedRepoError:
            raise InputError(
                f"dataset {repo_id} at {shown} is gated: accept its terms on the Hub and set "
                f"HF_TOKEN to a token of that account") from None
        except RevisionNotFoundError:
            raise InputError(f"dataset {repo_id} at {shown} has no revision {rev!r}") from None
        except RepositoryNotFoundError:
            raise InputError(
                f"dataset repo {repo_id!r} not found at {shown} (or private: set HF_TOKEN). "
                f"{OFFLINE_HINT}") from None
        except offline as error:
            raise InputError(f"cannot reach the Hub at {shown} ({type(error).__name__}: "
                             f"{error}). {OFFLINE_HINT}") from None
        except HfHubHTTPError as error:
            raise InputError(f"the Hub at {shown} refused dataset {repo_id}@{rev}: "
                             f"{str(error).splitlines()[0]}") from None
        if not info.sha:
            raise InputError(f"the Hub at {shown} gave no commit sha for {repo_id}@{rev}")
        return info.sha

    def listing(commit: str) -> dict:
        """path -> RepoFile (size, git blob id, LFS sha256) of every file at the commit."""
        from huggingface_hub.hf_api import RepoFile

        try:
            return {entry.path: entry for entry in api.list_repo_tree(
                repo_id, repo_type="dataset", revision=commit, recursive=True)
                if isinstance(entry, RepoFile)}
        except offline as error:
            raise InputError(f"lost the Hub at {shown} while listing {repo_id}: {error}. "
                             f"{OFFLINE_HINT}") from None
        except HfHubHTTPError as error:
            raise InputError(f"cannot list the files of {repo_id}@{commit} at {shown}: "
                             f"{str(error).splitlines()[0]}") from None

    commit = resolve(revision)
    repo_files = listing(commit)
    chosen = ([p for p in data_files if p in repo_files] if data_files
              else discover_data_files(list(repo_files)))
    if data_files and len(chosen) != len(data_files):
        missing = sorted(set(data_files) - set(chosen))
        raise InputError(f"{repo_id}@{commit}: data files not in the repo: {missing}")
    converted = None
    if not chosen:
        log.info("%s@%s holds no parquet/CSV data files (%d files); trying the auto-converted "
                 "parquet at refs/convert/parquet", repo_id, commit[:12], len(repo_files))
        try:
            converted = resolve("refs/convert/parquet")
        except InputError as error:
            raise InputError(
                f"dataset {repo_id}@{revision} ({commit}) at {shown} holds no parquet or CSV "
                f"data file (files: {sorted(repo_files)[:20]}), and no auto-converted parquet: "
                f"{error}") from None
        repo_files = listing(converted)
        chosen = discover_data_files(list(repo_files))
        if not chosen:
            raise InputError(f"dataset {repo_id} at {shown} has no parquet or CSV data file, "
                             f"neither at {revision} nor at refs/convert/parquet")
    fetch_commit = converted or commit
    log.info("downloading %d archive file(s) of %s@%s (commit %s) from %s", len(chosen),
             repo_id, revision, fetch_commit, shown)

    local, sums = [], {}
    progress = Progress("downloading archive files", total=len(chosen), unit="files")
    for name in chosen:
        try:
            path = Path(hf_hub_download(repo_id, name, repo_type="dataset",
                                        revision=fetch_commit, endpoint=endpoint,
                                        cache_dir=cache_dir, etag_timeout=timeout))
        except (LocalEntryNotFoundError, *offline) as error:
            raise InputError(f"lost the Hub at {shown} while downloading {name}: {error}. "
                             f"Files already downloaded stay in the huggingface_hub cache. "
                             f"{OFFLINE_HINT}") from None
        except HfHubHTTPError as error:
            raise InputError(f"cannot download {name} of {repo_id}@{fetch_commit}: "
                             f"{str(error).splitlines()[0]}") from None
        local.append(path)
        sums[name] = _verified_sha256(path, repo_files[name], f"{repo_id}@{fetch_commit}")
        progress.update()
    progress.close()
    source = {"kind": "archive", "repo_id": repo_id, "revision": revision, "commit": commit,
              "endpoint": shown, "files": sums}
    if converted:
        source["converted_parquet_commit"] = converted
    report = archive_to_raw(local, out_dir, source)
    report["source"] = source
    return report

