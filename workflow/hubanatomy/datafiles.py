"""The project's data files (workflow/hubanatomy/data/), read the one way."""

from __future__ import annotations

from importlib import resources

import polars as pl


def read_data_csv(name: str, **kwargs) -> pl.DataFrame:
    path = resources.files("hubanatomy").joinpath("data", name)
    with resources.as_file(path) as p:
        return pl.read_csv(p, **kwargs)
