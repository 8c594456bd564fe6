"""Sampling whole families, stratified by size."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.lineage.sample import sample_snapshot, stratified_families
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.files import snapshot_files
from hubanatomy.snapshot.normalise import normalise, source_record

PRECEDENCE = ("merge", "adapter", "quantized", "finetune", "unspecified")


def test_every_size_class_is_represented():
    sizes = np.array([1] * 5000 + [2] * 400 + [5] * 80 + [40] * 9 + [3000])
    chosen = stratified_families(sizes, 20, seed=1)
    assert len(chosen) == 20 and len(set(chosen)) == 20
    classes = np.floor(np.log2(sizes[chosen]))
    assert set(classes) == {0, 1, 2, 5, 11}  # the one huge family is always in
    assert 3000 in sizes[chosen]


def test_small_classes_give_their_share_to_the_others():
    sizes = np.array([1] * 100 + [16] * 2)
    chosen = stratified_families(sizes, 10, seed=1)
    assert (sizes[chosen] == 16).sum() == 2 and (sizes[chosen] == 1).sum() == 8


def test_all_families_when_asking_for_more_and_seeded():
    sizes = np.array([1, 1, 2, 3, 8])
    assert list(stratified_families(sizes, 50, seed=4)) == [0, 1, 2, 3, 4]
    many = np.ones(1000)
    assert (stratified_families(many, 10, seed=2) == stratified_families(many, 10, seed=2)).all()
    assert (stratified_families(many, 10, seed=2) != stratified_families(many, 10, seed=3)).any()


@pytest.fixture(scope="module")
def simulated_snapshot(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    simulate(8000, 21, "directed", root / "raw")
    normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
    return root


def test_sample_keeps_whole_families(simulated_snapshot):
    root = simulated_snapshot
    manifest = sample_snapshot(snapshot_files(root / "snap"), snapshot_files(root / "sample"),
                               150, 5, PRECEDENCE)
    assert manifest["sample"]["families"] == 150
    full = build_lineage(pl.read_parquet(root / "snap" / "models.parquet"),
                         pl.read_parquet(root / "snap" / "parents.parquet"), LineageSettings())
    sample_models = pl.read_parquet(root / "sample" / "models.parquet")
    kept = full.nodes.filter(pl.col("model_id").is_in(sample_models["model_id"].implode()))
    # a family is in the sample with all its models, or not at all
    in_sample = kept.group_by("family_all").len()
    whole = full.nodes.filter(~pl.col("virtual")).group_by("family_all").len()
    joined = in_sample.join(whole, on="family_all", suffix="_full")
    assert (joined["len"] == joined["len_full"]).all()
    assert joined.height == 150
    # the sample is a valid snapshot for every later stage
    sampled = build_lineage(sample_models, pl.read_parquet(root / "sample" / "parents.parquet"),
                            LineageSettings())
    assert sampled.hygiene["variants"]["all"]["families"] == 150
    cards = pl.read_parquet(root / "sample" / "cards.parquet")
    assert cards.height == sample_models.height
    written = json.loads((root / "sample" / "manifest.json").read_text())
    assert written["rows"]["models"] == sample_models.height
    assert written["source"]["kind"] == "simulated"
