"""hubanatomy.snapshot.tags: trait lists and declared parents from the Hub's flat tag lists."""

from __future__ import annotations

import polars as pl
import pytest

from hubanatomy.snapshot.tags import declared_parents, trait_lists

TAGS = pl.List(pl.String)


def traits(rows: list[list[str] | None]) -> list[dict]:
    frame = pl.DataFrame({"model_id": [f"m/{i}" for i in range(len(rows))], "tags": rows},
                         schema={"model_id": pl.String, "tags": TAGS})
    out = trait_lists(frame)
    assert out.height == frame.height
    assert out["model_id"].to_list() == frame["model_id"].to_list()
    for column in ("licenses", "datasets", "arxiv", "regions", "languages"):
        assert out.schema[column] == TAGS, column
        assert out[column].null_count() == 0, column
    return out.select("licenses", "datasets", "arxiv", "regions", "languages").to_dicts()


def test_licenses_lowercased_stripped_deduplicated_in_order():
    (row,) = traits([["license:MIT", "license:apache-2.0", "license:mit", "license: Other ",
                      "license:", "License:gpl"]])
    assert row["licenses"] == ["mit", "apache-2.0", "other"]


def test_datasets_and_arxiv_keep_case_and_order():
    (row,) = traits([["dataset:Open-Orca/SlimOrca", "dataset:squad", "arxiv:2106.09685",
                      "dataset:squad", "arxiv:1810.04805", "arxiv:2106.09685", "dataset:"]])
    assert row["datasets"] == ["Open-Orca/SlimOrca", "squad"]
    assert row["arxiv"] == ["2106.09685", "1810.04805"]


def test_regions_lowercased():
    (row,) = traits([["region:US", "region:eu", "region:us"]])
    assert row["regions"] == ["us", "eu"]


def test_prefixed_values_are_not_languages_and_languages_are_normalised():
    (row,) = traits([["dataset:en", "license:fr", "en", "fr", "eng", "de-DE", "transformers"]])
    assert row["languages"] == ["en", "fr", "de"]
    assert row["datasets"] == ["en"] and row["licenses"] == ["fr"]


def test_null_and_empty_tags_give_empty_lists():
    rows = traits([None, [], ["pytorch", "text-generation"]])
    empty = {"licenses": [], "datasets": [], "arxiv": [], "regions": [], "languages": []}
    assert rows == [empty, empty, empty]


def test_each_row_gets_its_own_lists():
    rows = traits([["license:mit", "dataset:a"], None, ["license:cc-by-4.0", "region:us", "ja"]])
    assert [r["licenses"] for r in rows] == [["mit"], [], ["cc-by-4.0"]]
    assert [r["datasets"] for r in rows] == [["a"], [], []]
    assert [r["regions"] for r in rows] == [[], [], ["us"]]
    assert [r["languages"] for r in rows] == [[], [], ["ja"]]


def parents_of(rows: dict[str, list[str] | None]) -> tuple[set, dict]:
    frame = pl.DataFrame({"model_id": list(rows), "tags": list(rows.values())},
                         schema={"model_id": pl.String, "tags": TAGS})
    parents, report = declared_parents(frame)
    assert parents.columns[:3] == ["child_id", "parent_id", "relation"]
    assert set(parents["origin"]) <= {"tag"}
    triples = list(parents.select("child_id", "parent_id", "relation").iter_rows())
    assert len(triples) == len(set(triples)), "duplicate parent rows"
    return set(triples), report["counts"]


def test_typed_and_generic_for_same_parent_give_only_typed_rows():
    got, counts = parents_of({"c": ["base_model:p/x", "base_model:finetune:p/x"]})
    assert got == {("c", "p/x", "finetune")}
    assert counts["base_model_tags"] == 2


def test_generic_only_gives_unspecified():
    got, _ = parents_of({"c": ["base_model:p/x"]})
    assert got == {("c", "p/x", "unspecified")}


def test_two_typed_relations_give_two_rows():
    got, _ = parents_of({"c": ["base_model:quantized:p/x", "base_model:p/x",
                               "base_model:adapter:p/x", "base_model:adapter:p/x"]})
    assert got == {("c", "p/x", "quantized"), ("c", "p/x", "adapter")}


@pytest.mark.parametrize("relation", ["finetune", "adapter", "quantized", "merge"])
def test_known_relations(relation):
    got, counts = parents_of({"c/1": [f"base_model:{relation}:p/x"]})
    assert got == {("c/1", "p/x", relation)}
    assert counts["unknown_relation_tags"] == 0


def test_unknown_relation_is_unspecified_and_counted():
    got, counts = parents_of({"c": ["base_model:distill:x/y"]})
    assert got == {("c", "x/y", "unspecified")}
    assert counts["unknown_relation_tags"] == 1


def test_parent_ids_are_kept_as_written_for_the_lineage_to_judge():
    """Cleaning and rejecting ids is the lineage's decision (parent_ids.py), counted there."""
    got, counts = parents_of({"c": ["base_model:", "base_model:a:b:c", "base_model:finetune:",
                                    "base_model:finetune:has space/x", "base_model:/x"],
                              "d": ["base_model:p/ok"]})
    assert got == {("c", "b:c", "unspecified"),
                   ("c", "", "finetune"), ("c", "has space/x", "finetune"),
                   ("c", "/x", "unspecified"), ("d", "p/ok", "unspecified")}
    assert counts["unknown_relation_tags"] == 1  # "a"
    assert counts["base_model_tags"] == 6


def test_urls_are_ids_not_relations():
    got, counts = parents_of({"c": ["base_model:https://huggingface.co/p/x",
                                    "base_model:finetune:https://huggingface.co/p/y",
                                    "base_model:Finetune:p/z"]})
    assert got == {("c", "https://huggingface.co/p/x", "unspecified"),
                   ("c", "https://huggingface.co/p/y", "finetune"),
                   ("c", "p/z", "finetune")}
    assert counts["unknown_relation_tags"] == 0


def test_self_loop_kept_and_legacy_ids_accepted():
    got, _ = parents_of({"org/m": ["base_model:finetune:org/m", "base_model:gpt2"]})
    assert got == {("org/m", "org/m", "finetune"), ("org/m", "gpt2", "unspecified")}


def test_null_empty_and_unrelated_tags_give_no_parents():
    got, counts = parents_of({"a": None, "b": [], "c": ["base_model", "license:mit",
                                                          "x-base_model:p/q"]})
    assert got == set()
    assert counts["base_model_tags"] == 0


def test_parents_per_child_are_separate():
    got, _ = parents_of({"c1": ["base_model:p/x"], "c2": ["base_model:merge:p/x"],
                         "c3": ["base_model:merge:p/x", "base_model:merge:p/y"]})
    assert got == {("c1", "p/x", "unspecified"), ("c2", "p/x", "merge"),
                   ("c3", "p/x", "merge"), ("c3", "p/y", "merge")}


def test_custom_column_names():
    frame = pl.DataFrame({"name": ["k/v"], "labels": [["base_model:adapter:p/q"]]},
                         schema={"name": pl.String, "labels": TAGS})
    parents, _ = declared_parents(frame, child="name", tags="labels")
    assert parents.select("child_id", "parent_id", "relation").rows() == [
        ("k/v", "p/q", "adapter")]
