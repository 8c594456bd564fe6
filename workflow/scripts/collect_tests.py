"""results/tables/tests.csv: every test, with Benjamini-Hochberg q-values across the table."""

import polars as pl

from hubanatomy.drift import finalise_tests
from hubanatomy.logs import run_script


def main():
    parts = [pl.read_csv(p, infer_schema_length=None) for p in snakemake.input.parts]  # noqa: F821
    finalise_tests(parts).write_csv(snakemake.output.table, float_precision=8)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
