"""The whole DAG on a small simulated Hub, twice: every target is built, the same config gives
the same bytes, and configuration mistakes stop the run with a message naming the key."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from hubanatomy.outputs import read_outputs, targets, wildcard_values

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
CI_PRESET = str(ROOT / "config" / "presets" / "ci.yaml")
# what a run of the CI preset must produce: the registry of outputs under the default config
# (the preset keeps its tree ranks; the arXiv lookup is off for simulated data)
_REGISTERED = targets(read_outputs(ROOT / "workflow" / "outputs.tsv"),
                      wildcard_values(yaml.safe_load((ROOT / "config" / "config.yaml")
                                                     .read_text())), {"arxiv": False})
FIGURES = [t for t in _REGISTERED if t.endswith(".png")]
TABLES = [t for t in _REGISTERED if not t.endswith(".png")] + ["results/lineage/decisions.csv"]
SNAPSHOT_SUMMARY = "results/tables/snapshot_summary.csv"

pytestmark = pytest.mark.workflow


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args], capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def two_runs(ci_run, tmp_path_factory):
    """The session's run of the ci preset (conftest.ci_run), and a second one from scratch."""
    workdir = tmp_path_factory.mktemp("second")
    result = _snakemake(workdir, "--cores", "2", "--configfile", CI_PRESET)
    assert result.returncode == 0, result.stderr[-3000:]
    return [ci_run, workdir]


def test_every_target_is_built(two_runs):
    workdir = two_runs[0]
    for target in [*TABLES, *FIGURES, *(f.replace(".png", ".pdf") for f in FIGURES)]:
        assert (workdir / target).stat().st_size > 0, target
    for name in ("models.parquet", "parents.parquet", "cards.parquet", "renames.parquet",
                 "manifest.json", "rejected.csv"):
        assert (workdir / "results" / "snapshot" / name).is_file()
    assert any((workdir / "results" / "logs").iterdir())
    assert any((workdir / "results" / "benchmarks").iterdir())


def test_same_config_same_bytes(two_runs):
    first, second = two_runs
    for target in [*TABLES, "results/snapshot/models.parquet", "results/snapshot/parents.parquet",
                   "results/snapshot/cards.parquet", "results/snapshot/manifest.json",
                   "results/sample/models.parquet", "results/lineage/nodes.parquet",
                   "results/lineage/edges.parquet", *FIGURES]:
        assert (first / target).read_bytes() == (second / target).read_bytes(), target


def test_replication_table_has_every_paper_number(two_runs):
    from hubanatomy.replication import COLUMNS, NOT_COMPARABLE, paper_numbers

    with open(two_runs[0] / "results" / "replication.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    assert [r["key"] for r in rows] == paper_numbers()["key"].to_list()
    verdicts = {r["key"]: r["verdict"] for r in rows}
    # the simulator: shares are checked against the paper, counts are not comparable
    assert verdicts["data.share_with_card"] in ("calibrated", "off-calibration")
    assert verdicts["data.models_total"] == "not comparable (simulated)"
    assert verdicts["lineage.edges"] == "not comparable (simulated)"
    assert verdicts["similarity.metadata.tfidf.siblings"] in ("calibrated", "off-calibration")
    assert verdicts["similarity.samples_per_configuration"] == NOT_COMPARABLE
    assert verdicts["drift.card_length.mean.parent"] in ("calibrated", "off-calibration")
    # ranks of the paper's orders: a count-like unit, not comparable on the simulator
    assert verdicts["ordering.v1.licenses.weighted.rank.gemma"] in (
        "not comparable (simulated)", "not yet computed")
    assert verdicts["ordering.v1.licenses.weighted.arcs.consistent_share"] in (
        "calibrated", "off-calibration")


def test_tests_table(two_runs):
    from hubanatomy.stats.inference import benjamini_hochberg
    from hubanatomy.stats.tables import TEST_COLUMNS

    tests = pl.read_csv(two_runs[0] / "results" / "tables" / "tests.csv")
    assert tests.columns == TEST_COLUMNS
    assert set(tests["test"]) == {"paired_difference", "relation_effect", "direction_share",
                                  "transition_directedness", "similarity_paired",
                                  "similarity_decline"}
    assert set(tests["variant"]) == {"all", "finetune", "finetune_adapter"}
    q = benjamini_hochberg(tests["p"].to_numpy())  # q is taken across the whole table
    assert np.allclose(tests["q"].fill_null(np.nan).to_numpy(), q, equal_nan=True)


def test_later_stages_read_the_family_sample(two_runs):
    import json

    workdir = two_runs[0]
    full = pl.read_parquet(workdir / "results" / "snapshot" / "models.parquet")
    sample = pl.read_parquet(workdir / "results" / "sample" / "models.parquet")
    manifest = json.loads((workdir / "results" / "sample" / "manifest.json").read_text())
    assert 0 < sample.height < full.height
    assert manifest["sample"]["families"] == 600
    nodes = pl.read_parquet(workdir / "results" / "lineage" / "nodes.parquet")
    assert nodes.filter(~pl.col("virtual")).height == sample.height
    summary = dict(pl.read_csv(workdir / SNAPSHOT_SUMMARY).select("metric", "value").iter_rows())
    assert int(summary["models"]) == sample.height
    # every family of the sample is whole: no model of the full snapshot outside the sample
    # declares a parent inside it, and the sample's families are the lineage's families
    parents = pl.read_parquet(workdir / "results" / "snapshot" / "parents.parquet")
    inside = sample["model_id"].implode()
    crossing = parents.filter(pl.col("parent_id").is_in(inside) & ~pl.col("child_id").is_in(
        inside))
    assert crossing.height == 0
    from hubanatomy.snapshot.files import describe

    assert "sample of 600" in describe(manifest)  # what every figure's footer says
    top = pl.read_csv(workdir / "results" / "tables" / "largest_families.csv")
    assert top["size"][0] > 1  # the big families are represented


def test_summary_numbers_agree_with_the_snapshot(two_runs):
    workdir = two_runs[0]
    models = pl.read_parquet(workdir / "results" / "sample" / "models.parquet")
    summary = dict(pl.read_csv(workdir / SNAPSHOT_SUMMARY).select("metric", "value").iter_rows())
    assert int(summary["models"]) == models.height
    top = pl.read_csv(workdir / "results/tables/top_tens.csv")
    licenses = top.filter(pl.col("panel") == "licenses").sort("rank")
    apache = models["licenses"].list.contains(licenses["value"][0]).sum()
    assert licenses["count"][0] == apache
    months = pl.read_csv(workdir / "results/tables/created_by_month.csv")
    assert months["models"].sum() == models["created_at"].is_not_null().sum()


def test_one_figure_alone(tmp_path):
    result = _snakemake(tmp_path, "results/figures/created_at_histogram.png", "--cores", "2",
                        "--configfile", CI_PRESET)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "results" / "figures" / "created_at_histogram.png").is_file()
    assert not (tmp_path / "results" / "figures" / "top_tens.png").exists()


def test_drift_calibration_runs_one_job_per_scenario_and_seed(ci_run):
    benchmarks = sorted(p.name for p in (ci_run / "results/benchmarks").glob("run_calib*"))
    assert benchmarks == [f"run_calibration_tests_{s}-seed{n}.tsv"
                          for s in ("directed", "neutral") for n in (1, 2)]
    table = pl.read_csv(ci_run / "results/tables/drift_calibration.csv")
    runs = table.filter(pl.col("seed").is_not_null())
    assert runs.select("scenario", "seed").rows() == [("directed", 1), ("directed", 2),
                                                      ("neutral", 1), ("neutral", 2)]
    directed = runs.filter(pl.col("scenario") == "directed")
    neutral = runs.filter(pl.col("scenario") == "neutral")
    # planted drifts are found even at this size; where nothing drifts, few tests are
    # significant and none of the planted ones in its planted direction
    assert (directed["planted_found"] > directed["planted_tests"] // 3).all()
    assert (neutral["planted_found"] == 0).all()
    assert (neutral["share_q_below_level"] <= 0.05).all()
    assert (directed["share_q_below_level"] > 0.1).all()


@pytest.mark.parametrize("override, expected", [
    ("bogus=1", "'bogus' was unexpected"),
    ("simulated={models: lots, seed: 1, scenario: directed}", "simulated']['models']"),
    ("archive={repo_id: no-slash, revision: null, endpoint: null}", "repo_id"),
    ("source=snapshot", "snapshot.path is not set"),
])
def test_config_mistakes_stop_the_run(tmp_path, override, expected):
    result = _snakemake(tmp_path, "--dry-run", "--config", override)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_config_file_mistakes_stop_the_run(tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text("simulated:\n  models: 100\n  seed: 1\n  scenario: sideways\n"
                      "summary:\n  top_n: 10\n  colour: red\n")
    result = _snakemake(tmp_path, "--dry-run", "--configfile", str(preset))
    assert result.returncode != 0
    assert "sideways" in result.stdout or "'colour' was unexpected" in result.stdout


def test_snapshot_source_reads_a_local_jsonl(tmp_path, real_data):
    import json

    models = pl.read_csv(real_data / "mistral-small-family" / "models.csv")
    raw = tmp_path / "family.jsonl"
    raw.write_text("\n".join(json.dumps(json.loads(m)) for m in models["metadata"]) + "\n")
    result = _snakemake(tmp_path, "--cores", "2", "--config", "source=snapshot",
                        f"snapshot={{path: {raw}}}", "--", "results/tables/snapshot_summary.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = dict(pl.read_csv(tmp_path / SNAPSHOT_SUMMARY).select("metric", "value").iter_rows())
    assert summary["models"] == "67"
    manifest = json.loads((tmp_path / "results/snapshot/manifest.json").read_text())
    assert manifest["source"]["kind"] == "snapshot"
    assert len(manifest["source"]["sha256"]) == 64
