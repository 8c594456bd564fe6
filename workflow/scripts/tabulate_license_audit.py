"""Violation rates by parent license, relation and quarter."""

import polars as pl

from hubanatomy.licenses.audit import audit_table
from hubanatomy.logs import run_script


def main():
    p = snakemake.params
    audit_table(pl.read_parquet(snakemake.input.verdicts), p.replicates, p.seed).write_csv(
        snakemake.output.table, float_precision=6)


run_script(snakemake, main)
