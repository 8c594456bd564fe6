"""hubanatomy.acquire.archive: the paper's released dataset schema both ways, and its download.

The round trip simulated raw -> write_archive -> archive_to_raw -> normalise must give the same
canonical snapshot as normalising the simulated raw directly, on every column the archive
carries; the download runs the real huggingface_hub client against the Hub emulator.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from hubanatomy.acquire.archive import (
    ARCHIVE_COLUMNS,
    CARD_COLUMNS,
    CUT_CARD,
    FETCH_FAILED,
    FRAGMENT,
    PROBLEMS_CSV,
    archive_to_raw,
    discover_data_files,
    download_archive,
    format_list_strings,
    parse_list_strings,
    write_archive,
)
from hubanatomy.errors import InputError
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.normalise import normalise

MODELS = 2000
SOURCE = {"kind": "archive", "repo_id": "test/archive"}
# what the archive carries of a model (last_modified, author and metadata_json it does not)
MODEL_COLUMNS = ["model_id", "created_at", "downloads", "likes", "trending_score",
                 "pipeline_tag", "library_name", "tags", "licenses", "languages", "datasets",
                 "arxiv", "regions"]
ERROR_CARDS = 25  # simulated card fetches that failed (status error)


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def sim_raw(tmp_path_factory) -> Path:
    """A simulated raw Hub in which some card fetches failed (status error)."""
    root = tmp_path_factory.mktemp("sim") / "raw"
    simulate(MODELS, 11, "directed", root)
    part = root / "cards" / "part-00000.jsonl"
    cards = pl.read_ndjson(part)
    failed = pl.int_range(pl.len()).is_in(list(range(3, 3 + 4 * ERROR_CARDS, 4)))
    cards = cards.with_columns(
        status=pl.when(failed).then(pl.lit("error")).otherwise(pl.col("status")),
        card=pl.when(failed).then(None).otherwise(pl.col("card")))
    cards.write_ndjson(part)
    return root


@pytest.fixture(scope="module")
def sim_snapshot(sim_raw, tmp_path_factory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("sim_snap")
    normalise(sim_raw, out, {"kind": "simulated"})
    return snapshot(out)


def snapshot(out: Path) -> dict[str, pl.DataFrame]:
    return {
        "models": pl.read_parquet(out / "models.parquet").select(MODEL_COLUMNS).sort("model_id"),
        "parents": pl.read_parquet(out / "parents.parquet").sort(pl.all()),
        "cards": pl.read_parquet(out / "cards.parquet").sort("model_id"),
    }


def normalised(raw_root: Path, out: Path) -> dict[str, pl.DataFrame]:
    normalise(raw_root, out, SOURCE)
    return snapshot(out)


def assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.columns == want.columns
    assert got.height == want.height
    for column in want.columns:
        differ = got.filter(got[column].ne_missing(want[column]).fill_null(True))
        assert got[column].equals(want[column]), (
            f"column {column}: {differ.height} rows differ, e.g. "
            f"{differ.head(3).select('model_id' if 'model_id' in got.columns else column).rows()}")


def rewrite_csv(path: Path, change) -> Path:
    """Read an archive CSV as text, change it (a polars expression list or a function of the
    frame) and write it back the way pandas would."""
    frame = pl.read_csv(path, infer_schema=False)
    frame = change(frame)
    frame.write_csv(path)
    return path


# ---------------------------------------------------------------- list strings


def test_parse_list_strings_reads_python_reprs():
    cases = {
        "['apache-2.0']": ["apache-2.0"],
        "[]": [],
        "['a', 'b c', 'base_model:finetune:org/x-1.5B']": ["a", "b c",
                                                          "base_model:finetune:org/x-1.5B"],
        '["it\'s", \'say "hi"\']': ["it's", 'say "hi"'],       # repr switches quotes
        "['it\\'s \"both\"']": ['it\'s "both"'],                   # and escapes when both
        "['back\\\\slash', 'tab\\there', '\\u200bzw', 'é中']": ["back\\slash", "tab\there",
                                                              "\u200bzw", "é中"],
        "['', 'x']": ["", "x"],
        "['a','b']": ["a", "b"],                                     # valid Python, not repr
        "  ['padded']  ": ["padded"],
        "nan": [], "": [], "None": [],
    }
    values, bad = parse_list_strings(pl.Series("c", [*cases, None]))
    assert values.to_list() == [*cases.values(), []]
    assert not bad.any()
    assert values.dtype == pl.List(pl.String)

    malformed = ["['a'", "['a', 'b']]", "[1, 2]", "['a', None]", "{'a'}", "apache-2.0",
                 "['a' 'b' 'c'", "[" * 200]
    values, bad = parse_list_strings(pl.Series("c", ["['ok']", *malformed]))
    assert bad.to_list() == [False] + [True] * len(malformed)
    assert values.to_list() == [["ok"]] + [[]] * len(malformed)


def test_format_list_strings_is_python_str_of_list():
    lists = [[], ["apache-2.0"], ["it's"], ['say "hi"'], ['it\'s "both"'], ["back\\slash"],
             ["tab\there", "new\nline"], ["é中", "x"], ["\u200b", "\x7f", "\xa0"], ["", "a"],
             ["a", "b", "c"]]
    formatted = format_list_strings(pl.Series("c", [*lists, None]))
    assert formatted.to_list() == [str(v) for v in lists] + ["[]"]
    values, bad = parse_list_strings(formatted)
    assert values.to_list() == [*lists, []]
    assert not bad.any()


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize(("fmt", "shards"), [("parquet", 1), ("parquet", 3), ("csv", 1),
                                             ("csv", 2)])
def test_roundtrip_equals_normalising_the_raw(sim_raw, sim_snapshot, tmp_path, fmt, shards):
    files = write_archive(sim_raw, tmp_path / "archive", fmt=fmt, shards=shards)
    assert len(files) == shards
    if fmt == "parquet":
        assert [f.relative_to(tmp_path / "archive").as_posix() for f in files] == [
            f"data/train-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]
    elif shards == 1:
        assert files[0].name == "ai_ecosystem_withmodelcards.csv"
    frame = (pl.read_parquet(files[0]) if fmt == "parquet"
             else pl.read_csv(files[0], infer_schema=False))
    # the release's form: pandas' unnamed index first (CSV), an empty field for no card and
    # for no exception, an error message for a failed fetch
    index = ("",) if fmt == "csv" else ()
    assert tuple(frame.columns) == index + ARCHIVE_COLUMNS + CARD_COLUMNS
    if fmt == "csv":
        assert files[0].read_text().startswith(",model_id,likes,trendingScore,private,")
        assert frame[""].to_list() == [str(i) for i in range(frame.height)]
    assert frame["modelCard"].null_count() > 0 and "nan" not in frame["modelCard"]
    assert frame["exception_raised"].drop_nulls().unique().to_list() == [FETCH_FAILED]
    assert frame["exception_raised"].drop_nulls().len() == ERROR_CARDS

    report = archive_to_raw(files, tmp_path / "raw", SOURCE, chunk_rows=700)
    n = sim_snapshot["models"].height
    assert report["rows"] == report["models"] == n
    assert report["problems"]["fields"] == 0
    assert report["tags_added_from_columns"] == {}
    assert report["card_status"]["error"] == ERROR_CARDS
    assert report["parts"] == sum(-(-len(p) // 700) for p in _shard_sizes(n, shards))
    manifest = json.loads((tmp_path / "raw" / "raw_manifest.json").read_text())
    assert manifest["source"] == SOURCE
    assert manifest["problems"]["fields"] == 0

    got = normalised(tmp_path / "raw", tmp_path / "snap")
    for name in ("models", "parents", "cards"):
        assert_same(got[name], sim_snapshot[name])
    statuses = dict(got["cards"]["status"].value_counts().rows())
    assert statuses["error"] == ERROR_CARDS and statuses["missing"] > 0


def _shard_sizes(n: int, shards: int) -> list[range]:
    bounds = [round(i * n / shards) for i in range(shards + 1)]
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def test_write_archive_is_deterministic_and_replaces_old_shards(sim_raw, tmp_path):
    first = write_archive(sim_raw, tmp_path / "a", fmt="parquet", shards=2)
    again = write_archive(sim_raw, tmp_path / "b", fmt="parquet", shards=2)
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in again]
    csv_a = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    csv_b = write_archive(sim_raw, tmp_path / "b", fmt="csv")
    assert csv_a[0].read_bytes() == csv_b[0].read_bytes()
    # rewriting with another shard count leaves no stale shard behind
    write_archive(sim_raw, tmp_path / "a", fmt="parquet", shards=3)
    assert len(list((tmp_path / "a" / "data").glob("*.parquet"))) == 3
    assert not list((tmp_path / "a").glob("*.csv"))


def test_write_archive_derives_the_paper_columns(tmp_path):
    raw = tmp_path / "raw"
    (raw / "models").mkdir(parents=True)
    model = {"_id": "1", "id": "org/child", "modelId": "org/child", "likes": 3,
             "trendingScore": 2, "private": False, "downloads": 10,
             "tags": ["transformers", "en", "zh", "fra", "license:mit", "dataset:glue",
                      "arxiv:2507.01006", "base_model:org/base",
                      "base_model:finetune:org/base", "base_model:adapter:org/other",
                      "region:us", "it's"],
             "pipeline_tag": "text-generation", "library_name": "transformers",
             "createdAt": "2025-06-28T14:24:10.000Z"}
    (raw / "models" / "part-00000.jsonl").write_text(json.dumps(model) + "\n")
    [path] = write_archive(raw, tmp_path / "out", fmt="csv", cards=False)
    assert path.name == "ai_ecosystem.csv"
    row = pl.read_csv(path, infer_schema=False).row(0, named=True)
    assert list(row) == ["", *ARCHIVE_COLUMNS]
    assert row["licenses"] == "['mit']" and row["regions"] == "['us']"
    assert row["datasets"] == "['glue']" and row["arxiv_papers"] == "['2507.01006']"
    assert row["parent_model"] == "['org/base']"
    assert row["finetune_parent"] == "['org/base']" and row["adapter_parent"] == "['org/other']"
    assert row["quantized_parent"] == "[]" and row["merge_parent"] == "[]"
    assert row["languages"] == "['English', 'Chinese']"   # two-letter tags only, as the paper
    assert row["tags"].endswith("'region:us', \"it's\"]")
    assert (row["private"], row["trendingScore"], row["likes"]) == ("False", "2.0", "3")


def test_parquet_with_native_types(sim_raw, sim_snapshot, tmp_path):
    """A parquet conversion may keep real lists, numbers, booleans and timestamps."""
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="parquet")
    frame = pl.read_parquet(path)
    frame = frame.with_columns(
        parse_list_strings(frame["tags"])[0],
        pl.col("createdAt").str.to_datetime(time_zone="UTC", time_unit="ms"),
        pl.col("likes").cast(pl.Int32), pl.col("downloads").cast(pl.Float64))
    frame.write_parquet(path)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    assert report["problems"]["fields"] == 0
    got = normalised(tmp_path / "raw", tmp_path / "snap")
    for name in ("models", "parents", "cards"):
        assert_same(got[name], sim_snapshot[name])


def test_broken_csv_structure_is_an_input_error(sim_raw, tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    header = path.read_text().split("\n", 1)[0]
    path.write_text(header + "\n" + "0,org/a," + ",".join(["1"] * 40) + "\n")
    with pytest.raises(InputError, match=f"{path.name}: cannot read the archive file"):
        archive_to_raw([path], tmp_path / "raw", SOURCE)


# ---------------------------------------------------------------- columns


def test_missing_required_column_names_it_and_the_closest(sim_raw, tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    rewrite_csv(path, lambda f: f.rename({"tags": "tag_list"}))
    with pytest.raises(InputError) as error:
        archive_to_raw([path], tmp_path / "raw", SOURCE)
    message = str(error.value)
    assert "'tags' is missing" in message and "'tag_list'" in message and path.name in message
    assert not (tmp_path / "raw" / "models").exists()   # checked before anything is written

    [pq] = write_archive(sim_raw, tmp_path / "b", fmt="parquet")
    pl.read_parquet(pq).rename({"createdAt": "created_at"}).write_parquet(pq)
    with pytest.raises(InputError, match=r"'createdAt' is missing.*'created_at'"):
        archive_to_raw([pq], tmp_path / "raw", SOURCE)

    pl.read_parquet(pq).drop("created_at").write_parquet(pq)
    with pytest.raises(InputError, match="'createdAt' is missing") as error:
        archive_to_raw([pq], tmp_path / "raw", SOURCE)
    assert "closest" not in str(error.value)


def test_archive_without_cards_and_with_extra_columns(sim_raw, sim_snapshot, tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv", cards=False)
    rewrite_csv(path, lambda f: f.with_columns(pl.lit("7").alias("extra")))
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    described = report["files"][path.name]
    assert described["ignored_columns"] == ["", "extra"]  # pandas' unnamed index, and more
    assert "modelCard" in described["absent_columns"] and not described["cards"]
    assert report["card_status"] == {}
    assert not list((tmp_path / "raw" / "cards").glob("*.jsonl"))
    manifest = normalise(tmp_path / "raw", tmp_path / "snap", SOURCE)
    assert manifest["normalise"]["counts"]["cards_not_fetched"] == sim_snapshot["models"].height


# ---------------------------------------------------------------- bad rows


def test_bad_fields_are_emptied_counted_and_the_rest_kept(sim_raw, sim_snapshot, tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    frame = pl.read_csv(path, infer_schema=False)
    ids = frame["model_id"]
    bad = {  # row -> (column, value)
        5: ("tags", "['transformers', 'region:us'"),
        6: ("likes", "many"),
        7: ("downloads", "-3"),
        8: ("downloads", "12.5"),
        9: ("createdAt", "yesterday"),
        10: ("private", "maybe"),
        11: ("licenses", "{'mit'}"),
        12: ("trendingScore", "inf"),
        13: ("likes", "1e19"),
        14: ("downloads", "9223372036854775808"),
    }
    for row, (column, value) in bad.items():
        frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value))
                                   .otherwise(pl.col(column)).alias(column))
    frame = frame.with_columns(  # row 20 has no id: the only kind of row that is skipped
        model_id=pl.when(pl.int_range(pl.len()) == 20).then(pl.lit("")).otherwise("model_id"))
    frame.write_csv(path)

    report = archive_to_raw([path], tmp_path / "raw", SOURCE, chunk_rows=600)
    n = sim_snapshot["models"].height
    assert report["rows"] == n and report["models"] == n - 1
    assert report["rows_skipped"] == 1
    problems = report["problems"]
    assert problems["fields"] == len(bad) + 1
    expected = {
        "tags: not a Python-list string of strings (emptied)": ids[5],
        "likes: not a number": ids[6], "downloads: negative": ids[7],
        "downloads: not an integer": ids[8], "createdAt: not a date": ids[9],
        "private: not True/False": ids[10],
        "licenses: not a Python-list string of strings (emptied)": ids[11],
        "trendingScore: not a number": ids[12],
        "likes: too large (2^63 or more)": ids[13],
    }
    for key, model_id in expected.items():
        assert problems["counts"][key] == 1
        assert problems["example_ids"][key] == [model_id]
    assert problems["example_ids"]["downloads: too large (2^63 or more)"] == [ids[14]]
    assert problems["example_ids"]["model_id: missing model id (row skipped)"] == [
        f"{path.name} row 21"]
    listed = pl.read_csv(tmp_path / "raw" / PROBLEMS_CSV)
    assert listed.height == len(bad) + 1
    assert set(listed.filter(pl.col("column") == "likes")["value"]) == {"many", "1e19"}
    assert json.loads((tmp_path / "raw" / "raw_manifest.json").read_text())[
        "problems"] == problems

    got = normalised(tmp_path / "raw", tmp_path / "snap")
    want = sim_snapshot["models"].filter(pl.col("model_id") != ids[20])
    damaged = [ids[r] for r in bad]
    # untouched rows are exactly as before; damaged rows keep every other field
    assert_same(got["models"].filter(~pl.col("model_id").is_in(damaged)),
                want.filter(~pl.col("model_id").is_in(damaged)))
    rows = {r["model_id"]: r for r in got["models"].filter(
        pl.col("model_id").is_in(damaged)).iter_rows(named=True)}
    before = {r["model_id"]: r for r in want.filter(
        pl.col("model_id").is_in(damaged)).iter_rows(named=True)}
    # unreadable tags: what the derived columns know comes back (licenses, parents...), the
    # rest (languages, library and task tags) is lost
    derived = ("region:", "license:", "dataset:", "arxiv:", "base_model:")
    assert set(rows[ids[5]]["tags"]) == {t for t in before[ids[5]]["tags"]
                                         if t.startswith(derived)}
    assert rows[ids[5]]["licenses"] == before[ids[5]]["licenses"]
    assert rows[ids[5]]["downloads"] == before[ids[5]]["downloads"]
    assert report["tags_added_from_columns"]["regions"] == 1
    assert rows[ids[6]]["likes"] == 0 and rows[ids[6]]["tags"] == before[ids[6]]["tags"]
    assert rows[ids[9]]["created_at"] is None
    assert rows[ids[11]]["licenses"] == before[ids[11]]["licenses"]  # the tags still say it
    assert rows[ids[12]]["trending_score"] is None
    assert ids[20] not in got["models"]["model_id"]


def test_out_of_range_counts_in_native_parquet_columns(sim_raw, tmp_path):
    """Counts beyond Int64 (a float 1e19, an unsigned 2^64 - 1), NaN and infinity in numeric
    parquet columns are bad fields, emptied and counted; the rows are kept."""
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="parquet")
    frame = pl.read_parquet(path).head(6)
    frame = frame.with_columns(
        downloads=pl.Series([1e19, float("nan"), float("inf"), 5.0, -1.0, None]),
        likes=pl.Series([2**64 - 1, 3, 2**63 - 1, 0, 1, None], dtype=pl.UInt64))
    frame.write_parquet(path)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    assert report["rows"] == report["models"] == 6
    assert report["problems"]["counts"] == {
        "downloads: too large (2^63 or more)": 1, "downloads: not a number": 2,
        "downloads: negative": 1, "likes: too large (2^63 or more)": 1}
    models = pl.read_ndjson(tmp_path / "raw" / "models" / "part-00000.jsonl")
    assert models["downloads"].to_list() == [None, None, None, 5, None, None]
    assert models["likes"].to_list() == [None, 3, 2**63 - 1, 0, 1, None]


def test_invalid_utf8_in_a_csv_is_counted_not_replaced_silently(sim_raw, tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    frame = pl.read_csv(path, infer_schema=False)
    ids = frame["model_id"]
    # a legitimate U+FFFD in a valid file is text like any other
    frame.with_columns(pipeline_tag=pl.when(pl.int_range(pl.len()) == 3)
                       .then(pl.lit("odd \ufffd tag")).otherwise("pipeline_tag")).write_csv(path)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    assert report["problems"]["fields"] == 0
    # Latin-1 bytes in two rows' fields
    data = path.read_bytes()
    for model_id in (ids[5], ids[9]):
        data = data.replace(model_id.encode() + b",", model_id.encode() + b",\xe9", 1)
    path.write_bytes(data)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    key = "likes: not valid UTF-8 (bytes replaced by U+FFFD)"
    assert report["problems"]["counts"][key] == 2
    assert report["problems"]["example_ids"][key] == [ids[5], ids[9]]
    # in a file that is not valid UTF-8, a U+FFFD cannot be told from a replaced byte
    assert report["problems"]["counts"][
        "pipeline_tag: not valid UTF-8 (bytes replaced by U+FFFD)"] == 1
    assert report["rows"] == report["models"] == frame.height


def test_invalid_utf8_offset_agrees_with_python_across_block_sizes(tmp_path):
    import random

    from hubanatomy.acquire.archive import invalid_utf8_offset

    rng = random.Random(5)
    path = tmp_path / "x.csv"
    for _ in range(150):
        data = "".join(rng.choice(["a", "é", "中", "😀", "\n"])
                       for _ in range(rng.randrange(40))).encode()
        if rng.random() < 0.5:
            at = rng.randrange(len(data) + 1)
            data = data[:at] + bytes([rng.choice([0xFF, 0x80, 0xC3, 0xE4, 0xF0])]) + data[at:]
        try:
            data.decode("utf-8")
            want = None
        except UnicodeDecodeError as error:
            want = error.start
        path.write_bytes(data)
        for block in (1, 2, 3, 5, 64):
            assert invalid_utf8_offset(path, block) == want, (data, block)


def test_an_integer_model_id_column_is_rejected_not_taken_as_ids(sim_raw, tmp_path):
    from hubanatomy.snapshot.normalise import NormaliseError

    [path] = write_archive(sim_raw, tmp_path / "a", fmt="parquet")
    frame = pl.read_parquet(path).head(300).with_columns(model_id=pl.int_range(300))
    frame.write_parquet(path)
    with pytest.raises(InputError, match=rf"{path.name}: column 'model_id' holds numbers "
                                         r"\(0, 1, 2, ...\), not Hub repo ids"):
        archive_to_raw([path], tmp_path / "raw", SOURCE)
    frame.write_csv(tmp_path / "a.csv")
    with pytest.raises(InputError, match="'model_id' holds numbers"):
        archive_to_raw([tmp_path / "a.csv"], tmp_path / "raw", SOURCE)
    # a few numeric ids among real ones: rows the normaliser rejects, counted with a reason
    frame = pl.read_parquet(write_archive(sim_raw, tmp_path / "b", fmt="parquet")[0])
    frame.with_columns(model_id=pl.when(pl.int_range(pl.len()) < 300).then(
        pl.int_range(pl.len()).cast(pl.String)).otherwise("model_id")).write_parquet(path)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    assert report["rows"] == report["models"] == frame.height
    with pytest.raises(NormaliseError, match=rf"(?s)300 of {frame.height:,} model metadata "
                                             r"lines are unusable.*invalid model id '0': a bare "
                                             r"number"):
        normalise(tmp_path / "raw", tmp_path / "snap", SOURCE)


def _split_at_carriage_returns(frame: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
    """What a copy that breaks rows at bare carriage returns makes of the release: the model's
    row keeps its card up to the first \\r (and loses the columns after it); each further piece
    of the card becomes a row of its own, its text spread over the first columns."""
    out = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        if i not in rows:
            out.append(row)
            continue
        first, *pieces = row["modelCard"].split("\r")
        out.append({**row, "modelCard": first, "ratelimit_retries": None,
                    "exception_raised": None})
        for k, piece in enumerate(pieces):
            fields = piece.split(",", 1) + [None]
            extra = {"likes": "False"} if k == len(pieces) - 1 else {}
            out.append({**dict.fromkeys(frame.columns), "": fields[0],
                        "model_id": fields[1], **extra})
    return pl.DataFrame(out, schema=dict.fromkeys(frame.columns, pl.String))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_rows_split_at_bare_carriage_returns_are_rejected_and_counted(sim_raw, sim_snapshot,
                                                                       tmp_path, fmt):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="csv")
    frame = pl.read_csv(path, infer_schema=False)
    with_card = [i for i, c in enumerate(frame["modelCard"]) if c and len(c) > 200]
    split = [with_card[0], with_card[len(with_card) // 2], with_card[-1]]
    # batches end right after the second split row (after the 3 fragments of the first), so
    # its fragments start the next batch
    chunk_rows = split[1] + 3 + 1
    frame = frame.with_columns(modelCard=pl.when(pl.int_range(pl.len()).is_in(split))
                               .then(pl.col("modelCard").str.slice(0, 60) + "\rUsage, see "
                                     "below\r" + pl.col("modelCard").str.slice(60, 40)
                                     + "\r" + pl.col("modelCard").str.slice(100))
                               .otherwise("modelCard"))
    copy = _split_at_carriage_returns(frame, split).to_pandas()
    assert len(copy) == frame.height + 3 * len(split)
    assert copy.iloc[split[0] + 1]["model_id"] == " see below"  # a fragment with an "id"
    copied = tmp_path / f"copy.{fmt}"
    copy.to_parquet(copied) if fmt == "parquet" else copy.to_csv(copied, index=False)

    report = archive_to_raw([copied], tmp_path / "raw", SOURCE, chunk_rows=chunk_rows)
    # in = out + rejected
    assert report["rows"] == frame.height + 9 == report["models"] + report["rows_skipped"]
    assert report["models"] == frame.height and report["fragment_rows"] == 9
    ids = frame["model_id"]
    counts = report["problems"]["counts"]
    assert counts[f"(row): {FRAGMENT}"] == 9
    assert counts[f"modelCard: {CUT_CARD}"] == 3
    assert report["problems"]["example_ids"][f"modelCard: {CUT_CARD}"] == [ids[i] for i in split]
    got = normalised(tmp_path / "raw", tmp_path / "snap")
    assert_same(got["models"], sim_snapshot["models"])  # no junk model, none lost
    cards = got["cards"].filter(pl.col("model_id").is_in([ids[i] for i in split]))
    assert cards["status"].to_list() == ["error"] * 3
    assert_same(got["cards"].filter(~pl.col("model_id").is_in([ids[i] for i in split])),
                sim_snapshot["cards"].filter(~pl.col("model_id").is_in([ids[i] for i in split])))


def test_parents_in_parent_columns_but_not_in_tags_are_restored(sim_raw, sim_snapshot,
                                                                tmp_path):
    [path] = write_archive(sim_raw, tmp_path / "a", fmt="parquet")
    frame = pl.read_parquet(path)
    values, _ = parse_list_strings(frame["tags"])
    has_typed = values.list.eval(pl.element().str.contains(r"^base_model:\w+:")).list.any()
    chosen = frame.filter(has_typed).head(15)["model_id"].to_list()
    assert len(chosen) == 15
    stripped = values.list.eval(pl.element().filter(~pl.element().str.starts_with("base_model:")))
    frame = frame.with_columns(
        tags=pl.when(pl.col("model_id").is_in(chosen)).then(format_list_strings(stripped))
        .otherwise(pl.col("tags")))
    frame.write_parquet(path)
    removed = (values.list.eval(pl.element().str.starts_with("base_model:").cast(pl.Int64))
               .list.sum().filter(frame["model_id"].is_in(chosen)).sum())

    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    added = report["tags_added_from_columns"]
    assert sum(added.values()) == removed
    assert set(added) <= {"parent_model", "finetune_parent", "quantized_parent",
                          "adapter_parent", "merge_parent"}
    assert all(set(ids) <= set(chosen) for ids in report["tags_added_examples"].values())
    got = normalised(tmp_path / "raw", tmp_path / "snap")
    assert_same(got["parents"], sim_snapshot["parents"])


def test_card_status_from_text_and_exception(tmp_path):
    rows = {
        "org/ok": ("# card", "False"), "org/none": ("nan", "False"),
        "org/failed": ("nan", "True"), "org/failed-msg": ("", "HTTPError('503 Server Error')"),
        "org/ok-despite": ("text", "True"), "org/null": (None, None),
    }
    frame = pl.DataFrame({
        "model_id": list(rows), "likes": ["1"] * 6, "trendingScore": ["0.0"] * 6,
        "private": ["False"] * 6, "downloads": ["12.0"] * 6, "tags": ["[]"] * 6,
        "pipeline_tag": [None] * 6, "library_name": ["nan"] * 6,
        "createdAt": ["2022-03-02 23:29:04+00:00", "2024-10-03T16:08:44.712Z",
                      "2022-03-02T23:29:04.123456+02:00", "2022-03-02 23:29:04", "", None],
        "modelCard": [r[0] for r in rows.values()],
        "ratelimit_retries": ["0", "2", "5", "0", "1", "nan"],
        "exception_raised": [r[1] for r in rows.values()],
    })
    path = tmp_path / "cards.csv"
    frame.write_csv(path)
    report = archive_to_raw([path], tmp_path / "raw", SOURCE)
    assert report["card_status"] == {"ok": 2, "missing": 2, "error": 2}
    assert report["cards_with_exception"] == 1
    assert report["ratelimit_retries"] == 8
    assert report["problems"]["fields"] == 0
    cards = {r["id"]: (r["status"], r["card"])
             for r in pl.read_ndjson(tmp_path / "raw" / "cards" / "part-00000.jsonl").rows(
                 named=True)}
    assert cards == {"org/ok": ("ok", "# card"), "org/none": ("missing", None),
                     "org/failed": ("error", None), "org/failed-msg": ("error", None),
                     "org/ok-despite": ("ok", "text"), "org/null": ("missing", None)}
    models = pl.read_ndjson(tmp_path / "raw" / "models" / "part-00000.jsonl")
    assert list(models.columns) == ["id", "likes", "trendingScore", "private", "downloads",
                                    "tags", "pipeline_tag", "library_name", "createdAt",
                                    "modelId"]
    assert models["createdAt"].to_list() == [
        "2022-03-02T23:29:04.000Z", "2024-10-03T16:08:44.712Z", "2022-03-02T21:29:04.123456Z",
        "2022-03-02T23:29:04.000Z", None, None]
    assert models["downloads"].to_list() == [12] * 6
    assert models["library_name"].to_list() == [None] * 6


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_command_normalises_archive_files(sim_raw, sim_snapshot, tmp_path, fmt, capsys,
                                              monkeypatch):
    from hubanatomy import cli

    monkeypatch.setattr(cli, "setup_logging", lambda: None)
    [path] = write_archive(sim_raw, tmp_path / "a", fmt=fmt)
    out = tmp_path / "work" / "snap"
    assert cli.main(["normalise", "--raw", str(path), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["archive"]["rows"] == printed["rows"]["models"] == sim_snapshot[
        "models"].height
    for name in ("models", "parents", "cards"):
        assert_same(snapshot(out)[name], sim_snapshot[name])
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["snap"]  # temp removed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["format"] == "archive" and str(path) in manifest["source"]["files"]
    # a folder holding the table's shards works the same; --raw-out keeps the raw form
    shards = write_archive(sim_raw, tmp_path / "b", fmt=fmt, shards=2)
    assert cli.main(["normalise", "--raw", str(shards[0].parent), "--out", str(out),
                     "--raw-out", str(tmp_path / "kept")]) == 0
    assert (tmp_path / "kept" / PROBLEMS_CSV).is_file()
    assert_same(snapshot(out)["models"], sim_snapshot["models"])
    # without a suffix the first bytes tell: parquet's magic, a CSV header, JSON lines
    from hubanatomy.acquire.archive import archive_files

    bare = tmp_path / "release"
    bare.write_bytes(path.read_bytes())
    jsonl = tmp_path / "models"
    jsonl.write_bytes(next((sim_raw / "models").glob("*.jsonl")).read_bytes())
    assert archive_files(bare) == [bare] and archive_files(jsonl) == []


def test_a_folder_of_two_tables_is_refused_naming_the_files(sim_raw, tmp_path, capsys,
                                                            monkeypatch):
    from hubanatomy import cli
    from hubanatomy.acquire.archive import archive_files

    folder = tmp_path / "release"
    write_archive(sim_raw, folder, fmt="csv")
    write_archive(sim_raw, tmp_path / "plain", fmt="csv", cards=False)
    (tmp_path / "plain" / "ai_ecosystem.csv").rename(folder / "ai_ecosystem.csv")
    with pytest.raises(InputError, match=r"holds several tables \(ai_ecosystem.csv; "
                                         r"ai_ecosystem_withmodelcards.csv\): point at one"):
        archive_files(folder)
    # a parquet copy beside the CSV is a second table too
    (folder / "ai_ecosystem.csv").unlink()
    write_archive(sim_raw, folder / "copy", fmt="parquet")
    with pytest.raises(InputError, match=r"copy/data/train-00000-of-00001.parquet"):
        archive_files(folder)
    monkeypatch.setattr(cli, "setup_logging", lambda: None)
    assert cli.main(["normalise", "--raw", str(folder), "--out", str(tmp_path / "o")]) == 1
    message = capsys.readouterr().err
    assert "ai_ecosystem_withmodelcards.csv" in message and "part-" not in message
    assert not (tmp_path / "o").exists()


def test_discover_data_files():
    assert discover_data_files([".gitattributes", "README.md", "data/train-00001-of-00002.parquet",
                                "data/train-00000-of-00002.parquet", "x.csv"]) == [
        "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
    assert discover_data_files(["README.md", "ai_ecosystem_withmodelcards.csv"]) == [
        "ai_ecosystem_withmodelcards.csv"]
    assert discover_data_files(["default/train/0000.parquet", "default/train/0001.parquet"]) \
        == ["default/train/0000.parquet", "default/train/0001.parquet"]
    assert discover_data_files(["README.md", ".gitattributes"]) == []
    with pytest.raises(InputError, match="several"):
        discover_data_files(["ai_ecosystem.csv", "ai_ecosystem_withmodelcards.csv"])


# ---------------------------------------------------------------- download (Hub emulator)

REPO = "modelbiome/ai_ecosystem_withmodelcards"


@pytest.fixture(scope="module")
def dataset_repo(sim_raw, tmp_path_factory) -> Path:
    """The archive as a dataset repo: sharded parquet next to a README and .gitattributes."""
    root = tmp_path_factory.mktemp("repo")
    write_archive(sim_raw, root, fmt="parquet", shards=2)
    (root / "README.md").write_text("---\nlicense: mit\n---\n# AI ecosystem\n")
    (root / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    return root


def test_download_reproduces_the_repo_at_a_pinned_commit(sim_raw, sim_snapshot, dataset_repo,
                                                         tmp_path):
    from hubanatomy.emulator.hub import HubEmulator

    with HubEmulator(sim_raw, datasets={REPO: dataset_repo}) as hub:
        report = download_archive(REPO, "main", tmp_path / "raw", endpoint=hub.url,
                                  cache_dir=tmp_path / "cache")
        commit = report["source"]["commit"]
        # the sha itself is a revision too, and gives the same files from the cache
        again = download_archive(REPO, commit, tmp_path / "raw2", endpoint=hub.url,
                                 cache_dir=tmp_path / "cache")
    source = report["source"]
    assert source["kind"] == "archive" and source["repo_id"] == REPO
    assert source["revision"] == "main" and len(commit) == 40
    assert source["endpoint"] == hub.url
    assert sorted(source["files"]) == ["data/train-00000-of-00002.parquet",
                                       "data/train-00001-of-00002.parquet"]
    for name, digest in source["files"].items():
        from hubanatomy.snapshot.files import sha256_file
        assert digest == sha256_file(dataset_repo / name)
    assert again["source"]["commit"] == commit and again["source"]["files"] == source["files"]
    manifest = json.loads((tmp_path / "raw" / "raw_manifest.json").read_text())
    assert manifest["source"] == source

    got = normalised(tmp_path / "raw", tmp_path / "snap")
    for name in ("models", "parents", "cards"):
        assert_same(got[name], sim_snapshot[name])


def test_download_csv_archive(sim_raw, sim_snapshot, tmp_path):
    from hubanatomy.emulator.hub import HubEmulator

    repo = tmp_path / "repo"
    write_archive(sim_raw, repo, fmt="csv", shards=2)
    (repo / "README.md").write_text("# card\n")
    with HubEmulator(sim_raw, datasets={REPO: repo}) as hub:
        report = download_archive(REPO, None, tmp_path / "raw", endpoint=hub.url,
                                  cache_dir=tmp_path / "cache")
    assert sorted(report["source"]["files"]) == [
        "ai_ecosystem_withmodelcards-00000-of-00002.csv",
        "ai_ecosystem_withmodelcards-00001-of-00002.csv"]
    assert report["models"] == sim_snapshot["models"].height


def test_download_errors_are_clear(sim_raw, dataset_repo, tmp_path):
    from hubanatomy.emulator.hub import HubEmulator

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("# nothing here yet\n")
    with HubEmulator(sim_raw, datasets={REPO: dataset_repo, "org/empty": empty}) as hub:
        with pytest.raises(InputError, match=r"'org/missing' not found at .*source=simulated"):
            download_archive("org/missing", "main", tmp_path / "raw", endpoint=hub.url,
                             cache_dir=tmp_path / "cache")
        with pytest.raises(InputError, match=f"{REPO} at .* has no revision 'v9'"):
            download_archive(REPO, "v9", tmp_path / "raw", endpoint=hub.url,
                             cache_dir=tmp_path / "cache")
        # no data file, and no auto-converted parquet branch either
        with pytest.raises(InputError, match=r"no parquet or CSV data file.*README.md"):
            download_archive("org/empty", "main", tmp_path / "raw", endpoint=hub.url,
                             cache_dir=tmp_path / "cache")
        with pytest.raises(InputError, match="not in the repo"):
            download_archive(REPO, "main", tmp_path / "raw", endpoint=hub.url,
                             cache_dir=tmp_path / "cache", data_files=["data/x.parquet"])
    assert not (tmp_path / "raw" / "models").exists()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_download_that_does_not_match_the_listed_hash_stops(sim_raw, tmp_path, fmt):
    """The Hub lists each file's LFS sha256 (git blob id for a small file): a download with
    other bytes (altered, corrupt) stops the run, naming both hashes."""
    import shutil

    from hubanatomy.emulator.hub import HubEmulator

    repo = tmp_path / "repo"
    [path] = write_archive(sim_raw, repo, fmt=fmt)
    with HubEmulator(sim_raw, datasets={REPO: repo}) as hub:
        report = download_archive(REPO, "main", tmp_path / "raw", endpoint=hub.url,
                                  cache_dir=tmp_path / "cache")
        assert report["models"] > 0
        data = bytearray(path.read_bytes())  # after the listing: same size, other bytes
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        shutil.rmtree(tmp_path / "cache")
        kind = "LFS sha256" if fmt == "parquet" else "git blob id"
        with pytest.raises(InputError, match=rf"{path.name} of {REPO}@[0-9a-f]{{40}}: the "
                                             rf"downloaded file's {kind} is [0-9a-f]+, but the "
                                             r"Hub lists [0-9a-f]+: the download is corrupt"):
            download_archive(REPO, "main", tmp_path / "raw2", endpoint=hub.url,
                             cache_dir=tmp_path / "cache")
    assert not (tmp_path / "raw2" / "models").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_fails_at_once_with_the_offline_hint(tmp_path, monkeypatch):
    import huggingface_hub.utils._http as hf_http

    def no_backoff(seconds):  # failing fast means: no retry loop
        raise AssertionError(f"huggingface_hub backed off {seconds} s")
    monkeypatch.setattr(hf_http.time, "sleep", no_backoff)
    with pytest.raises(InputError) as error:
        download_archive(REPO, "main", tmp_path / "raw",
                         endpoint=f"http://127.0.0.1:{_closed_port()}",
                         cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert "cannot reach the Hub" in message
    assert "source=simulated" in message and "source=snapshot" in message

    # a server that takes the connection but never answers: the timeout ends the wait
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with pytest.raises(InputError, match=r"cannot reach the Hub.*Timeout.*source=simulated"):
            download_archive(REPO, "main", tmp_path / "raw",
                             endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}",
                             timeout=0.2, cache_dir=tmp_path / "cache")


class _Recorder(ThreadingHTTPServer):
    """A pass-through proxy in front of the emulator that records what the client sent."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.upstream = upstream.removeprefix("http://")
        self.seen: list[tuple[str, str, str | None]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _relay(self):
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        connection = http.client.HTTPConnection(self.server.upstream, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        connection.request(self.command, self.path, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding"):
                self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        connection.close()

    do_GET = do_HEAD = _relay


def test_token_is_sent_and_never_logged(sim_raw, dataset_repo, tmp_path, monkeypatch, caplog):
    from hubanatomy.emulator.hub import HubEmulator

    token = "hf_SecretTokenThatMustNotLeak1234567890"
    monkeypatch.setenv("HF_TOKEN", token)
    caplog.set_level(logging.DEBUG)
    with HubEmulator(sim_raw, datasets={REPO: dataset_repo}) as hub:
        recorder = _Recorder(hub.url)
        thread = threading.Thread(target=recorder.serve_forever, daemon=True)
        thread.start()
        try:
            report = download_archive(REPO, "main", tmp_path / "raw", endpoint=recorder.url,
                                      cache_dir=tmp_path / "cache")
            with pytest.raises(InputError) as error:
                download_archive("org/missing", "main", tmp_path / "raw2",
                                 endpoint=recorder.url, cache_dir=tmp_path / "cache")
        finally:
            recorder.shutdown()
            recorder.server_close()
    assert report["models"] > 0
    assert len(recorder.seen) >= 4  # info, tree, and the files
    assert all(auth == f"Bearer {token}" for _, _, auth in recorder.seen), recorder.seen
    assert token not in caplog.text and token[3:15] not in caplog.text
    assert token not in str(error.value)
    assert token not in (tmp_path / "raw" / "raw_manifest.json").read_text()
