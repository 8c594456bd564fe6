"""The whole DAG on real Hub samples, each assembled into a snapshot (tests/real_samples.py), with
the quick preset: every shape runs to the end, the counts known of each sample come out, tables
that have nothing to hold keep their header, and what could not be computed is said in the log,
on the canvas and in the replication table.

The samples live outside the repository (../shared/data/real, or HUBANATOMY_REAL_SAMPLES);
without them these tests skip and say so."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from real_samples import write_sample
from test_workflow import FIGURES, TABLES

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("HUBANATOMY_REAL_SAMPLES", ROOT.parent / "shared" / "data" / "real"))
QUICK = ROOT / "config" / "presets" / "quick.yaml"

pytestmark = [pytest.mark.workflow, pytest.mark.skipif(
    not (REAL / "smollm2-family" / "graph.json").is_file(),
    reason=f"the real Hub samples are not at {REAL} (set HUBANATOMY_REAL_SAMPLES to their folder)")]

SHAPES = ["mistral_small", "ten_models", "no_edges", "smollm2", "smollm2_generic", "textgen"]


# the directionality sweep runs on simulated Hubs of its own (results/sweep/{run}/): its jobs
# read nothing of the snapshot, their params are the preset's similarity keys (the same for
# every shape), and the same config gives the same bytes (test_workflow.py), so its runs and
# table are the same whatever the sample
SWEEP = ("sweep", "tables/directionality_sweep.csv")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each shape's workdir after one run of the whole DAG, built on first use. The first run
    computes the directionality sweep; the later ones start with its runs and table copied
    into their results, which Snakemake keeps (nothing they read is newer), instead of
    recomputing them; the sweep figure is still drawn from it in every run."""
    done = {}

    def run(shape: str) -> Path:
        if shape not in done:
            base = tmp_path_factory.mktemp(shape)
            raw = write_sample(REAL, shape, base / "raw")
            if done:
                first = next(iter(done.values()))
                for name in SWEEP:   # copies keep their times: older than what reads them
                    target = base / "run" / "results" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if (first / name).is_dir():
                        shutil.copytree(first / name, target)
                    else:
                        shutil.copy2(first / name, target)
            result = subprocess.run(
                [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d",
                 str(base / "run"), "--cores", "2", "--configfile", str(QUICK),
                 "--config", f"snapshot={{path: {raw}}}"],
                capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, (shape, result.stderr[-4000:])
            done[shape] = base / "run" / "results"
        return done[shape]
    return run


def _hygiene(results: Path) -> dict:
    return json.loads((results / "lineage" / "hygiene.json").read_text())["counts"]


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _edges_by_relation(results: Path) -> dict[str, int]:
    return {r["relation"]: int(r["edges"])
            for r in _csv(results / "tables" / "lineage_edges_by_relation.csv")}


def _generations(results: Path, variant: str = "all") -> list[int]:
    rows = [r for r in _csv(results / "tables" / "generation_distribution.csv")
            if r["variant"] == variant]
    return [int(r["models"]) for r in sorted(rows, key=lambda r: int(r["generation"]))]


def _textgen_components() -> tuple[int, int]:
    """Weakly connected components of the textgen edge list, with and without its self-loops
    counted as components (union-find, independent of the lineage code)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    loops = set()
    for row in _csv(REAL / "textgen-lineage" / "edges.csv"):
        parent[find(row["source"])] = find(row["target"])
        if row["source"] == row["target"]:
            loops.add(row["source"])
    sizes: dict[str, int] = {}
    for node in list(parent):
        sizes[find(node)] = sizes.get(find(node), 0) + 1
    loop_only = sum(1 for node in loops if sizes[find(node)] == 1)
    return len(sizes), len(sizes) - loop_only


def _warnings(results: Path) -> str:
    return "\n".join(line for log in sorted((results / "logs").glob("*.log"))
                     for line in log.read_text().splitlines() if " WARNING " in line)


def _replication(results: Path) -> dict[str, dict]:
    return {r["key"]: r for r in _csv(results / "replication.csv")}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_output_is_written_with_its_header(runs, shape):
    results = runs(shape)
    for table in TABLES:
        header = (results.parent / table).read_text().splitlines()[:1]
        assert header and "," in header[0] or table.endswith(".json"), table
    for figure in FIGURES:
        assert (results.parent / figure).stat().st_size > 0, figure
        assert (results.parent / figure.replace(".png", ".pdf")).stat().st_size > 0, figure


def test_mistral_small_family(runs):
    results = runs("mistral_small")
    assert _hygiene(results)["models"] == 67
    assert _edges_by_relation(results)["finetune"] == 66
    assert _edges_by_relation(results)["total"] == 66
    assert _generations(results) == [1, 22, 36, 8]
    families = _csv(results / "tables" / "largest_families.csv")
    assert (families[0]["size"], families[0]["family_root"]) == (
        "67", "mistralai/Mistral-Small-24B-Base-2501")
    # full records carry licenses: the audit has edges to judge
    audit = pl.read_csv(results / "tables" / "license_audit.csv")
    assert audit.height > 0


def test_smollm2_family_typed(runs):
    results = runs("smollm2")
    counts = _hygiene(results)
    assert counts["models"] == 1042
    edges = _edges_by_relation(results)
    assert (edges["adapter"], edges["finetune"], edges["quantized"], edges["total"]) == (
        522, 282, 237, 1041)
    gens = _generations(results)
    assert len(gens) <= 5 and sum(gens) == 1042
    sizes = pl.read_csv(results / "tables" / "family_size_distribution.csv").filter(
        pl.col("variant") == "all")
    assert sizes.select("size", "families").rows() == [(1042, 1)]  # one family, all of it


def test_smollm2_generic_tags_only(runs):
    """The same graph with only `base_model:<id>` tags: every edge is unspecified, nothing typed
    can be measured, and the replication table says so instead of comparing zeros."""
    results = runs("smollm2_generic")
    edges = _edges_by_relation(results)
    assert edges["unspecified"] == 1041 and edges["total"] == 1041
    assert edges["finetune"] == 0
    rows = _replication(results)
    assert rows["lineage.edges"]["ours"] == "1041"
    unavailable = [k for k, r in rows.items() if r["verdict"].startswith("not available")]
    assert "lineage.edges.finetune" in unavailable
    assert "untyped" in rows["lineage.edges.finetune"]["verdict"]
    # no fine-tune edge: the metadata diff says why on its canvas and in the log
    assert "metadata_diff.png: nothing to draw: no fine-tune edge" in _warnings(results)


def test_summary_parents_panel_counts_what_top_parents_counts(runs):
    results = runs("textgen")
    panel = [(r["value"], r["count"]) for r in _csv(results / "tables" / "top_tens.csv")
             if r["panel"] == "parents"]
    top = [(r["model_id"], r["children"]) for r in _csv(results / "tables" / "top_parents.csv")]
    assert panel and panel == top[:len(panel)]


def test_textgen_lineage(runs):
    results = runs("textgen")
    counts = _hygiene(results)
    assert counts["declared_rows"] == 30383
    assert counts["self_loops_removed"] == 42
    assert counts["edges"] == 30383 - 42
    assert counts["multi_parent_children_declared"] == 1063
    edges = _edges_by_relation(results)
    # the sample's relation counts, less its self-loops
    assert edges["finetune"] + edges["quantized"] + edges["merge"] + edges["adapter"] == 30341
    assert edges["adapter"] == 294
    families = pl.read_csv(results / "tables" / "family_size_distribution.csv")
    everything = families.filter(pl.col("variant") == "all")
    with_loops, without_loops = _textgen_components()
    assert with_loops == 2304  # the sample's documented count (self-loops included)
    # a model whose only edge is a self-loop is a family of one once the loop is removed
    assert everything.filter(pl.col("size") > 1)["families"].sum() == without_loops
    assert everything["size"].max() == 6695
    # 15 of the 48 raw cards belong to this population; the rest were never fetched
    summary = {r["metric"]: r["value"] for r in _csv(results / "tables" / "snapshot_summary.csv")}
    assert summary["models_with_card"] == "15"
    assert int(summary["card_status_not_fetched"]) == int(summary["models"]) - 15


def test_no_edges_at_all(runs):
    results = runs("no_edges")
    assert _edges_by_relation(results)["total"] == 0
    assert _generations(results) == [67]
    for trait in ("licenses", "languages", "tasks", "libraries"):
        table = pl.read_csv(results / "tables" / f"transitions_{trait}.csv")
        assert table.height == 0
    rows = _replication(results)
    assert rows["drift.mutation_rate.v1.licenses"]["verdict"].startswith("not available")
    warnings = _warnings(results)
    for figure in ("metadata_diff", "license_audit", "card_length_drift", "language_drift",
                   "transitions_licenses", "similarity_metadata_tfidf"):
        assert f"{figure}.png: nothing to draw" in warnings, figure


def test_ten_models(runs):
    results = runs("ten_models")
    assert _hygiene(results)["models"] == 10
    rows = _replication(results)
    assert rows["data.models_total"]["ours"] == "10"
    assert rows["data.models_total"]["verdict"] == "differs"
