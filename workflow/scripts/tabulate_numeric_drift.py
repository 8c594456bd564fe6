"""Parent vs child card length, P(auto-generated), P(has card), languages."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.measures import numeric_drift
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    frames = split_variants(pl.read_parquet(snakemake.input.edges),
                            snakemake.params.variants)
    numeric_drift(frames, p.replicates, p.seed).write_csv(
        snakemake.output.table, float_precision=6)


run_script(snakemake, main)
