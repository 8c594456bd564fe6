"""Family size distribution of every graph variant."""

import polars as pl

from hubanatomy.lineage.tables import family_size_distribution
from hubanatomy.logs import run_script


def main():
    nodes = pl.read_parquet(snakemake.input.nodes)
    family_size_distribution(nodes, snakemake.params.variants).write_csv(
        snakemake.output.table, float_precision=8)


run_script(snakemake, main)
