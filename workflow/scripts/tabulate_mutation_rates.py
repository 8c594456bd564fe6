"""Mutation rates (mean parent-child Jaccard distance) with family-bootstrap intervals."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.measures import mutation_rates
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    frames = split_variants(pl.read_parquet(snakemake.input.edges),
                            snakemake.params.variants)
    mutation_rates(frames, p.replicates, p.seed).write_csv(
        snakemake.output.table, float_precision=6)


run_script(snakemake, main)
