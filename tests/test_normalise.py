"""hubanatomy.snapshot.normalise.normalise: raw list-API lines + card records -> canonical snapshot.

The snapshot is checked against its contract (docs/method.md#snapshot) and the policy in
config/README.md ("How raw data is normalised"), on real Hub records (read from
../shared/data/real at run time) and on small hand-made inputs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from hubanatomy.errors import InputError
from hubanatomy.snapshot.normalise import NormaliseError, normalise

SOURCE = {"kind": "snapshot", "path": "test-input"}
RELATIONS = {"finetune", "adapter", "quantized", "merge", "unspecified"}
TYPED = RELATIONS - {"unspecified"}
MISTRAL_ROOT = "mistralai/Mistral-Small-24B-Base-2501"

# the snapshot's contract, written out here (not imported) so the test checks it itself
STR, STRINGS = "string", "list<string>"
MODELS_COLUMNS = {
    "model_id": STR, "author": STR, "created_at": "timestamp", "last_modified": "timestamp",
    "downloads": "int", "likes": "int", "trending_score": "float", "pipeline_tag": STR,
    "library_name": STR, "tags": STRINGS, "licenses": STRINGS, "languages": STRINGS,
    "datasets": STRINGS, "arxiv": STRINGS, "regions": STRINGS, "metadata_json": STR,
}
PARENTS_COLUMNS = {"child_id": STR, "parent_id": STR, "relation": STR, "origin": STR}
CARDS_COLUMNS = {"model_id": STR, "card": STR, "length_chars": "int", "length_words": "int",
                 "auto_generated": "bool", "status": STR}
SNAPSHOT_FILES = {"models.parquet", "parents.parquet", "cards.parquet", "renames.parquet",
                  "manifest.json", "rejected.csv"}


# ---------------------------------------------------------------- helpers


def write_jsonl(path: Path, records) -> list[str]:
    """Write records (dicts, or already-serialised lines) one per line; return the lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return lines


def make_raw(root: Path, models, cards=None) -> Path:
    write_jsonl(root / "models" / "part-00000.jsonl", models)
    if cards is not None:
        write_jsonl(root / "cards" / "part-00000.jsonl", cards)
    return root


def run(raw: Path, out: Path, fraction: float = 0.01) -> tuple[dict, dict]:
    manifest = normalise(raw, out, SOURCE, max_reject_fraction=fraction)
    frames = {name: pl.read_parquet(out / f"{name}.parquet")
              for name in ("models", "parents", "cards")}
    frames["rejected"] = pl.read_csv(out / "rejected.csv", schema_overrides={"line": pl.Int64,
                                                                              "file": pl.String,
                                                                              "reason": pl.String})
    return manifest, frames


def kind_of(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return STR
    if dtype == pl.List(pl.String):
        return STRINGS
    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone == "UTC" else f"timestamp[{dtype.time_zone}]"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    return str(dtype)


def assert_columns(frame: pl.DataFrame, expected: dict) -> None:
    assert frame.columns == list(expected)
    assert {c: kind_of(t) for c, t in frame.schema.items()} == expected


def parent_rows(parents: pl.DataFrame) -> set[tuple]:
    return set(parents.select("child_id", "parent_id", "relation", "origin").iter_rows())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_tag_parents(model_id: str, tags: list[str]) -> set[tuple]:
    """The policy of config/README.md, written independently: typed tags give one row per
    relation; a generic tag gives 'unspecified' only if no typed tag names that parent."""
    typed, generic = set(), set()
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        parts = tag[len("base_model:"):].split(":")
        if len(parts) == 1 and parts[0]:
            generic.add(parts[0])
        elif len(parts) == 2 and parts[1]:
            relation = parts[0] if parts[0] in TYPED else "unspecified"
            typed.add((parts[1], relation))
    rows = {(model_id, p, r, "tag") for p, r in typed}
    named = {p for p, _ in typed}
    rows |= {(model_id, p, "unspecified", "tag") for p in generic - named}
    return rows


def parse_hub_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def check_snapshot_contract(out: Path, manifest: dict, frames: dict) -> None:
    """The snapshot's contract: files, columns, dtypes, values, manifest."""
    assert {p.name for p in out.iterdir()} == SNAPSHOT_FILES
    assert_columns(frames["models"], MODELS_COLUMNS)
    assert_columns(frames["parents"], PARENTS_COLUMNS)
    assert_columns(frames["cards"], CARDS_COLUMNS)
    models, parents, cards = frames["models"], frames["parents"], frames["cards"]
    assert models["model_id"].null_count() == 0
    assert models["model_id"].is_unique().all()
    assert models["downloads"].null_count() == 0 and models["likes"].null_count() == 0
    assert set(parents["relation"]) <= RELATIONS
    assert set(parents["origin"]) <= {"tag", "card"}
    assert parents.select("child_id", "parent_id", "relation").is_unique().all()
    assert set(parents["child_id"]) <= set(models["model_id"])
    assert sorted(cards["model_id"]) == sorted(models["model_id"])
    assert set(cards["status"]) <= {"ok", "missing", "error", "not_fetched"}

    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest, default=str))
    assert {"source", "rows", "files", "normalise", "packages"} <= set(manifest)
    assert manifest["source"] == SOURCE
    assert manifest["rows"] == {"models": models.height, "parents": parents.height,
                                "cards": cards.height}
    for name in ("models.parquet", "parents.parquet", "cards.parquet"):
        assert manifest["files"][name]["sha256"] == sha256(out / name), name
    for name, entry in manifest["files"].items():
        assert (out / name).is_file(), name
        assert entry["sha256"] == sha256(out / name), name
    counts = manifest["normalise"]["counts"]
    assert all(isinstance(v, int) and v >= 0 for v in counts.values()), counts
    card_rejects = frames["rejected"].filter(pl.col("file").str.starts_with("cards"))
    assert counts["rejected_model_lines"] == frames["rejected"].height - card_rejects.height
    packages = manifest["packages"]
    assert packages["python"] == ".".join(map(str, sys.version_info[:3]))
    assert packages["polars"] == pl.__version__
    assert "pyarrow" in packages and "numpy" in packages


# ---------------------------------------------------------------- (a) real records


@pytest.fixture(scope="module")
def mistral(real_data, tmp_path_factory):
    """The 67 real ModelInfo records of the Mistral-Small family, as JSON lines."""
    csv.field_size_limit(1 << 30)
    with open(real_data / "mistral-small-family" / "models.csv", newline="",
              encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    tmp = tmp_path_factory.mktemp("mistral")
    lines = write_jsonl(tmp / "raw" / "models" / "part-00000.jsonl",
                        [r["metadata"] for r in rows])
    manifest, frames = run(tmp / "raw", tmp / "out")
    return {"rows": rows, "lines": lines, "manifest": manifest, "frames": frames,
            "out": tmp / "out"}


def test_real_family_snapshot_contract(mistral):
    check_snapshot_contract(mistral["out"], mistral["manifest"], mistral["frames"])
    assert mistral["manifest"]["rows"]["models"] == 67
    assert mistral["frames"]["rejected"].height == 0


def test_real_family_ids_and_metadata_json(mistral):
    models = mistral["frames"]["models"]
    assert models.height == 67
    by_id = dict(zip(models["model_id"], models["metadata_json"], strict=True))
    assert set(by_id) == {r["model_id"] for r in mistral["rows"]}
    for row, line in zip(mistral["rows"], mistral["lines"], strict=True):
        assert by_id[row["model_id"]] == line


def test_real_family_parents_match_base_model_tags(mistral):
    parents = mistral["frames"]["parents"]
    expected = set()
    for line in mistral["lines"]:
        info = json.loads(line)
        expected |= expected_tag_parents(info["id"], info["tags"])
    assert parent_rows(parents) == expected
    assert parents.height == len(expected)
    assert mistral["manifest"]["normalise"]["counts"]["base_model_tags"] == sum(
        t.startswith("base_model:") for line in mistral["lines"] for t in json.loads(line)["tags"])


def test_real_family_root(mistral):
    models, parents = mistral["frames"]["models"], mistral["frames"]["parents"]
    root = models.filter(pl.col("model_id") == MISTRAL_ROOT).row(0, named=True)
    assert root["languages"] == ["en", "fr", "de", "es", "it", "pt", "zh", "ja", "ru", "ko"]
    assert root["licenses"] == ["apache-2.0"]
    assert root["author"] == "mistralai"
    assert root["pipeline_tag"] == "text-generation" and root["library_name"] == "vllm"
    assert root["regions"] == ["us"]
    assert root["arxiv"][:2] == ["2009.03300", "1905.07830"] and len(root["arxiv"]) == 25
    assert parents.filter(pl.col("child_id") == MISTRAL_ROOT).height == 0


def test_real_family_depth_one_declare_root_with_typed_relation(mistral):
    parents = mistral["frames"]["parents"]
    depth_one = {r["model_id"] for r in mistral["rows"] if int(r["depth"]) == 1}
    assert len(depth_one) == 22
    to_root = parents.filter(pl.col("parent_id") == MISTRAL_ROOT)
    for child in depth_one:
        relations = set(to_root.filter(pl.col("child_id") == child)["relation"])
        assert relations and relations <= TYPED, (child, relations)
    # every child in the family has at least one parent
    children = {r["model_id"] for r in mistral["rows"] if int(r["depth"]) >= 1}
    assert children <= set(parents["child_id"])


def test_real_family_times_and_counts(mistral):
    models = mistral["frames"]["models"]
    for column in ("created_at", "last_modified"):
        dtype = models.schema[column]
        assert isinstance(dtype, pl.Datetime) and dtype.time_zone == "UTC", column
    got = {r["model_id"]: r for r in models.iter_rows(named=True)}
    for line in mistral["lines"]:
        info = json.loads(line)
        row = got[info["id"]]
        assert row["created_at"] == parse_hub_time(info["created_at"])
        assert row["last_modified"] == parse_hub_time(info["last_modified"])
        assert row["downloads"] == info["downloads"] and row["likes"] == info["likes"]
        assert row["tags"] == info["tags"]
        assert row["pipeline_tag"] == info["pipeline_tag"]
        assert row["library_name"] == info["library_name"]
    assert mistral["manifest"]["normalise"]["counts"]["unparsed_created_at"] == 0


def test_real_family_without_cards_all_unknown(mistral):
    cards = mistral["frames"]["cards"]
    assert cards.height == 67
    assert set(cards["status"]) == {"not_fetched"}  # unknown, not "no card"
    assert cards["card"].null_count() == 67
    assert mistral["manifest"]["normalise"]["counts"]["cards_not_fetched"] == 67


# ---------------------------------------------------------------- (b) recorded API responses


def api_bodies(real_data: Path) -> list[str]:
    bodies = []
    for path in sorted((real_data / "api-responses").glob("*.yaml")):
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            request, response = interaction["request"], interaction["response"]
            if (request["method"] == "GET"
                    and request["uri"].startswith("https://huggingface.co/api/models/")
                    and response["status"]["code"] == 200):
                bodies.append(response["body"]["string"])
    return bodies


@pytest.fixture(scope="module")
def api(real_data, tmp_path_factory):
    bodies = api_bodies(real_data)
    lines = [b if "\n" not in b else json.dumps(json.loads(b)) for b in bodies]
    tmp = tmp_path_factory.mktemp("api")
    bare = tmp / "responses.jsonl"  # a bare .jsonl file as the raw input
    write_jsonl(bare, lines)
    manifest, frames = run(bare, tmp / "out")
    return {"lines": lines, "manifest": manifest, "frames": frames, "out": tmp / "out"}


def test_api_responses_snapshot_contract(api):
    check_snapshot_contract(api["out"], api["manifest"], api["frames"])
    assert len(api["lines"]) == 3


def test_api_responses_fields(api):
    models = {r["model_id"]: r for r in api["frames"]["models"].iter_rows(named=True)}
    assert set(models) == {"google-bert/bert-base-uncased", "deepset/roberta-base-squad2",
                           "sentence-transformers/paraphrase-albert-small-v2"}
    for line in api["lines"]:
        body = json.loads(line)
        row = models[body["id"]]
        tags = body["tags"]
        assert row["pipeline_tag"] == body["pipeline_tag"]
        assert row["library_name"] == body["library_name"]
        assert row["author"] == body["author"]
        assert row["downloads"] == body["downloads"] and row["likes"] == body["likes"]
        assert row["created_at"] == parse_hub_time(body["createdAt"])
        assert row["last_modified"] == parse_hub_time(body["lastModified"])
        assert row["datasets"] == [t[len("dataset:"):] for t in tags if t.startswith("dataset:")]
        assert row["arxiv"] == [t[len("arxiv:"):] for t in tags if t.startswith("arxiv:")]
        assert row["metadata_json"] == line
        # the card's own YAML says the same license as the tags
        assert row["licenses"] == [body["cardData"]["license"].lower()]
    bert = models["google-bert/bert-base-uncased"]
    assert bert["datasets"] == ["bookcorpus", "wikipedia"]
    assert bert["arxiv"] == ["1810.04805"]
    assert bert["languages"] == ["en"]
    assert bert["licenses"] == ["apache-2.0"]
    assert bert["pipeline_tag"] == "fill-mask" and bert["library_name"] == "transformers"
    assert bert["created_at"] == datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC)
    squad = models["deepset/roberta-base-squad2"]
    assert squad["languages"] == ["en"] and squad["licenses"] == ["cc-by-4.0"]
    albert = models["sentence-transformers/paraphrase-albert-small-v2"]
    assert albert["languages"] == []  # no bare language tag among its tags


def test_api_responses_parents(api):
    # roberta-base-squad2 carries base_model:X and base_model:finetune:X -> one finetune row
    assert parent_rows(api["frames"]["parents"]) == {
        ("deepset/roberta-base-squad2", "FacebookAI/roberta-base", "finetune", "tag")}


def test_bare_file_rejects_name_the_file(tmp_path):
    path = tmp_path / "dump.jsonl"
    write_jsonl(path, [{"id": "a/b"}, '{"id": ', {"id": "c/d"}])
    manifest, frames = run(path, tmp_path / "out", fraction=0.5)
    assert frames["rejected"].select("file", "line").rows() == [("dump.jsonl", 2)]
    assert sorted(frames["models"]["model_id"]) == ["a/b", "c/d"]
    assert set(frames["cards"]["status"]) == {"not_fetched"}


# ---------------------------------------------------------------- (c) malformed input


def malformed_raw(root: Path) -> tuple[Path, set, set]:
    """Good and bad lines in two model shards; returns (raw, good ids, bad (file, line))."""
    part0 = root / "models" / "part-00000.jsonl"
    part1 = root / "models" / "part-00001.jsonl"
    part0.parent.mkdir(parents=True)
    lines0 = [
        b'{"id": "good/one", "downloads": 5}',                    # 1
        b'{"id": "good/two", "tags": ["license:mit"]}',            # 2
        b'{"id": "broken/json", ',                                  # 3 invalid JSON
        b'{"id": "wrong/type", "downloads": "7"}',                 # 4 wrong type
        b'{"downloads": 3, "tags": []}',                           # 5 missing id
        b'{"id": "has space/x"}',                                  # 6 invalid id
        b'{"id": "good/one", "downloads": 999}',                   # 7 duplicate of line 1
        b'\xff\xfe{"id": "bad/utf8"}',                           # 8 not UTF-8
        b'{"modelId": "good/legacy-key"}',                         # 9 modelId only: fine
        b'',                                                        # 10 blank: skipped
        b'{"id": "good/three", "likes": 2}',                       # 11
    ]
    part0.write_bytes(b"\n".join(lines0) + b"\n")
    part1.write_bytes(b'{"id": "good/four"}\n{"id": "good/two", "likes": 7}\n')
    good = {"good/one", "good/two", "good/legacy-key", "good/three", "good/four"}
    bad = {("models/part-00000.jsonl", n) for n in (3, 4, 5, 6, 7, 8)}
    bad.add(("models/part-00001.jsonl", 2))
    return root, good, bad


def test_malformed_lines_rejected_with_file_and_line(tmp_path):
    raw, good, bad = malformed_raw(tmp_path / "raw")
    manifest, frames = run(raw, tmp_path / "out", fraction=0.9)
    check_snapshot_contract(tmp_path / "out", manifest, frames)
    rejected = frames["rejected"]
    assert set(rejected.select("file", "line").iter_rows()) == bad
    assert rejected.height == len(bad)
    assert rejected["reason"].str.len_chars().min() > 0
    assert set(frames["models"]["model_id"]) == good
    counts = manifest["normalise"]["counts"]
    assert counts["rejected_model_lines"] == len(bad)
    assert counts["model_lines"] == 10 + 2  # the blank line is not a model line
    reasons = dict(((f, n), r) for f, n, r in rejected.iter_rows())
    assert reasons[("models/part-00000.jsonl", 8)] == "not valid UTF-8"
    wrong = reasons[("models/part-00000.jsonl", 4)]
    assert "wrong type" in wrong and "downloads" in wrong
    assert "has space/x" in reasons[("models/part-00000.jsonl", 6)]


def test_duplicate_id_first_wins_and_reason_names_first(tmp_path):
    raw, _, _ = malformed_raw(tmp_path / "raw")
    _, frames = run(raw, tmp_path / "out", fraction=0.9)
    one = frames["models"].filter(pl.col("model_id") == "good/one").row(0, named=True)
    assert one["downloads"] == 5  # line 1, not the duplicate on line 7
    two = frames["models"].filter(pl.col("model_id") == "good/two").row(0, named=True)
    assert two["likes"] == 0 and two["licenses"] == ["mit"]
    reasons = dict(((f, n), r) for f, n, r in frames["rejected"].iter_rows())
    same_file = reasons[("models/part-00000.jsonl", 7)]
    assert "duplicate" in same_file and "good/one" in same_file
    assert re.search(r"models/part-00000\.jsonl line 1\b", same_file)
    other_file = reasons[("models/part-00001.jsonl", 2)]
    assert re.search(r"models/part-00000\.jsonl line 2\b", other_file)


def test_too_many_rejects_raise_naming_a_bad_line(tmp_path):
    raw, _, bad = malformed_raw(tmp_path / "raw")
    with pytest.raises(NormaliseError) as error:
        normalise(raw, tmp_path / "out", SOURCE, max_reject_fraction=0.1)
    message = str(error.value)
    assert any(f"{file} line {line}" in message for file, line in bad), message
    assert "max_reject_fraction" in message


def test_rejects_within_the_limit_pass(tmp_path):
    models = [{"id": f"org/m{i}"} for i in range(99)] + ['{"id": broken']
    raw = make_raw(tmp_path / "raw", models)
    manifest, frames = run(raw, tmp_path / "out", fraction=0.01)
    assert frames["models"].height == 99
    assert frames["rejected"].select("file", "line").rows() == [("models/part-00000.jsonl", 100)]
    with pytest.raises(NormaliseError):
        normalise(raw, tmp_path / "out2", SOURCE, max_reject_fraction=0.009)


@pytest.mark.parametrize("content", [b"", b"\n", b"\n  \n\t\n"], ids=["0-bytes", "nl", "blank"])
def test_empty_input_raises(tmp_path, content):
    path = tmp_path / "models.jsonl"
    path.write_bytes(content)
    with pytest.raises(NormaliseError):
        normalise(path, tmp_path / "out", SOURCE)
    shard = tmp_path / "raw" / "models" / "part-00000.jsonl"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(content)
    with pytest.raises(NormaliseError):
        normalise(tmp_path / "raw", tmp_path / "out2", SOURCE)


def test_directory_without_model_files_raises_input_error(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(InputError):
        normalise(tmp_path / "raw", tmp_path / "out", SOURCE)


def test_unparseable_dates_null_and_counted_missing_counts_zero(tmp_path):
    raw = make_raw(tmp_path / "raw", [
        {"id": "a/ok", "createdAt": "2024-05-01T10:00:00.000Z", "downloads": 4},
        {"id": "a/bad-date", "createdAt": "yesterday", "lastModified": "n/a"},
        {"id": "a/no-date"},
    ])
    manifest, frames = run(raw, tmp_path / "out")
    rows = {r["model_id"]: r for r in frames["models"].iter_rows(named=True)}
    assert rows["a/ok"]["created_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert rows["a/bad-date"]["created_at"] is None
    assert rows["a/bad-date"]["last_modified"] is None
    assert rows["a/no-date"]["created_at"] is None
    assert manifest["normalise"]["counts"]["unparsed_created_at"] == 1
    assert rows["a/no-date"]["downloads"] == 0 and rows["a/no-date"]["likes"] == 0
    assert rows["a/ok"]["downloads"] == 4
    assert rows["a/ok"]["author"] == "a"


# ---------------------------------------------------------------- (d) parents


PARENT_MODELS = [
    {"id": "c/typed-generic", "tags": ["base_model:p/one", "base_model:finetune:p/one"]},
    {"id": "c/two-typed", "tags": ["base_model:p/two", "base_model:quantized:p/two",
                                   "base_model:finetune:p/two", "base_model:finetune:p/two"]},
    {"id": "c/generic", "tags": ["base_model:p/generic"]},
    {"id": "c/distill", "tags": ["base_model:distill:x/y"]},
    {"id": "c/malformed", "tags": ["base_model:", "base_model:a:b:c", "en"]},
    {"id": "c/self", "tags": ["base_model:adapter:c/self"]},
    {"id": "c/invalid", "tags": ["base_model:finetune:not a repo"]},
    {"id": "c/merge", "tags": ["base_model:merge:p/m1", "base_model:merge:p/m2",
                               "base_model:p/m1"]},
    {"id": "c/none", "tags": None},
    {"id": "p/one"},  # a parent that is in the snapshot too
]


@pytest.fixture
def parent_snapshot(tmp_path):
    raw = make_raw(tmp_path / "raw", PARENT_MODELS)
    return run(raw, tmp_path / "out")


def test_parents_rows(parent_snapshot):
    _, frames = parent_snapshot
    assert parent_rows(frames["parents"]) == {
        ("c/typed-generic", "p/one", "finetune", "tag"),
        ("c/two-typed", "p/two", "quantized", "tag"),
        ("c/two-typed", "p/two", "finetune", "tag"),
        ("c/generic", "p/generic", "unspecified", "tag"),
        ("c/distill", "x/y", "unspecified", "tag"),
        ("c/self", "c/self", "adapter", "tag"),  # a self-loop is kept as declared
        ("c/merge", "p/m1", "merge", "tag"),
        ("c/merge", "p/m2", "merge", "tag"),
        # ids kept as written: the lineage cleans or rejects them, each with its reason
        ("c/malformed", "", "unspecified", "tag"),
        ("c/malformed", "b:c", "unspecified", "tag"),
        ("c/invalid", "not a repo", "finetune", "tag"),
    }
    assert frames["parents"].height == 11  # no duplicate rows


def test_parents_counts(parent_snapshot):
    manifest, _ = parent_snapshot
    counts = manifest["normalise"]["counts"]
    assert counts["unknown_relation_tags"] == 2  # distill, a
    assert counts["base_model_tags"] == sum(
        t.startswith("base_model:") for m in PARENT_MODELS for t in (m.get("tags") or []))


def test_parents_absent_from_snapshot_are_kept(parent_snapshot):
    _, frames = parent_snapshot
    models = set(frames["models"]["model_id"])
    absent = set(frames["parents"]["parent_id"]) - models
    assert {"p/two", "p/generic", "x/y", "p/m1", "p/m2"} <= absent
    assert "p/one" in set(frames["parents"]["parent_id"])


# ---------------------------------------------------------------- (e) cards


AUTO = "This model card has been automatically generated by a script."
CARD_MODELS = [
    {"id": "m/ok"}, {"id": "m/missing"}, {"id": "m/error"}, {"id": "m/ok-no-text"},
    {"id": "m/no-record"}, {"id": "m/auto"}, {"id": "m/auto-upper"}, {"id": "m/auto-rev"},
    {"id": "m/not-auto"}, {"id": "m/unicode"},
    {"id": "m/inline"}, {"id": "m/flow"}, {"id": "m/block"},
    {"id": "m/tagged", "tags": ["base_model:finetune:a/b"]},
    {"id": "m/broken"},
]
UNICODE = "  Café   naïve\tmodel —\nnew line  你好 世界 \n\n"
CARD_RECORDS = [
    {"id": "m/ok", "status": "ok", "card": "Hello   card\nworld"},
    {"id": "m/missing", "status": "missing", "card": None},
    {"id": "m/error", "status": "error", "card": None},
    {"id": "m/ok-no-text", "status": "ok", "card": None},
    {"id": "m/auto", "status": "ok", "card": AUTO},
    {"id": "m/auto-upper", "status": "ok", "card": AUTO.upper()},
    {"id": "m/auto-rev", "status": "ok", "card": "Card Generated Automatically from a dump"},
    {"id": "m/not-auto", "status": "ok", "card": "generated manually; automatic generation no"},
    {"id": "m/unicode", "status": "ok", "card": UNICODE},
    {"id": "nobody/here", "status": "ok", "card": "a card of a model not in the snapshot"},
    {"id": "m/ok", "status": "ok", "card": "a second record for m/ok"},
    {"id": "m/inline", "status": "ok",
     "card": "---\nlicense: mit\nbase_model: a/b\nbase_model_relation: quantized\n---\n# x"},
    {"id": "m/flow", "status": "ok", "card": "---\nbase_model: [a/b, 'c/d']\n---\ntext"},
    {"id": "m/block", "status": "ok",
     "card": "---\nbase_model:\n- a/b\n- \"c/d\"\ntags:\n- e/f\n---\ntext"},
    {"id": "m/tagged", "status": "ok", "card": "---\nbase_model: a/b\n---\n"},
    {"id": "m/broken", "status": "ok", "card": "---\nlicense: mit\nbase_model: a/b\n# no end"},
]


@pytest.fixture
def card_snapshot(tmp_path):
    raw = make_raw(tmp_path / "raw", CARD_MODELS, CARD_RECORDS)
    manifest, frames = run(raw, tmp_path / "out")
    check_snapshot_contract(tmp_path / "out", manifest, frames)
    cards = {r["model_id"]: r for r in frames["cards"].iter_rows(named=True)}
    return manifest, frames, cards


def test_cards_one_row_per_model(card_snapshot):
    _, frames, cards = card_snapshot
    assert frames["cards"].height == len(CARD_MODELS)
    assert set(cards) == {m["id"] for m in CARD_MODELS}
    assert "nobody/here" not in cards


def test_card_statuses(card_snapshot):
    manifest, _, cards = card_snapshot
    assert cards["m/ok"]["status"] == "ok"
    assert cards["m/ok"]["card"] == "Hello   card\nworld"  # the first record wins
    assert cards["m/missing"]["status"] == "missing" and cards["m/missing"]["card"] is None
    assert cards["m/error"]["status"] == "error" and cards["m/error"]["card"] is None
    # never asked for: unknown, which the has-card share and tests leave out
    assert (cards["m/no-record"]["status"] == "not_fetched"
            and cards["m/no-record"]["card"] is None)
    assert not (cards["m/ok-no-text"]["status"] == "ok" and cards["m/ok-no-text"]["card"] is None)
    counts = manifest["normalise"]["counts"]
    assert counts["cards_not_fetched"] == 1
    assert counts["cards_for_unknown_models"] == 1
    assert counts["duplicate_card_records"] == 1
    assert counts["card_lines"] == len(CARD_RECORDS)
    for row in cards.values():
        if row["card"] is None:
            assert (row["length_chars"], row["length_words"], row["auto_generated"]) == (
                0, 0, False)


def test_card_lengths_and_auto_generated(card_snapshot):
    _, _, cards = card_snapshot
    for model_id, row in cards.items():
        text = row["card"]
        if text is None:
            continue
        assert row["length_chars"] == len(text), model_id
        assert row["length_words"] == len(text.split()), model_id
        low = text.lower()
        assert row["auto_generated"] == (
            "automatically generated" in low or "generated automatically" in low), model_id
    assert cards["m/unicode"]["length_words"] == 8
    assert cards["m/ok"]["length_words"] == 3
    assert cards["m/auto"]["auto_generated"] and cards["m/auto-upper"]["auto_generated"]
    assert cards["m/auto-rev"]["auto_generated"]
    assert not cards["m/not-auto"]["auto_generated"]


def test_card_front_matter_parents(card_snapshot):
    manifest, frames, _ = card_snapshot
    from_cards = {r for r in parent_rows(frames["parents"]) if r[3] == "card"}
    assert from_cards == {
        ("m/inline", "a/b", "quantized", "card"),
        ("m/flow", "a/b", "unspecified", "card"),
        ("m/flow", "c/d", "unspecified", "card"),
        ("m/block", "a/b", "unspecified", "card"),
        ("m/block", "c/d", "unspecified", "card"),
    }
    tagged = frames["parents"].filter(pl.col("child_id") == "m/tagged")
    assert tagged.rows() == [("m/tagged", "a/b", "finetune", "tag")]
    counts = manifest["normalise"]["counts"]
    assert counts["parents_from_card_only"] == len(from_cards)
    assert counts["broken_front_matter"] == 1
    assert manifest["normalise"]["examples"]["broken_front_matter"] == ["m/broken"]
    assert "m/broken" not in set(frames["parents"]["child_id"])


def test_card_with_crlf_front_matter_declares_parent(tmp_path):
    """Cards saved on Windows: 'base_model: a/b' followed by more front matter, CRLF."""
    raw = make_raw(tmp_path / "raw", [{"id": "w/crlf"}], [
        {"id": "w/crlf", "status": "ok",
         "card": "---\r\nbase_model: a/b\r\nlicense: mit\r\n---\r\n# Model\r\n"}])
    _, frames = run(raw, tmp_path / "out")
    assert parent_rows(frames["parents"]) == {("w/crlf", "a/b", "unspecified", "card")}


def test_card_record_without_status_is_not_dropped_silently(tmp_path):
    """A card record lacking 'status' is either used or listed in rejected.csv."""
    raw = make_raw(tmp_path / "raw", [{"id": "s/a"}, {"id": "s/b"}], [
        {"id": "s/a", "status": "ok", "card": "fine"},
        {"id": "s/b", "card": "a record without status"},
    ])
    manifest, frames = run(raw, tmp_path / "out", fraction=0.9)
    listed = set(frames["rejected"].select("file", "line").iter_rows())
    used = frames["cards"].filter(pl.col("model_id") == "s/b")["card"].item() is not None
    assert used or ("cards/part-00000.jsonl", 2) in listed


def test_card_record_with_invalid_status_rejected(tmp_path):
    raw = make_raw(tmp_path / "raw", [{"id": "s/a"}, {"id": "s/b"}], [
        {"id": "s/a", "status": "ok", "card": "fine"},
        {"id": "s/b", "status": "gone", "card": "x"},
        {"id": "s/a", "status": "ok", "card": 12},
    ])
    _, frames = run(raw, tmp_path / "out", fraction=0.9)
    assert set(frames["rejected"].select("file", "line").iter_rows()) == {
        ("cards/part-00000.jsonl", 2), ("cards/part-00000.jsonl", 3)}
    cards = {r["model_id"]: r for r in frames["cards"].iter_rows(named=True)}
    assert cards["s/a"]["card"] == "fine"
    assert cards["s/b"]["status"] == "error"  # a record we could not use: unknown


def front_matter_base_models(text: str) -> list[str]:
    """Reference: base_model of the card's YAML front matter, parsed with PyYAML."""
    match = re.match(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", text, re.S)
    if not match:
        return []
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return []
    value = meta.get("base_model") if isinstance(meta, dict) else None
    values = value if isinstance(value, list) else [value]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def test_real_cards(real_data, tmp_path):
    paths = sorted((real_data / "model-cards").glob("*.md"))
    assert len(paths) == 48
    texts = {}
    for path in paths:
        org, name = path.stem.split("@", 1)
        texts[f"{org}/{name}"] = path.read_bytes().decode("utf-8")
    raw = make_raw(tmp_path / "raw", [{"id": i} for i in texts],
                   [{"id": i, "status": "ok", "card": t} for i, t in texts.items()])
    manifest, frames = run(raw, tmp_path / "out")
    check_snapshot_contract(tmp_path / "out", manifest, frames)
    cards = {r["model_id"]: r for r in frames["cards"].iter_rows(named=True)}
    assert set(cards) == set(texts)
    ascii_space = 0
    for model_id, text in texts.items():
        row = cards[model_id]
        assert row["status"] == "ok" and row["card"] == text
        assert row["length_chars"] == len(text), model_id
        # words are runs of non-(ASCII whitespace): bytes.split() splits on exactly those
        assert row["length_words"] == len(text.encode("utf-8").split()), model_id
        if not re.search(r"[^\S \t\n\r\x0b\x0c]", text):  # only ASCII whitespace in the text
            ascii_space += 1
            assert row["length_words"] == len(text.split()), model_id
        low = text.lower()
        assert row["auto_generated"] == (
            "automatically generated" in low or "generated automatically" in low), model_id
    assert ascii_space >= 40
    expected = {(child, parent) for child, text in texts.items()
                for parent in front_matter_base_models(text)}
    card_parents = frames["parents"].filter(pl.col("origin") == "card")
    assert set(card_parents.select("child_id", "parent_id").iter_rows()) == expected
    assert manifest["normalise"]["counts"]["broken_front_matter"] == sum(
        unclosed_front_matter(t) for t in texts.values())


def unclosed_front_matter(text: str) -> bool:
    lines = text.splitlines()
    return (bool(lines) and lines[0].rstrip() == "---"
            and not any(line.rstrip() == "---" for line in lines[1:]))


def test_rename_map_of_a_crawl(tmp_path):
    raw = tmp_path / "raw"
    (raw / "models").mkdir(parents=True)
    (raw / "models" / "part-00000.jsonl").write_text(
        '{"id": "new/name", "tags": []}\n{"id": "kid/x", "tags": ["base_model:old/name"]}\n')
    (raw / "renames.jsonl").write_text(
        '{"old_id": "old/name", "new_id": "new/name"}\n'
        '{"old_id": "old/name", "new_id": "elsewhere/name"}\n'
        '{"old_id": "same/id", "new_id": "same/id"}\n'
        '{"old_id": 7}\n')
    manifest = normalise(raw, tmp_path / "snap", {"kind": "crawl"})
    renames = pl.read_parquet(tmp_path / "snap" / "renames.parquet")
    assert renames.rows() == [("old/name", "new/name")]  # first mapping wins, no-ops dropped
    assert manifest["normalise"]["counts"]["renames"] == 1
    rejected = pl.read_csv(tmp_path / "snap" / "rejected.csv")
    assert rejected.filter(pl.col("file") == "renames.jsonl")["line"].to_list() == [4]


# ---------------------------------------------------------------- faults and bad input (issue 12)


def test_lost_raw_files_stop_the_normaliser(tmp_path):
    """The normaliser checks what it finds against the counts the raw manifest records."""
    from hubanatomy.simulator import simulate

    raw = tmp_path / "raw"
    simulate(300, 3, "directed", raw)
    manifest = json.loads((raw / "raw_manifest.json").read_text())
    assert manifest["written"] == {"models": 300, "cards": 300}
    [cards] = sorted((raw / "cards").glob("*.jsonl"))
    lines = cards.read_bytes().splitlines(keepends=True)
    cards.write_bytes(b"".join(lines[:-40]))  # a cut file
    with pytest.raises(NormaliseError, match=r"says 300 cards lines were written, but only 260"):
        normalise(raw, tmp_path / "out", SOURCE)
    cards.unlink()  # a deleted one
    with pytest.raises(NormaliseError, match=r"300 cards lines .* only 0 .*\(none\)"):
        normalise(raw, tmp_path / "out", SOURCE)
    [models] = sorted((raw / "models").glob("*.jsonl"))
    models.write_bytes(b"".join(models.read_bytes().splitlines(keepends=True)[:100]))
    with pytest.raises(NormaliseError, match=r"300 models lines .* only 100 .*part-00000"):
        normalise(raw, tmp_path / "out", SOURCE)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_deleted_crawl_shard_file_stops_the_normaliser(tmp_path):
    raw = make_raw(tmp_path / "raw", [{"id": f"org/m{i}"} for i in range(4)])
    (raw / "cards").mkdir()
    write_jsonl(raw / "cards" / "shard-0000.jsonl",
                [{"id": "org/m0", "status": "ok", "card": "# a"},
                 {"id": "org/m2", "status": "missing", "card": None}])
    write_jsonl(raw / "cards" / "shard-0001.jsonl",
                [{"id": "org/m1", "status": "ok", "card": "# b"},
                 {"id": "org/m3", "status": "error", "card": None}])
    (raw / "raw_manifest.json").write_text(json.dumps({
        "source": {"kind": "crawl", "models": 4},
        "acquisition": {"cards": {"ok": 2, "missing": 1, "error": 1}}}))
    manifest, frames = run(raw, tmp_path / "out")
    assert manifest["normalise"]["counts"]["cards_not_fetched"] == 0
    (raw / "cards" / "shard-0001.jsonl").unlink()
    with pytest.raises(NormaliseError, match=r"says 4 cards lines .* only 2 .*shard-0000"):
        normalise(raw, tmp_path / "out2", SOURCE)


BAD_CARD_LINES = {
    "org/nul": b'{"id": "org/nul", "status": "ok", "card": "a\x00b"}',
    "org/latin1": b'{"id": "org/latin1", "status": "ok", "card": "caf\xe9"}',
    "org/surrogate": b'{"id": "org/surrogate", "status": "ok", "card": "x\\ud800y"}',
}


def test_a_rejected_card_record_makes_the_card_unknown_not_missing(tmp_path):
    ids = ["org/fine", *BAD_CARD_LINES, "org/never"]
    raw = make_raw(tmp_path / "raw", [{"id": m} for m in ids])
    card_file = raw / "cards" / "part-00000.jsonl"
    card_file.parent.mkdir()
    card_file.write_bytes(b'{"id": "org/fine", "status": "ok", "card": "# fine"}\n'
                          + b"\n".join(BAD_CARD_LINES.values()) + b"\n")
    manifest, frames = run(raw, tmp_path / "out", fraction=0.9)
    status = dict(frames["cards"].select("model_id", "status").iter_rows())
    assert status == {"org/fine": "ok", "org/nul": "error", "org/latin1": "error",
                      "org/surrogate": "error", "org/never": "not_fetched"}
    counts = manifest["normalise"]["counts"]
    assert counts["rejected_card_lines_as_error"] == 3
    assert counts["cards_not_fetched"] == 1
    # in = out + rejected: every card line is a card row or a rejected line
    assert counts["card_lines"] == 1 + frames["rejected"].height == 4
    assert frames["rejected"]["line"].to_list() == [2, 3, 4]


def test_impossible_ids_and_negative_counts_are_rejected_with_reasons(tmp_path):
    models = [
        {"id": "org/good", "downloads": 3, "likes": 0},
        {"id": "org/123"},                          # a number as a name: a real Hub id
        {"id": "legacy-name"},
        {"id": "org/neg", "downloads": -5},
        {"id": "org/negl", "likes": -1},
        {"id": "a/.."}, {"id": "a/."}, {"id": ".."}, {"id": "a/b..c"},
        {"id": "org/" + "x" * 4998},                # 5,002 characters
        {"id": "0"}, {"id": "299"},                 # a table's row index, not an id
    ]
    raw = make_raw(tmp_path / "raw", models)
    manifest, frames = run(raw, tmp_path / "out", fraction=0.9)
    assert frames["models"]["model_id"].to_list() == ["org/good", "org/123", "legacy-name"]
    reasons = dict(frames["rejected"].select("line", "reason").iter_rows())
    assert reasons[4] == "wrong value: downloads -5 is negative"
    assert reasons[5] == "wrong value: likes -1 is negative"
    for line in (6, 9):
        assert "'..' (a path segment)" in reasons[line]
    assert reasons[8] == "invalid model id '..': not a Hub repo id"
    assert "'.' (a path segment)" in reasons[7]
    assert "longer than 96 characters" in reasons[10] and "5,002 characters" in reasons[10]
    assert len(reasons[10]) < 300
    assert "a bare number" in reasons[11] and "a bare number" in reasons[12]
    counts = manifest["normalise"]["counts"]
    assert counts["model_lines"] == len(models) == 3 + counts["rejected_model_lines"]


def test_a_full_disk_leaves_the_previous_snapshot_whole(tmp_path, monkeypatch):
    import errno

    import pyarrow.parquet as pq

    raw = make_raw(tmp_path / "raw", [{"id": f"org/m{i}"} for i in range(20)],
                   [{"id": f"org/m{i}", "status": "ok", "card": "# card"} for i in range(20)])
    out = tmp_path / "out"
    run(raw, out)
    before = {p.name: sha256(p) for p in out.iterdir()}

    def full(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "cards.parquet.tmp"))
    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    make_raw(tmp_path / "raw", [{"id": f"org/new{i}"} for i in range(30)])
    with pytest.raises(OSError, match="No space left"):
        normalise(raw, out, SOURCE)
    assert {p.name: sha256(p) for p in out.iterdir()} == before  # no partial, no temp file


def test_os_errors_are_one_line_naming_the_path(tmp_path, monkeypatch, capsys):
    import errno
    import logging
    from types import SimpleNamespace

    from hubanatomy import cli
    from hubanatomy.logs import run_script

    raw = make_raw(tmp_path / "raw", [{"id": "org/a"}])
    out = tmp_path / "read-only"

    def denied(self, *_, **__):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(cli, "setup_logging", lambda: None)
    monkeypatch.setattr(Path, "mkdir", denied)
    assert cli.main(["normalise", "--raw", str(raw), "--out", str(out)]) == 1
    message = capsys.readouterr().err
    assert message == (f"hubanatomy: Permission denied: {out} (check the folder's permissions, "
                       "or write elsewhere)\n")
    monkeypatch.undo()

    log_file = tmp_path / "job.log"

    def no_space():
        raise OSError(errno.ENOSPC, "No space left on device", "results/snapshot/cards.parquet")
    with pytest.raises(SystemExit) as stop:
        run_script(SimpleNamespace(log=[str(log_file)]), no_space)
    logging.getLogger().handlers.clear()
    assert stop.value.code == 1
    [line] = log_file.read_text().splitlines()
    assert line.endswith("ERROR hubanatomy: No space left on device: "
                         "results/snapshot/cards.parquet (free some space, or write elsewhere, "
                         "and rerun)")
