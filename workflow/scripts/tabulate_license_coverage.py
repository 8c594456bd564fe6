"""Every license tag seen and its class (unknown tags land in other-unknown)."""

import polars as pl

from hubanatomy.drift.labels import license_coverage
from hubanatomy.logs import run_script


def main():
    traits = pl.read_parquet(snakemake.input.traits)
    license_coverage(traits).write_csv(snakemake.output.table)


run_script(snakemake, main)
