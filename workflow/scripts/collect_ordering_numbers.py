"""Our values of the paper's ordering numbers, for the replication table."""

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.orderings import ORDERING_SCHEMA
from hubanatomy.replication import ordering_values


def main():
    orderings = read_table(snakemake.input.orderings, ORDERING_SCHEMA)  # noqa: F821
    ordering_values(orderings).write_csv(snakemake.output.values,  # noqa: F821
                                         float_precision=10)


run_script(snakemake, main)  # noqa: F821
