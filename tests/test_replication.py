"""The replication table: the paper's numbers, ours, and the verdict rules."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hubanatomy.normalise import normalise
from hubanatomy.replication import (
    COLUMNS,
    NOT_COMPARABLE,
    NOT_YET,
    drift_values,
    foundation_values,
    ordering_values,
    paper_numbers,
    replication_table,
    within,
)


def test_paper_numbers_file_is_well_formed():
    paper = paper_numbers()
    assert paper["key"].is_unique().all()
    # only our own rows have no paper number
    assert paper.filter(pl.col("paper").is_null())["key"].to_list() == ["lineage.edges.unspecified"]
    assert set(paper["issue"]) == {"foundation", "lineage", "similarity", "drift", "orderings"}
    assert paper.filter(pl.col("key") == "data.models_total")["paper"][0] == 1_860_411
    assert paper.filter(pl.col("key") == "drift.mutation_rate.v1.licenses")["paper"][0] == 0.1498
    for tolerance in paper["tolerance"]:
        kind = tolerance.partition(":")[0]
        assert kind in ("abs", "rel", "min"), tolerance


@pytest.mark.parametrize("ours, paper, tolerance, expected", [
    (0.161, 0.1604, "abs:0.002", True), (0.163, 0.1604, "abs:0.002", False),
    (1_861_000, 1_860_411, "rel:0.001", True), (1_870_000, 1_860_411, "rel:0.001", False),
    (0.86, 0.75, "min", True), (0.70, 0.75, "min", False), (3, 3, "abs:0", True),
])
def test_within(ours, paper, tolerance, expected):
    assert within(ours, paper, tolerance) is expected


def test_verdicts_real_and_simulated():
    paper = paper_numbers()
    share_key = "top.licenses.apache-2.0.share"  # paper 0.1604, abs:0.002
    count_key = "data.models_total"
    part = pl.DataFrame({"key": [share_key, count_key], "value": [0.1700, 1_860_411.0]})
    real = {r["key"]: r for r in replication_table([part], simulated=False).iter_rows(named=True)}
    assert real[share_key]["verdict"] == "differs"  # 0.17 is 0.0096 away
    assert real[count_key]["verdict"] == "match"
    assert real["lineage.edges"]["verdict"] == NOT_YET and real["lineage.edges"]["ours"] == ""
    simulated = {r["key"]: r for r in replication_table([part], simulated=True).iter_rows(
        named=True)}
    assert simulated[share_key]["verdict"] == "calibrated"  # within 25% of the paper
    assert simulated[count_key]["verdict"] == NOT_COMPARABLE
    table = replication_table([part], simulated=True)
    assert table.columns == COLUMNS and table.height == paper.height
    assert table["key"].to_list() == paper["key"].to_list()


def test_earlier_parts_win():
    key = "top.licenses.mit.share"
    first = pl.DataFrame({"key": [key], "value": [0.059]})
    second = pl.DataFrame({"key": [key], "value": [0.5]})
    table = replication_table([first, second], simulated=False)
    assert table.filter(pl.col("key") == key)["ours"][0] == "0.059"


def test_foundation_values_on_a_tiny_snapshot(tmp_path):
    lines = [
        {"id": "a/x", "tags": ["license:apache-2.0", "en"], "pipeline_tag": "text-generation",
         "library_name": "transformers"},
        {"id": "a/y", "tags": ["license:mit", "en", "fr", "dataset:glue"],
         "pipeline_tag": "text-classification"},
        {"id": "a/z", "tags": ["license:apache-2.0", "zh"]},
        {"id": "a/w", "tags": []},
    ]
    raw = tmp_path / "models.jsonl"
    raw.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    normalise(raw, tmp_path / "snap", {"kind": "snapshot"})
    frame = foundation_values(tmp_path / "snap" / "models.parquet",
                              tmp_path / "snap" / "cards.parquet")
    values = dict(frame.select("key", "value").iter_rows())
    assert values["data.models_total"] == 4
    assert values["top.licenses.apache-2.0.share"] == pytest.approx(2 / 4)
    assert values["top.licenses.distinct_tags"] == 2
    assert values["top.licenses.tag_count"] == 3
    assert values["top.tasks.text-generation.share"] == pytest.approx(1 / 2)
    assert values["top.languages.English.share"] == pytest.approx(2 / 3)  # of models listing
    assert values["top.languages.French.share"] == pytest.approx(1 / 3)
    assert values["top.libraries.transformers.share"] == pytest.approx(1.0)
    assert values["top.datasets.glue.count"] == 1
    # no card records: nothing fetched, so the share is unknown, not 0
    reasons = dict(frame.select("key", "unavailable").iter_rows())
    assert values["data.share_with_card"] is None
    assert reasons["data.share_with_card"] == "no card of this snapshot was fetched"


def test_ordering_values_map_language_codes_to_the_papers_names():
    rows = pl.DataFrame({
        "trait": ["languages", "languages", "licenses"], "variant": ["all", "all", "finetune"],
        "weighting": ["weighted"] * 3, "method": ["exact"] * 3, "rank": [1, 20, 2],
        "value": ["pl", "en", "gemma"], "arcs_consistent": [186, 186, 113],
        "arcs_total": [190, 190, 121], "arcs_share": [0.9789, 0.9789, 0.934],
        "mutations_share": [0.7471, 0.7471, 0.846]})
    values = dict(ordering_values(rows).select("key", "value").iter_rows())
    assert values["ordering.v1.languages.weighted.rank.Polish"] == 1
    assert values["ordering.v1.languages.weighted.rank.English"] == 20
    assert values["ordering.v1.languages.weighted.arcs.consistent"] == 186
    assert values["ordering.finetune.licenses.weighted.arcs.total"] == 121
    assert "ordering.finetune.licenses.weighted.rank.gemma" not in values  # not in the paper


def test_drift_values_take_the_all_edges_variant_for_v1():
    rates = pl.DataFrame({"trait": ["licenses", "licenses"], "relation": ["all", "all"],
                          "variant": ["all", "finetune"], "mutation_rate": [0.15, 0.2],
                          "n_edges": [100, 50]})
    numeric = pl.DataFrame({
        "measure": ["card_length_chars", "card_length_chars"], "relation": ["all", "finetune"],
        "variant": ["all", "all"], "parent": [9773.0, 12200.0], "child": [4402.0, 4800.0],
        "difference": [-5371.0, -7400.0], "n_edges": [558385, 1000]})
    values = dict(drift_values(rates, numeric).select("key", "value").iter_rows())
    assert values["drift.mutation_rate.v1.licenses"] == 0.15
    assert values["drift.mutation_rate.finetune.licenses"] == 0.2
    assert values["drift.card_length.mean.parent"] == 9773
    assert values["drift.card_length.edges"] == 558385
    assert values["drift.card_length.finetune.child"] == 4800
