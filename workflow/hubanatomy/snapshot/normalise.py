"""Raw (list-API JSON lines + card records) -> the canonical snapshot (snapshot.py).

Policy for bad input (documented in config/README.md): a line that is not valid UTF-8 or JSON,
is not one object, has a field of the wrong type, lacks a model id, or repeats an id already
seen is skipped; each skip is listed in rejected.csv with file, line and reason, and counted in
the manifest. If more than `max_reject_fraction` of the lines are skipped the run stops with
an error that names the first bad lines: the input is then broken, not a little noisy.
Nothing is ever dropped silently: every other set-aside (unknown relation names, cards of
unknown models, unparseable dates, ...) is counted in manifest.json.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hubanatomy.errors import InputError
from hubanatomy.progress import Progress
from hubanatomy.snapshot import cards as card_text
from hubanatomy.snapshot import files as snap
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.ids import IdIndex
from hubanatomy.snapshot.jsonl import Reject, read_jsonl
from hubanatomy.snapshot.parent_ids import REPO_ID
from hubanatomy.snapshot.tags import declared_parents, trait_lists

log = logging.getLogger(__name__)

# What we read of each list-API object; camelCase as the list API sends it, snake_case as
# huggingface_hub's ModelInfo (and some dumps) write it.
RAW_MODEL_SCHEMA = pa.schema([
    ("id", pa.string()), ("modelId", pa.string()), ("author", pa.string()),
    ("createdAt", pa.string()), ("created_at", pa.string()),
    ("lastModified", pa.string()), ("last_modified", pa.string()),
    ("downloads", pa.int64()), ("likes", pa.int64()),
    ("trendingScore", pa.float64()), ("trending_score", pa.float64()),
    ("pipeline_tag", pa.string()), ("library_name", pa.string()),
    ("tags", pa.list_(pa.string())),
])
RAW_CARD_SCHEMA = pa.schema([("id", pa.string()), ("status", pa.string()),
                             ("card", pa.string())])
RAW_RENAME_SCHEMA = pa.schema([("old_id", pa.string()), ("new_id", pa.string())])


class NormaliseError(InputError):
    """The raw input is unusable; the message says which file and lines, and why."""


def normalise(raw_root: str | Path, out_dir: str | Path, source: dict,
              max_reject_fraction: float = 0.01) -> dict:
    """Build the canonical snapshot in out_dir from the raw data at raw_root; return the
    manifest (also written to out_dir/manifest.json). Every file is written under a temp name
    and renamed when all are complete, the manifest last: a run that fails (bad input, a full
    disk) leaves the previous snapshot whole and no partial file."""
    raw_root, out = Path(raw_root), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = (snap.MODELS, snap.PARENTS, snap.CARDS, snap.RENAMES, snap.REJECTED,
             snap.GROUND_TRUTH, snap.MANIFEST)
    staged = {name: out / f"{name}.tmp" for name in names}
    try:
        manifest = _normalise(raw_root, staged, source, max_reject_fraction)
        for name, tmp in staged.items():
            if tmp.is_file():
                os.replace(tmp, out / name)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    log.info("snapshot written to %s: %s", out, manifest["rows"])
    return manifest


def _normalise(raw_root: Path, staged: dict[str, Path], source: dict,
               max_reject_fraction: float) -> dict:
    rel = _relative_to(raw_root)

    expected = raw.expected_lines(raw.read_raw_manifest(raw_root)) if raw_root.is_dir() else {}
    models, model_rejects, lines = _read_models(raw.model_files(raw_root), rel)
    _check_complete(raw_root, raw.MODELS, lines, expected)
    _check_rejects(model_rejects, lines, max_reject_fraction, "model metadata")
    log.info("models: %d lines in, %d models kept, %d lines rejected", lines, models.height,
             len(model_rejects))

    models = _canonical_models(models)
    tag_parents, parent_report = declared_parents(models)
    counts = {
        "model_lines": lines,
        "rejected_model_lines": len(model_rejects),
        "unparsed_created_at": int(models["created_at"].is_null().sum()
                                   - models["_created_raw"].is_null().sum()),
        **parent_report["counts"],
    }
    models = models.drop("_created_raw")
    snap.write_parquet(snap.conform(models, snap.MODELS_SCHEMA), staged[snap.MODELS])

    card_report, card_rejects, card_parents, broken_ids = _write_cards(
        raw.card_files(raw_root), models["model_id"], staged[snap.CARDS], rel)
    counts.update(card_report)
    _check_complete(raw_root, raw.CARDS, card_report["card_lines"], expected)
    _check_rejects(card_rejects, card_report["card_lines"], max_reject_fraction, "card")

    # parents a card declares but the tags do not (the Hub derives the tags from the card, so
    # these are the cases where that derivation failed)
    card_only = (card_parents.join(tag_parents.select("child_id", "parent_id"),
                                   on=["child_id", "parent_id"], how="anti",
                                   maintain_order="left")
                 .with_columns(origin=pl.lit("card")))
    counts["parents_from_card_only"] = card_only.height
    parents = snap.conform(pl.concat([tag_parents, card_only]), snap.PARENTS_SCHEMA)
    snap.write_parquet(parents, staged[snap.PARENTS])

    renames, rename_rejects = _read_renames(raw.renames_file(raw_root), rel)
    counts["renames"] = renames.height
    snap.write_parquet(renames, staged[snap.RENAMES])

    rejects = model_rejects + card_rejects + rename_rejects
    pl.DataFrame([r.as_dict() for r in rejects],
                 schema={"file": pl.String, "line": pl.Int64, "reason": pl.String}
                 ).write_csv(staged[snap.REJECTED])

    manifest = {
        "schema_version": 1,
        "source": source,
        "rows": {"models": models.height, "parents": parents.height,
                 "cards": int(counts["cards_rows"])},
        "files": {name: {"sha256": snap.sha256_file(staged[name]),
                         "bytes": staged[name].stat().st_size}
                  for name in (snap.MODELS, snap.PARENTS, snap.CARDS, snap.RENAMES,
                               snap.REJECTED)},
        "normalise": {
            "counts": counts,
            "rejects_by_reason": _reasons(rejects),
            "examples": {**parent_report["examples"],
                         "broken_front_matter": broken_ids,
                         "rejected_lines": [r.as_dict() for r in rejects[:20]]},
            "max_reject_fraction": max_reject_fraction,
        },
        "packages": snap.package_versions(),
    }
    # what the acquisition saw (request counts, problems with model ids), when it says so
    acquisition = raw.read_raw_manifest(raw_root).get("acquisition") if raw_root.is_dir() else None
    if acquisition:
        manifest["acquisition"] = acquisition
    truth = raw_root / raw.GROUND_TRUTH if raw_root.is_dir() else None
    if truth is not None and truth.is_file():
        staged[snap.GROUND_TRUTH].write_bytes(truth.read_bytes())
    snap.write_json(manifest, staged[snap.MANIFEST])
    return manifest


def source_record(configured: dict, raw_root: str | Path) -> dict:
    """The manifest's `source`: the configured identity, completed by what the raw data says of
    itself (the simulator's parameters, a crawl's window) and, for a local file, its sha256."""
    described = raw.read_raw_manifest(raw_root).get("source", {})
    record = {**dict(configured), **described}
    if isinstance(record.get("endpoint"), str):  # never a user:password part
        record["endpoint"] = raw.public_url(record["endpoint"])
    if record.get("kind") == "snapshot" and not described:
        files = raw.model_files(raw_root) + raw.card_files(raw_root)
        record["path"] = str(raw_root)
        record["sha256"] = (snap.sha256_file(files[0]) if len(files) == 1 else
                            {str(f): snap.sha256_file(f) for f in files})
    return record


def _read_renames(path: Path | None, rel) -> tuple[pl.DataFrame, list[Reject]]:
    """old_id -> new_id pairs of renamed repos; the first mapping of an old id wins."""
    frames, rejects = [], []
    for chunk in read_jsonl(path, RAW_RENAME_SCHEMA) if path else []:
        rejects += [Reject(rel(Path(r.file)), r.line, r.reason) for r in chunk.rejects]
        frames.append(pl.from_arrow(chunk.table))
    renames = pl.concat(frames) if frames else pl.DataFrame(schema=snap.RENAMES_SCHEMA)
    renames = renames.drop_nulls().filter(pl.col("old_id") != pl.col("new_id"))
    return snap.conform(renames.unique("old_id", keep="first", maintain_order=True),
                        snap.RENAMES_SCHEMA), rejects


def _relative_to(root: Path):
    base = root if root.is_dir() else root.parent

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(base))
        except ValueError:
            return str(path)
    return rel


def _check_complete(raw_root: Path, kind: str, found: int, expected: dict) -> None:
    """Stop when fewer lines are found than the raw manifest says were written: a deleted or
    cut raw file would otherwise turn cards into "missing" and models into absent ones."""
    want = expected.get(kind)
    if want is None or found >= want:
        if want is not None and found > want:
            log.warning("%s: %d %s lines found, the raw manifest says %d were written",
                        raw_root, found, kind, want)
        return
    files = raw.model_files(raw_root) if kind == raw.MODELS else raw.card_files(raw_root)
    shown = ", ".join(str(f.relative_to(raw_root)) for f in files[:10]) or "none"
    raise NormaliseError(
        f"{raw_root}: the raw manifest ({raw.RAW_MANIFEST}) says {want:,} {kind} lines were "
        f"written, but only {found:,} are in the {kind} files found ({shown}"
        f"{', ...' if len(files) > 10 else ''}): raw files are missing or cut. Restore them, "
        "or fetch the raw data again")


def _check_rejects(rejects: list[Reject], lines: int, limit: float, what: str) -> None:
    if lines and len(rejects) / lines > limit:
        shown = "\n".join(f"  {r.file} line {r.line}: {r.reason}" for r in rejects[:10])
        raise NormaliseError(
            f"{len(rejects):,} of {lines:,} {what} lines are unusable "
            f"(more than max_reject_fraction = {limit}); first ones:\n{shown}")


def _reasons(rejects: list[Reject]) -> dict:
    out: dict[str, int] = {}
    for r in rejects:
        key = r.reason.split(":")[0]
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def _read_models(files: list[Path], rel) -> tuple[pl.DataFrame, list[Reject], int]:
    frames, rejects, lines = [], [], 0
    progress = Progress("reading model metadata", total=None, unit="models")
    for path in files:
        for chunk in read_jsonl(path, RAW_MODEL_SCHEMA, keep_text=True):
            rejects += [Reject(rel(Path(r.file)), r.line, r.reason) for r in chunk.rejects]
            lines += chunk.table.num_rows + len(chunk.rejects)
            frame = pl.from_arrow(chunk.table).with_columns(
                metadata_json=pl.from_arrow(chunk.text),
                _line=pl.from_arrow(chunk.line),
                _file=pl.lit(rel(path)),
            )
            frames.append(frame)
            progress.update(frame.height)
    progress.close()
    if not frames or lines == 0:
        raise NormaliseError(f"no model metadata lines found in {', '.join(map(rel, files))}")
    models = pl.concat(frames)

    # rows without a usable id or with a negative count, then repeated ids (the first
    # occurrence wins)
    models = models.with_columns(model_id=pl.coalesce("id", "modelId").str.strip_chars())
    models = models.with_columns(_problem=_model_problem())
    bad = models.filter(pl.col("_problem").is_not_null())
    for file, line, model_id, problem in bad.select("_file", "_line", "model_id",
                                                    "_problem").iter_rows():
        shown = model_id if model_id is None or len(model_id) <= 100 else \
            f"{model_id[:60]}...({len(model_id):,} characters)"
        reason = (problem if model_id is None or problem.startswith("wrong value")
                  else f"invalid model id {shown!r}: {problem}")
        rejects.append(Reject(file, line, reason))
    models = models.filter(pl.col("_problem").is_null()).drop("_problem")
    first = models.select("model_id", "_file", "_line").unique("model_id", keep="first",
                                                             maintain_order=True)
    dup = models.join(first, on=["_file", "_line"], how="anti", maintain_order="left")
    dup = dup.join(first.rename({"_file": "_first_file", "_line": "_first_line"}),
                   on="model_id", maintain_order="left")
    for file, line, model_id, f0, l0 in dup.select(
            "_file", "_line", "model_id", "_first_file", "_first_line").iter_rows():
        rejects.append(Reject(file, line, f"duplicate id {model_id!r} (first at {f0} line {l0})"))
    models = models.join(first.select("_file", "_line"), on=["_file", "_line"], how="semi",
                         maintain_order="left")
    return models, rejects, lines


def _model_problem() -> pl.Expr:
    """Why a model line is unusable (null if it is fine). Ids: the Hub's repo id rules as
    huggingface_hub's validate_repo_id states them (names of at most 96 characters, no '..'),
    plus: a bare number is a table's row index, not a model (the ids without a namespace are
    the legacy canonical models such as gpt2; none is a number). Counts: the Hub never
    reports a negative number of downloads or likes."""
    model_id = pl.col("model_id")
    parts = model_id.str.split("/")
    return (pl.when(model_id.is_null()).then(pl.lit("missing model id (neither 'id' nor "
                                                     "'modelId')"))
            .when(~model_id.str.contains(REPO_ID)).then(pl.lit("not a Hub repo id"))
            .when(model_id.str.contains("..", literal=True))
            .then(pl.lit("'..' (a path segment) is not allowed in a Hub repo id"))
            .when(parts.list.eval(pl.element().str.len_chars() > 96).list.any())
            .then(pl.lit("a name longer than 96 characters is not a Hub repo id"))
            .when(model_id.str.contains(r"^\d+$"))
            .then(pl.lit("a bare number (a table's row index?), not a Hub repo id"))
            .when(parts.list.eval(pl.element() == ".").list.any())
            .then(pl.lit("'.' (a path segment) is not a Hub repo name"))
            .when(pl.col("downloads") < 0)
            .then(pl.format("wrong value: downloads {} is negative", pl.col("downloads")))
            .when(pl.col("likes") < 0)
            .then(pl.format("wrong value: likes {} is negative", pl.col("likes"))))


def _canonical_models(m: pl.DataFrame) -> pl.DataFrame:
    created = pl.coalesce("createdAt", "created_at")
    modified = pl.coalesce("lastModified", "last_modified")

    def timestamp(expr: pl.Expr) -> pl.Expr:
        return expr.str.strip_chars().str.to_datetime(strict=False, time_zone="UTC",
                                                       time_unit="us")

    m = m.with_columns(
        author=pl.coalesce(
            "author",
            pl.when(pl.col("model_id").str.contains("/"))
            .then(pl.col("model_id").str.split("/").list.first())),
        _created_raw=created,
        created_at=timestamp(created),
        last_modified=timestamp(modified),
        downloads=pl.col("downloads").fill_null(0),
        likes=pl.col("likes").fill_null(0),
        trending_score=pl.coalesce("trendingScore", "trending_score"),
    )
    return trait_lists(m)


def _write_cards(files: list[Path], model_ids: pl.Series, path: Path, rel):
    """Stream card records into cards.parquet (one row per model), returning counts, rejects
    and the parents declared in front matter."""
    index = IdIndex(model_ids)
    seen = np.zeros(len(index), dtype=bool)
    counts = {"card_lines": 0, "cards_for_unknown_models": 0, "duplicate_card_records": 0,
              "card_status_inferred": 0, "ok_status_without_text": 0,
              "broken_front_matter": 0, "rejected_card_lines_as_error": 0}
    rejects: list[Reject] = []
    rejected_ids: list[str] = []  # models whose card record was rejected (a bad character)
    parents = []
    broken_ids: list[str] = []  # the first 100 models whose front matter does not parse
    writer = None
    progress = Progress("reading model cards", total=len(model_ids), unit="cards")
    for file in files:
        for chunk in read_jsonl(file, RAW_CARD_SCHEMA):
            rejects += [Reject(rel(Path(r.file)), r.line, r.reason) for r in chunk.rejects]
            rejected_ids += [r.id.strip() for r in chunk.rejects if r.id]
            counts["card_lines"] += chunk.table.num_rows + len(chunk.rejects)
            frame = (pl.from_arrow(chunk.table).rename({"id": "model_id"})
                     .with_columns(pl.col("model_id").str.strip_chars(),
                                   _line=pl.from_arrow(chunk.line)))
            # a record without a status is judged by its text
            inferred = pl.col("status").is_null()
            counts["card_status_inferred"] += int(frame.select(inferred.sum()).item())
            frame = frame.with_columns(status=pl.when(inferred).then(
                pl.when(pl.col("card").is_null()).then(pl.lit("missing")).otherwise(pl.lit("ok")))
                .otherwise(pl.col("status")))
            bad_status = ~pl.col("status").is_in(snap.CARD_STATUSES)
            for line, status in frame.filter(bad_status).select("_line", "status").iter_rows():
                rejects.append(Reject(rel(file), line, f"invalid card status {status!r}: "
                                                       "expected ok, missing or error"))
            rejected_ids += frame.filter(bad_status)["model_id"].drop_nulls().to_list()
            frame = frame.filter(~bad_status)
            position = index.positions(frame["model_id"])
            known = position >= 0
            counts["cards_for_unknown_models"] += int((~known).sum())
            # the first record of a model wins, across chunks and within one
            first = np.zeros(len(position), dtype=bool)
            fresh = np.flatnonzero(known & ~seen[np.maximum(position, 0)])
            _, first_of_fresh = np.unique(position[fresh], return_index=True)
            first[fresh[first_of_fresh]] = True
            counts["duplicate_card_records"] += int(known.sum() - first.sum())
            seen[position[first]] = True
            frame = frame.filter(pl.Series(first))
            no_text = (pl.col("status") == "ok") & pl.col("card").is_null()
            counts["ok_status_without_text"] += int(frame.select(no_text.sum()).item())
            frame = frame.with_columns(
                status=pl.when(no_text).then(pl.lit("error")).otherwise(pl.col("status")),
                card=pl.when(pl.col("status") == "ok").then(pl.col("card")))
            frame = frame.with_columns(fm=card_text.front_matter(pl.col("card")))
            broken = frame.filter(card_text.broken_front_matter(pl.col("card"), pl.col("fm")))
            counts["broken_front_matter"] += broken.height
            broken_ids.extend(broken["model_id"].head(100 - len(broken_ids)).to_list())
            parents.append(card_text.front_matter_parents(frame))
            writer = _append_cards(writer, path, frame)
            progress.update(frame.height)
    # a model whose card record was rejected (a NUL byte, invalid UTF-8, a lone surrogate, an
    # invalid status) has a card we could not read: unknown (error), not "no README" (missing)
    position = index.positions(pl.Series(rejected_ids, dtype=pl.String))
    unread = np.unique(position[position >= 0])
    unread = unread[~seen[unread]]
    seen[unread] = True
    counts["rejected_card_lines_as_error"] = len(unread)
    if len(unread):
        writer = _append_cards(writer, path, pl.DataFrame(
            {"model_id": model_ids.gather(unread)}).with_columns(
            card=pl.lit(None, dtype=pl.String), status=pl.lit("error")))
    # every model gets a row: a model without a card record was never fetched (unknown, not
    # "no card": a source without cards says nothing about them)
    missing = (pl.DataFrame({"model_id": model_ids}).filter(pl.Series(~seen))
               .with_columns(card=pl.lit(None, dtype=pl.String),
                             status=pl.lit(snap.NOT_FETCHED)))
    counts["cards_not_fetched"] = missing.height
    writer = _append_cards(writer, path, missing)
    writer.close()
    progress.close()
    counts["cards_rows"] = len(model_ids)
    card_parents = pl.concat(parents) if parents else pl.DataFrame(
        schema={"child_id": pl.String, "parent_id": pl.String, "relation": pl.String})
    return counts, rejects, card_parents, broken_ids


def _append_cards(writer, path: Path, frame: pl.DataFrame):
    table = snap.conform(card_text.card_features(frame), snap.CARDS_SCHEMA).to_arrow()
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema, compression="zstd")
    writer.write_table(table)
    return writer
