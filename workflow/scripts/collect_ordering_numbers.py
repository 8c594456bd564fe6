"""Our values of the paper's ordering numbers, for the replication table."""

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.orderings.order import ORDERING_SCHEMA
from hubanatomy.replication import ordering_values


def main():
    orderings = read_table(snakemake.input.orderings, ORDERING_SCHEMA)
    ordering_values(orderings, snakemake.params.values_from).write_csv(
        snakemake.output.values, float_precision=10)


run_script(snakemake, main)
