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
