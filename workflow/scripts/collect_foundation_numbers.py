"""Our values of the paper's data counts and summary shares, for the replication table."""

from hubanatomy.logs import run_script
from hubanatomy.replication import foundation_values


def main():
    i = snakemake.input
    foundation_values(i.models, i.cards).write_csv(snakemake.output.values,
                                                   float_precision=10)


run_script(snakemake, main)
