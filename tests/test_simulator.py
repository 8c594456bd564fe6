"""The ecosystem simulator: raw Hub shapes, determinism, calibration, planted effects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from hubanatomy.cli import main as cli_main
from hubanatomy.simulator import simulate
from hubanatomy.simulator.calibration import Calibration
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.normalise import normalise, source_record

N = 30_000  # enough edges that change license (about 150) in the neutral run
PAPER_RELATION_MIX = {"finetune": 0.330, "adapter": 0.421, "quantized": 0.178, "merge": 0.071}


def _build(tmp_path_factory, scenario: str, seed: int = 11):
    root = tmp_path_factory.mktemp(f"sim-{scenario}")
    truth = simulate(N, seed, scenario, root / "raw", chunk=12_000)
    normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
    return root, truth


@pytest.fixture(scope="module")
def directed(tmp_path_factory):
    return _build(tmp_path_factory, "directed")


@pytest.fixture(scope="module")
def neutral(tmp_path_factory):
    return _build(tmp_path_factory, "neutral")


def _edges(root: Path) -> pl.DataFrame:
    """True parent -> child edges (primary parent only) with both sides' traits."""
    truth = pl.read_parquet(root / "raw" / raw.TRUTH_NODES)
    models = pl.read_parquet(root / "snap" / "models.parquet",
                             columns=["model_id", "licenses", "languages", "pipeline_tag"])
    cards = pl.read_parquet(root / "snap" / "cards.parquet",
                            columns=["model_id", "length_chars", "auto_generated", "status"])
    nodes = models.join(cards, on="model_id")
    edges = (truth.filter(pl.col("parent_ids").list.len() > 0)
             .select(pl.col("model_id").alias("child"),
                     pl.col("parent_ids").list.first().alias("parent"), "relation"))
    return (edges.join(nodes.rename(lambda c: f"p_{c}"), left_on="parent", right_on="p_model_id")
            .join(nodes.rename(lambda c: f"c_{c}"), left_on="child", right_on="c_model_id"))


def test_raw_layout_and_list_api_shape(directed, real_data):
    root, _ = directed
    files = raw.model_files(root / "raw")
    assert len(files) == 3  # 30,000 models in chunks of 12,000
    assert len(raw.card_files(root / "raw")) == 3
    first = json.loads(files[0].read_text().splitlines()[0])
    # every key we write is one the Hub's own model JSON has (the recorded real response),
    # plus trendingScore, which list pages carry
    cassette = yaml.safe_load((real_data / "api-responses" /
                               "InferenceApiTest.test_simple_inference.yaml").read_text())
    real = json.loads(cassette["interactions"][1]["response"]["body"]["string"])
    assert set(first) <= set(real) | {"trendingScore"}
    for key in ("_id", "id", "modelId", "tags", "downloads", "likes", "createdAt", "siblings"):
        assert type(first[key]) is type(real[key]), key
    assert len(first["_id"]) == 24 and len(first["sha"]) == 40
    assert first["createdAt"].endswith("Z") and first["createdAt"][10] == "T"
    assert all(set(s) == {"rfilename"} for s in first["siblings"])


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = simulate(600, 5, "directed", tmp_path / "a")
    b = simulate(600, 5, "directed", tmp_path / "b")
    simulate(600, 6, "directed", tmp_path / "c")
    assert a == b
    for name in ("models/part-00000.jsonl", "cards/part-00000.jsonl", "ground_truth.json",
                 "truth.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert ((tmp_path / "a" / "models/part-00000.jsonl").read_bytes()
            != (tmp_path / "c" / "models/part-00000.jsonl").read_bytes())


def test_relation_mix_children_and_generations(directed):
    _, truth = directed
    counts = truth["counts"]
    edges = counts["edges"]
    for relation, share in PAPER_RELATION_MIX.items():
        assert abs(counts["edges_by_relation"][relation] / edges - share) < 0.06, relation
    assert 0.25 < counts["children"] / N < 0.36  # about a third of models have parents
    assert len(counts["generations"]) >= 4  # several generations
    merges = pl.read_parquet(directed[0] / "raw" / raw.TRUTH_NODES).filter(
        pl.col("relation") == "merge")
    assert (merges["parent_ids"].list.len() >= 2).mean() > 0.8  # merges have several parents


def test_family_sizes_are_heavy_tailed(directed):
    truth = pl.read_parquet(directed[0] / "raw" / raw.TRUTH_NODES)
    sizes = truth.group_by("family_root_id").len()["len"]
    assert (sizes <= 3).mean() > 0.9  # most families have 1-3 models
    assert sizes.max() > 100 * sizes.median()  # a few are huge
    assert sizes.max() > 0.01 * N


def test_marginals_close_to_the_paper(directed):
    root, _ = directed
    models = pl.read_parquet(root / "snap" / "models.parquet")
    cards = pl.read_parquet(root / "snap" / "cards.parquet")
    assert 0.60 < (cards["length_chars"] > 3).mean() < 0.74  # paper: 67.04% have a card
    licenses = models["licenses"].explode().drop_nulls().value_counts(sort=True)
    assert licenses["licenses"][0] == "apache-2.0"
    assert 0.10 < licenses["count"][0] / N < 0.22  # paper: 16.04%
    tasks = models["pipeline_tag"].drop_nulls().value_counts(sort=True)
    assert tasks["pipeline_tag"][0] == "text-generation"
    listing = models.filter(pl.col("languages").list.len() > 0)
    english = listing["languages"].list.contains("en").mean()
    assert 0.75 < english < 0.93  # paper: 85.56% of models listing a language
    libraries = models["library_name"].drop_nulls().value_counts(sort=True)
    assert libraries["library_name"][0] == "transformers"
    downloads = models["downloads"].to_numpy()
    assert (downloads == 0).mean() > 0.2 and downloads.max() > 1000 * np.median(downloads + 1)
    created = models["created_at"]
    by_year = created.dt.year().value_counts().sort("created_at")
    assert by_year["count"].to_list()[-2] > 2 * by_year["count"].to_list()[0]  # growth


def test_directed_licenses_and_tasks_move_forward(directed, neutral):
    order = {name: i for i, name in enumerate(Calibration.default().license_order)}
    tasks = {name: i for i, name in enumerate(Calibration.default().tasks)}

    def forward_share(root, column, rank):
        e = _edges(root)
        if column == "licenses":
            e = e.with_columns(p=pl.col("p_licenses").list.first(),
                               c=pl.col("c_licenses").list.first())
        else:
            e = e.with_columns(p=pl.col("p_pipeline_tag"), c=pl.col("c_pipeline_tag"))
        e = e.filter(pl.col("p").is_in(list(rank)) & pl.col("c").is_in(list(rank))
                     & (pl.col("p") != pl.col("c")))
        ranks = e.select(pl.col("p").replace_strict(rank), pl.col("c").replace_strict(rank))
        return (ranks["c"] > ranks["p"]).mean(), e.height

    share, n = forward_share(directed[0], "licenses", order)
    assert n > 100 and share > 0.8
    share, n = forward_share(neutral[0], "licenses", order)
    assert n > 100 and 0.3 < share < 0.7
    assert forward_share(directed[0], "tasks", tasks)[0] > 0.8
    assert 0.25 < forward_share(neutral[0], "tasks", tasks)[0] < 0.75


def test_directed_languages_drift_to_english_only(directed, neutral):
    def means(root):
        e = _edges(root).filter((pl.col("p_languages").list.len() > 0)
                                & (pl.col("c_languages").list.len() > 0))
        return (e["p_languages"].list.len().mean(), e["c_languages"].list.len().mean(),
                e.filter(pl.col("p_languages").list.len() > 1)["c_languages"]
                .list.len().eq(1).mean())

    parent, child, single = means(directed[0])
    assert child < 0.6 * parent and single > 0.6
    parent, child, _ = means(neutral[0])
    assert 0.8 < child / parent < 1.25


def test_directed_cards_shorter_and_auto_generated(directed, neutral):
    def stats(root):
        e = _edges(root).filter((pl.col("p_status") == "ok") & (pl.col("c_status") == "ok"))
        return (e["c_length_chars"].mean() / e["p_length_chars"].mean(),
                e["c_auto_generated"].mean() - e["p_auto_generated"].mean())

    ratio, auto = stats(directed[0])
    assert ratio < 0.7 and auto > 0.15
    ratio, auto = stats(neutral[0])
    assert 0.8 < ratio < 1.25 and abs(auto) < 0.05


def test_siblings_change_in_a_shared_direction(directed, neutral):
    def agreement(root):
        e = _edges(root).with_columns(p=pl.col("p_licenses").list.first(),
                                      c=pl.col("c_licenses").list.first())
        changed = e.filter(pl.col("p").is_not_null() & pl.col("c").is_not_null()
                           & (pl.col("p") != pl.col("c")))
        pairs = changed.join(changed, on="parent", suffix="_b").filter(
            pl.col("child") < pl.col("child_b"))
        # each parent one vote: pairs grow with the square of a family, so one big family
        # would otherwise decide
        per_parent = pairs.group_by("parent").agg((pl.col("c") == pl.col("c_b")).mean())
        return per_parent["c"].mean(), per_parent.height

    shared, n = agreement(directed[0])
    assert n > 30
    assert shared > agreement(neutral[0])[0] + 0.2


def test_auto_generated_cards_name_the_parent_and_cards_have_front_matter(directed):
    root, _ = directed
    truth = pl.read_parquet(root / "raw" / raw.TRUTH_NODES)
    cards = pl.read_parquet(root / "snap" / "cards.parquet").join(
        truth.select("model_id", "parent_ids"), on="model_id")
    auto = cards.filter(pl.col("auto_generated") & (pl.col("parent_ids").list.len() > 0))
    assert auto.height > 100
    named = auto.select(pl.col("card").str.contains(pl.col("parent_ids").list.first(),
                                                    literal=True)).to_series()
    assert named.mean() > 0.95  # hidden-case quirks aside, the template names the parent
    ok = cards.filter(pl.col("status") == "ok")
    starts = ok["card"].str.starts_with("---\n").mean()
    assert starts > 0.99
    sample = ok["card"].head(200).to_list()
    parsed = 0
    for card in sample:
        head, sep, _ = card[4:].partition("\n---\n")
        if sep:
            assert isinstance(yaml.safe_load(head), dict)
            parsed += 1
    assert parsed > 190
    hand = ok.filter(~pl.col("auto_generated"))["length_chars"]
    assert hand.median() > 1000 and hand.quantile(0.99) > 5 * hand.median()


def test_quirks_are_planted_and_recorded(directed):
    root, truth = directed
    quirks = truth["quirks"]
    parents = pl.read_parquet(root / "snap" / "parents.parquet")
    ids = pl.read_parquet(root / "snap" / "models.parquet", columns=["model_id"])["model_id"]
    absent = parents.filter(~pl.col("parent_id").is_in(ids.implode()))
    assert quirks["hidden_parents"] > 0
    assert absent["child_id"].n_unique() >= quirks["children_of_hidden_parents"]
    self_loops = parents.filter(pl.col("child_id") == pl.col("parent_id"))
    assert self_loops["child_id"].n_unique() == quirks["self_loops"]
    unspecified = parents.filter(pl.col("relation") == "unspecified")["child_id"].n_unique()
    assert unspecified >= quirks["generic_parent_tag_only"] > 0
    assert truth["models_written"] == len(ids) == N - quirks["hidden_parents"]


def test_neutral_keeps_the_marginals(directed, neutral):
    def shares(root):
        cards = pl.read_parquet(root / "snap" / "cards.parquet")
        models = pl.read_parquet(root / "snap" / "models.parquet")
        return {"card": (cards["length_chars"] > 3).mean(),
                "license": (models["licenses"].list.len() > 0).mean(),
                "text-generation": (models["pipeline_tag"] == "text-generation").mean()}

    a, b = shares(directed[0]), shares(neutral[0])
    for key in a:
        assert abs(a[key] - b[key]) < 0.1, key


def test_cli_simulate(tmp_path, capsys):
    assert cli_main(["simulate", "--models", "300", "--seed", "2", "--out",
                     str(tmp_path / "sim")]) == 0
    assert json.loads(capsys.readouterr().out)["edges"] > 0
    assert (tmp_path / "sim" / raw.GROUND_TRUTH).is_file()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scenario"):
        simulate(100, 1, "sideways", tmp_path)
    with pytest.raises(ValueError, match="at least 10"):
        simulate(5, 1, "directed", tmp_path)
