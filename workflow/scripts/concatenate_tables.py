"""One table of the orderings (or their agreement) from the per-trait parts."""

import polars as pl

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.orderings.order import TABLE_SCHEMAS


def main():
    schema = TABLE_SCHEMAS[snakemake.params.table]
    parts = [read_table(p, schema) for p in snakemake.input.parts]
    pl.concat(parts).write_csv(snakemake.output.table, float_precision=6)


run_script(snakemake, main)
