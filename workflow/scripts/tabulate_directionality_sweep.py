"""The directionality sweep's table: its runs' rows in the order of the runs."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.sweep import SWEEP_SCHEMA


def main():
    runs = [pl.read_parquet(path).cast(SWEEP_SCHEMA) for path in snakemake.input.runs]
    pl.concat(runs).write_csv(snakemake.output.table, float_precision=6)


run_script(snakemake, main)
