"""Edges, nodes and hygiene of the family trees."""

import polars as pl

from hubanatomy.lineage.build import LineageSettings, build_lineage, write_lineage
from hubanatomy.logs import run_script


def main():
    i = snakemake.input
    lineage = build_lineage(pl.read_parquet(i.models, columns=["model_id", "created_at"]),
                            pl.read_parquet(i.parents),
                            LineageSettings.from_config(snakemake.params.lineage),
                            renames=pl.read_parquet(i.renames))
    o = snakemake.output
    write_lineage(lineage, o.edges, o.nodes, o.hygiene, o.decisions)


run_script(snakemake, main)
