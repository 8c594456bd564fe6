"""Our values of the paper's ordering numbers, for the replication table."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.replication import ordering_values


def main():
    orderings = pl.read_csv(snakemake.input.orderings, infer_schema_length=None)  # noqa: F821
    ordering_values(orderings).write_csv(snakemake.output.values,  # noqa: F821
                                         float_precision=10)


run_script(snakemake, main)  # noqa: F821
