"""Paired, relation and direction tests of the drifts (p-values)."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.measures import drift_tests
from hubanatomy.logs import run_script


def main():
    p = snakemake.params  # noqa: F821
    frames = split_variants(pl.read_parquet(snakemake.input.edges),  # noqa: F821
                            snakemake.params.variants)  # noqa: F821
    drift_tests(frames, p.replicates, p.seed).write_csv(snakemake.output.tests)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
