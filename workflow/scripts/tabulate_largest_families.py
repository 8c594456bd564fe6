"""The largest families of the configured graph variant."""

import polars as pl

from hubanatomy.lineage.tables import families
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    nodes = pl.read_parquet(snakemake.input.nodes)
    families(nodes, p.variant).head(p.top_n).write_csv(snakemake.output.table)


run_script(snakemake, main)
