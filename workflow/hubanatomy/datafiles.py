"""The project's data files (workflow/hubanatomy/data/), and the workflow's CSV tables, each
read the one way."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import polars as pl

from hubanatomy.errors import InputError


def read_data_csv(name: str, **kwargs) -> pl.DataFrame:
    path = resources.files("hubanatomy").joinpath("data", name)
    with resources.as_file(path) as p:
        return pl.read_csv(p, **kwargs)


def read_table(path: str | Path, schema: dict) -> pl.DataFrame:
    """A table the workflow wrote, read with the schema of the function that wrote it: a table
    without rows keeps its columns and types (inference would make every column a string, or
    fail on a file with no header at all)."""
    with open(path, newline="") as handle:
        header = handle.readline().rstrip("\r\n").split(",")
    if header != list(schema):
        raise InputError(f"{path}: columns {header} are not the expected {list(schema)}; "
                         "the file was written by another version: delete it to rebuild it")
    return pl.read_csv(path, schema=schema)


def empty_table(schema: dict) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
