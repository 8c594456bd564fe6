"""Shared fixtures. The real Hub samples live outside the repository (never copied in)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
CI_PRESET = ROOT / "config" / "presets" / "ci.yaml"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real Hub samples (../shared/data/real); skip when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real Hub samples not found at {REAL_DATA} (outside this workplace)")
    return REAL_DATA


@pytest.fixture(scope="session")
def ci_run(tmp_path_factory) -> Path:
    """The working directory of one whole run of the ci preset (the simulator), built once per
    session for every test that reads the outputs of a whole run: a test that needs such a run
    reads this one rather than starting its own. Shared: read it, never write in it (copy it
    with shutil.copytree to build more on it)."""
    workdir = tmp_path_factory.mktemp("ci-run")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
         "--cores", "2", "--configfile", str(CI_PRESET)], capture_output=True, text=True,
        timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def simulated_lineage(root: Path, models: int, seed: int, scenario: str):
    """Simulate a Hub, normalise it, build its lineage and label its traits, in root/raw and
    root/snap: (lineage, traits, lineage settings), the inputs of the drift stages."""
    import polars as pl

    from hubanatomy.drift.labels import label_traits
    from hubanatomy.lineage.build import LineageSettings, build_lineage
    from hubanatomy.simulator import simulate
    from hubanatomy.snapshot.files import CARDS, MODELS
    from hubanatomy.snapshot.normalise import normalise, source_record

    simulate(models, seed, scenario, root / "raw")
    normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
    settings = LineageSettings()
    lineage = build_lineage(
        pl.read_parquet(root / "snap" / "models.parquet", columns=["model_id", "created_at"]),
        pl.read_parquet(root / "snap" / "parents.parquet"), settings,
        pl.read_parquet(root / "snap" / "renames.parquet"))
    return lineage, label_traits(root / "snap" / MODELS, root / "snap" / CARDS), settings
