"""Edges, nodes and hygiene of the family trees."""

from pathlib import Path

import polars as pl

from hubanatomy.lineage.build import LineageSettings, build_lineage, write_lineage
from hubanatomy.logs import run_script


def main():
    i = snakemake.input  # noqa: F821
    lineage = build_lineage(pl.read_parquet(i.models, columns=["model_id", "created_at"]),
                            pl.read_parquet(i.parents),
                            LineageSettings.from_config(snakemake.params.lineage),  # noqa: F821
                            renames=pl.read_parquet(i.renames))
    write_lineage(lineage, Path(snakemake.output.nodes).parent)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
