"""Our values of the paper's drift numbers, for the replication table."""

from hubanatomy.datafiles import read_table
from hubanatomy.drift.measures import MUTATION_SCHEMA, NUMERIC_SCHEMA
from hubanatomy.logs import run_script
from hubanatomy.replication import drift_values


def main():
    i = snakemake.input
    drift_values(read_table(i.mutation_rates, MUTATION_SCHEMA),
                 read_table(i.numeric_drift, NUMERIC_SCHEMA)).write_csv(
        snakemake.output.values, float_precision=10)


run_script(snakemake, main)
