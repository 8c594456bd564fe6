"""Our values of the paper's drift numbers, for the replication table."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.replication import drift_values


def main():
    i = snakemake.input  # noqa: F821
    drift_values(pl.read_csv(i.mutation_rates), pl.read_csv(i.numeric_drift)).write_csv(
        snakemake.output.values, float_precision=10)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
