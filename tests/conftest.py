"""Shared fixtures. The real Hub samples live outside the repository (never copied in)."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real Hub samples (../shared/data/real); skip when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real Hub samples not found at {REAL_DATA} (outside this workplace)")
    return REAL_DATA


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
