"""Models per generation in every graph variant."""

import polars as pl

from hubanatomy.lineage.tables import generation_distribution
from hubanatomy.logs import run_script


def main():
    nodes = pl.read_parquet(snakemake.input.nodes)
    generation_distribution(nodes, snakemake.params.variants).write_csv(
        snakemake.output.table)


run_script(snakemake, main)
