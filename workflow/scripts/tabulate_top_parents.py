"""Models with most direct children."""

import polars as pl

from hubanatomy.lineage.tables import top_parents
from hubanatomy.logs import run_script


def main():
    nodes = pl.read_parquet(snakemake.input.nodes)
    top_parents(nodes, snakemake.params.top_n).write_csv(snakemake.output.table)


run_script(snakemake, main)
