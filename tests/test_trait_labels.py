"""hubanatomy.drift.labels: the license taxonomy, trait labels, license coverage.

The paper's license names and classes are written out here (its summary figure, its license
order and classes: docs/method.md#snapshot, #orderings); the real mistral-small-family records
go through normalise and label_traits and are checked against their own raw JSON."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hubanatomy.drift.labels import (
    LICENSE_CLASSES,
    SET_TRAITS,
    label_traits,
    license_coverage,
    license_taxonomy,
)
from hubanatomy.snapshot import files as snap
from hubanatomy.snapshot.files import CARDS, MODELS
from hubanatomy.snapshot.normalise import normalise

# the paper's summary figure: its top-ten licenses
PAPER_TOP_LICENSES = ["apache-2.0", "mit", "other", "openrail", "creativeml-openrail-m",
                      "cc-by-nc-4.0", "llama2", "llama3", "gemma", "unknown"]
# the paper's weighted license order (v1, full graph, n = 20)
PAPER_LICENSE_ORDER = [
    "gemma", "llama3.1", "llama3.2", "openrail++", "creativeml-openrail-m", "cc-by-nc-4.0",
    "llama3", "llama2", "mit", "afl-3.0", "bigscience-bloom-rail-1.0", "llama3.3", "apache-2.0",
    "cc-by-nc-sa-4.0", "cc-by-4.0", "openrail", "artistic-2.0", "cc-by-sa-4.0", "gpl-3.0", "cc"]
# the paper's license classes, used for colouring
PAPER_LICENSE_CLASSES = {
    "commercial": ["gemma", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3"],
    "use-restricted": ["openrail", "openrail++", "creativeml-openrail-m",
                       "bigscience-bloom-rail-1.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
                       "cc-by-nc-nd-4.0"],
    "copyleft": ["cc-by-4.0", "cc-by-sa-4.0", "gpl-3.0", "gpl-2.0"],
    "permissive": ["mit", "apache-2.0", "unlicense", "cc0-1.0", "cc", "artistic-2.0",
                   "afl-3.0"],
}
# where this project deliberately departs from the paper's class (documented in the csv)
DEPARTURES = {"cc-by-4.0": "permissive"}
MISTRAL = "mistral-small-family"
MISTRAL_ROOT = "mistralai/Mistral-Small-24B-Base-2501"
UNKNOWN_LICENSE = "zz-homebrew-license"


# --- the taxonomy -----------------------------------------------------------------------

def test_taxonomy_covers_every_license_the_paper_names():
    taxonomy = license_taxonomy()
    known = set(taxonomy["license"])
    named = set(PAPER_TOP_LICENSES) | set(PAPER_LICENSE_ORDER) | {
        name for names in PAPER_LICENSE_CLASSES.values() for name in names}
    assert len(named) == 26
    assert sorted(named - known) == []
    assert taxonomy["license"].n_unique() == taxonomy.height  # one row per license
    assert set(taxonomy["class"]) <= set(LICENSE_CLASSES)
    assert taxonomy["class"].null_count() == 0
    assert (taxonomy["license"] == taxonomy["license"].str.to_lowercase()).all()  # as parsed


def test_taxonomy_classes_agree_with_the_paper():
    classes = dict(license_taxonomy().select("license", "class").iter_rows())
    paper_classes = dict(license_taxonomy().select("license", "paper_class").iter_rows())
    for paper_class, names in PAPER_LICENSE_CLASSES.items():
        for name in names:
            assert paper_classes[name] == paper_class, name
            assert classes[name] == DEPARTURES.get(name, paper_class), name
    note = license_taxonomy().filter(pl.col("license") == "cc-by-4.0")["note"][0]
    assert "copyleft" in note  # the departure is explained
    assert classes["other"] == classes["unknown"] == "other-unknown"


# --- label_traits on real records -------------------------------------------------------

def _raw_records(real_data) -> list[dict]:
    table = pl.read_csv(real_data / MISTRAL / "models.csv")
    return [json.loads(m) for m in table["metadata"]]


def _normalised(records: list[dict], tmp_path, cards: list[dict] | None = None):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "models.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if cards is not None:
        (raw / "cards.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cards))
    normalise(raw, tmp_path / "snap", {"kind": "snapshot"})
    return tmp_path / "snap"


def _license_tags(record: dict) -> list[str]:
    return [t[len("license:"):] for t in record["tags"] if t.startswith("license:")]


@pytest.fixture(scope="module")
def mistral(real_data, tmp_path_factory):
    """The real family with an unknown license tag planted on two models, and three cards."""
    records = _raw_records(real_data)
    planted = [records[3]["id"], records[10]["id"]]
    for r in records:
        if r["id"] in planted:
            r["tags"] = [t for t in r["tags"] if not t.startswith("license:")] + [
                f"license:{UNKNOWN_LICENSE}"]
    cards = [{"id": records[0]["id"], "status": "ok", "card": "abc"},  # 3 characters
             {"id": records[1]["id"], "status": "ok", "card": "abcd efgh"},
             {"id": records[2]["id"], "status": "error", "card": None}]
    snapshot = _normalised(records, tmp_path_factory.mktemp("mistral"), cards)
    return records, planted, label_traits(snapshot / MODELS, snapshot / CARDS)


def test_label_traits_on_the_mistral_family(mistral):
    records, planted, traits = mistral
    assert traits.height == len(records) == 67
    assert traits.columns == ["model_id", "licenses", "license_classes", "languages", "tasks",
                              "libraries", "has_card", "card_length_chars",
                              "card_length_words", "auto_generated", "n_languages"]
    by_id = {r["model_id"]: r for r in traits.iter_rows(named=True)}
    classes = dict(license_taxonomy().select("license", "class").iter_rows())
    apache = 0
    for record in records:
        row = by_id[record["id"]]
        assert row["licenses"] == _license_tags(record)
        # each license tag gets its class, in order; unknown tags land in other-unknown
        assert row["license_classes"] == [classes.get(x, "other-unknown")
                                          for x in row["licenses"]]
        if row["licenses"] == ["apache-2.0"]:
            assert row["license_classes"] == ["permissive"]
            apache += 1
        # a task and a library are one-element lists, or empty when the Hub has none
        assert row["tasks"] == ([record["pipeline_tag"]] if record["pipeline_tag"] else [])
        assert row["libraries"] == ([record["library_name"]] if record["library_name"]
                                    else [])
        assert row["n_languages"] == len(row["languages"])
    assert apache > 50  # the family's license
    assert by_id[MISTRAL_ROOT]["license_classes"] == ["permissive"]
    for model in planted:
        assert by_id[model]["licenses"] == [UNKNOWN_LICENSE]
        assert by_id[model]["license_classes"] == ["other-unknown"]
    for trait in SET_TRAITS:
        assert traits[trait].dtype == pl.List(pl.String)
    assert set(traits["tasks"].list.len()) | set(traits["libraries"].list.len()) == {0, 1}
    assert traits["tasks"].list.len().sum() < 67  # some models have no pipeline tag


def test_license_coverage_counts_unknown_tags(mistral):
    records, planted, traits = mistral
    coverage = license_coverage(traits)
    expected = {}
    for record in records:
        for tag in _license_tags(record):
            expected[tag] = expected.get(tag, 0) + 1
    assert dict(coverage.select("license", "models").iter_rows()) == expected
    unknown = coverage.filter(pl.col("license") == UNKNOWN_LICENSE).to_dicts()
    assert unknown == [{"license": UNKNOWN_LICENSE, "class": "other-unknown",
                        "in_taxonomy": False, "models": 2}]
    known = coverage.filter(pl.col("license") != UNKNOWN_LICENSE)
    assert known["in_taxonomy"].all()
    assert known.filter(pl.col("license") == "apache-2.0")["class"].to_list() == ["permissive"]
    # most models first
    assert coverage["models"].to_list() == sorted(coverage["models"].to_list(), reverse=True)


def test_has_card_from_normalised_cards(mistral):
    records, _, traits = mistral
    by_id = {r["model_id"]: r for r in traits.iter_rows(named=True)}
    three = by_id[records[0]["id"]]
    assert three["has_card"] is False and three["card_length_chars"] is None
    card = by_id[records[1]["id"]]
    assert card["has_card"] is True
    assert (card["card_length_chars"], card["card_length_words"]) == (9, 2)
    assert card["auto_generated"] is False
    assert by_id[records[2]["id"]]["has_card"] is None  # fetch error: unknown
    assert traits["has_card"].sum() == 1
    # the rest were never fetched: unknown, not "no card"
    assert traits["has_card"].null_count() == len(records) - 2


# --- has_card on a hand-made snapshot ---------------------------------------------------

def test_has_card_requires_status_ok_and_more_than_three_characters(tmp_path):
    ids = ["a/ok4", "a/ok3", "a/error", "a/missing", "a/none", "a/auto"]
    models = pl.DataFrame({
        "model_id": ids,
        "licenses": [["mit"], [], ["mit", "weird"], [], [], ["llama3"]],
        "languages": [["en", "fr"], [], ["de"], [], [], []],
        "pipeline_tag": ["text-generation", None, None, None, None, "fill-mask"],
        "library_name": [None, "peft", None, None, None, "transformers"],
    }, schema_overrides={"licenses": pl.List(pl.String), "languages": pl.List(pl.String)})
    models = snap.conform(models.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in snap.MODELS_SCHEMA.items()
        if name not in models.columns), snap.MODELS_SCHEMA)
    cards = snap.conform(pl.DataFrame({
        "model_id": ["a/ok4", "a/ok3", "a/error", "a/missing", "a/auto"],
        "card": ["abcd", "abc", "some text of an error page", None, "x" * 50],
        "length_chars": [4, 3, 100, 0, 50],
        "length_words": [1, 1, 6, 0, 1],
        "auto_generated": [False, False, True, False, True],
        "status": ["ok", "ok", "error", "missing", "ok"],
    }), snap.CARDS_SCHEMA)  # a/none has no card row at all
    snap.write_parquet(models, tmp_path / snap.MODELS)
    snap.write_parquet(cards, tmp_path / snap.CARDS)
    labelled = label_traits(tmp_path / MODELS, tmp_path / CARDS)
    rows = {r["model_id"]: r for r in labelled.iter_rows(named=True)}
    # known only for fetched cards (ok) and known absences (missing); unknown (None) otherwise
    assert {m: rows[m]["has_card"] for m in ids} == {
        "a/ok4": True, "a/ok3": False, "a/error": None, "a/missing": False, "a/none": None,
        "a/auto": True}
    # card features only for models with a card
    assert rows["a/ok4"]["card_length_chars"] == 4 and rows["a/ok4"]["card_length_words"] == 1
    assert rows["a/auto"]["auto_generated"] is True
    for m in ("a/ok3", "a/error", "a/missing", "a/none"):
        assert rows[m]["card_length_chars"] is None, m
        assert rows[m]["card_length_words"] is None, m
        assert rows[m]["auto_generated"] is None, m
    assert rows["a/ok4"]["tasks"] == ["text-generation"] and rows["a/ok4"]["libraries"] == []
    assert rows["a/ok3"]["tasks"] == [] and rows["a/ok3"]["libraries"] == ["peft"]
    assert rows["a/error"]["license_classes"] == ["permissive", "other-unknown"]
    assert rows["a/auto"]["license_classes"] == ["commercial"]
    assert [rows[m]["n_languages"] for m in ids] == [2, 0, 1, 0, 0, 0]
    coverage = {r["license"]: r for r in license_coverage(
        label_traits(tmp_path / MODELS, tmp_path / CARDS)).iter_rows(named=True)}
    assert coverage["mit"]["models"] == 2 and coverage["mit"]["in_taxonomy"]
    assert coverage["weird"] == {"license": "weird", "class": "other-unknown",
                                 "in_taxonomy": False, "models": 1}
