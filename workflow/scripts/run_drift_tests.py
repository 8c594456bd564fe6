"""Paired, relation and direction tests of the drifts (p-values)."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.measures import drift_tests
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    frames = split_variants(pl.read_parquet(snakemake.input.edges),
                            snakemake.params.variants)
    drift_tests(frames, p.replicates, p.seed).write_csv(snakemake.output.tests)


run_script(snakemake, main)
