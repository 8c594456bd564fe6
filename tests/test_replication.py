"""The replication table: the paper's numbers, ours, and the verdict rules."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hubanatomy.replication import (
    COLUMNS,
    NOT_AVAILABLE,
    NOT_COMPARABLE,
    NOT_YET,
    drift_values,
    foundation_values,
    lineage_values,
    ordering_values,
    paper_numbers,
    replication_table,
    within,
)
from hubanatomy.snapshot.normalise import normalise


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


def _verdicts(part: pl.DataFrame) -> dict[str, dict]:
    return {r["key"]: r for r in replication_table([part], simulated=False).iter_rows(named=True)}


def test_a_value_without_its_inputs_says_why_instead_of_comparing_zero(tmp_path):
    """Models without licenses, languages, libraries or cards: their rows are not available,
    with the reason, and never 'differs' from the paper."""
    raw = tmp_path / "models.jsonl"
    raw.write_text("\n".join(json.dumps({"id": f"a/{i}", "tags": []}) for i in range(5)) + "\n")
    normalise(raw, tmp_path / "snap", {"kind": "snapshot"})
    part = foundation_values(tmp_path / "snap" / "models.parquet",
                             tmp_path / "snap" / "cards.parquet")
    rows = _verdicts(part)
    assert rows["data.models_total"]["ours"] == "5"
    for key in ("top.licenses.apache-2.0.share", "top.licenses.distinct_tags",
                "top.languages.English.share", "top.libraries.transformers.share"):
        assert rows[key]["verdict"].startswith(f"{NOT_AVAILABLE}: no model of this snapshot"), key
        assert rows[key]["ours"] == ""
    assert rows["data.share_with_card"]["verdict"] == (
        f"{NOT_AVAILABLE}: no card of this snapshot was fetched")


def _lineage(relations: list[str]):
    from hubanatomy.lineage.build import LineageSettings, build_lineage
    ids = ["root", *(f"c/{i}" for i in range(len(relations)))]
    models = pl.DataFrame({"model_id": ids, "created_at": [None] * len(ids)},
                          schema={"model_id": pl.String, "created_at": pl.Datetime("us", "UTC")})
    parents = pl.DataFrame({"child_id": ids[1:], "parent_id": ["root"] * len(relations),
                            "relation": relations, "origin": ["tag"] * len(relations)})
    return build_lineage(models, parents, LineageSettings())


def test_untyped_edges_have_their_own_row_never_a_difference():
    generic = _lineage(["unspecified"] * 3)
    rows = _verdicts(lineage_values(generic.nodes, generic.edges))
    assert rows["lineage.edges"]["ours"] == "3"
    assert rows["lineage.edges.unspecified"]["ours"] == "3"
    for kind in ("finetune", "merge", "adapter", "quantized"):
        assert "untyped" in rows[f"lineage.edges.{kind}"]["verdict"], kind
        assert rows[f"lineage.edges.{kind}"]["ours"] == ""

    mixed = _lineage(["finetune", "merge", "unspecified", "unspecified"])
    rows = _verdicts(lineage_values(mixed.nodes, mixed.edges))
    assert rows["lineage.edges.merge"]["ours"] == "1"  # typed merges only
    assert "gives 3" in rows["lineage.edges.merge"]["definition"]  # 4 - 1 finetune
    assert rows["lineage.edges.unspecified"]["ours"] == "2"
    assert rows["lineage.edges.quantized"]["ours"] == "0"  # typed edges exist: a real zero


def test_drift_rows_without_edges_are_not_available():
    rates = pl.DataFrame({"trait": ["licenses"], "relation": ["all"], "variant": ["all"],
                          "mutation_rate": [None], "n_edges": [0]},
                         schema_overrides={"mutation_rate": pl.Float64})
    numeric = pl.DataFrame({
        "measure": ["card_length_chars"], "relation": ["all"], "variant": ["all"],
        "parent": [None], "child": [None], "difference": [None], "n_edges": [0]},
        schema_overrides={"parent": pl.Float64, "child": pl.Float64, "difference": pl.Float64})
    rows = _verdicts(drift_values(rates, numeric))
    assert rows["drift.mutation_rate.v1.licenses"]["verdict"] == (
        f"{NOT_AVAILABLE}: no edge of the all graph where parent and child both list licenses")
    for key in ("drift.card_length.edges", "drift.card_length.mean.parent"):
        assert rows[key]["verdict"].startswith(f"{NOT_AVAILABLE}: no edge where parent and "
                                               "child both have a card"), key


def test_ranks_only_for_values_in_the_order():
    rows = pl.DataFrame({
        "trait": ["licenses"], "variant": ["all"], "weighting": ["weighted"], "method": ["exact"],
        "rank": [1], "value": ["mit"], "arcs_consistent": [3], "arcs_total": [4],
        "arcs_share": [0.75], "mutations_share": [0.8]})
    verdicts = _verdicts(ordering_values(rows))
    assert verdicts["ordering.v1.licenses.weighted.rank.mit"]["ours"] == "1"
    ranks = [k for k in verdicts if k.startswith("ordering.v1.licenses.weighted.rank.")
             and k != "ordering.v1.licenses.weighted.rank.mit"]
    assert ranks
    for key in ranks:
        assert "takes part in no transition" in verdicts[key]["verdict"]
    # a trait without any order: every row of it says so
    languages = [k for k in verdicts if k.startswith("ordering.v1.languages.")]
    assert languages and all("no languages transition" in verdicts[k]["verdict"]
                             for k in languages)
    # top n chosen among all values: the definition says how it differs from the paper's
    by_models = _verdicts(ordering_values(rows, values_from="models"))
    assert "the paper: among values in at least one transition" in by_models[
        "ordering.v1.licenses.weighted.arcs.total"]["definition"]
