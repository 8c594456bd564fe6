"""Cumulative size over time of the largest families."""

import polars as pl

from hubanatomy.lineage.tables import largest_families_over_time
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    nodes = pl.read_parquet(snakemake.input.nodes)
    largest_families_over_time(nodes, p.variant, p.top_n).write_csv(
        snakemake.output.table)


run_script(snakemake, main)
