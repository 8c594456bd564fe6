"""One table of the orderings (or their agreement) from the per-trait parts."""

import polars as pl

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.orderings.order import TABLE_SCHEMAS


def main():
    schema = TABLE_SCHEMAS[snakemake.params.table]  # noqa: F821
    parts = [read_table(p, schema) for p in snakemake.input.parts]  # noqa: F821
    pl.concat(parts).write_csv(snakemake.output.table, float_precision=6)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
