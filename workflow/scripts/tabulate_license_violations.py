"""The most frequent violating license transitions."""

import polars as pl

from hubanatomy.licenses.audit import top_violations
from hubanatomy.logs import run_script


def main():
    verdicts = pl.read_parquet(snakemake.input.verdicts)
    top_violations(verdicts, snakemake.params.top_n).write_csv(snakemake.output.table)


run_script(snakemake, main)
