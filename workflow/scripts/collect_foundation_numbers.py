"""Our values of the paper's data counts and summary shares, for the replication table."""

from hubanatomy.logs import run_script
from hubanatomy.replication import foundation_values


def main():
    i = snakemake.input  # noqa: F821
    foundation_values(i.models, i.cards).write_csv(snakemake.output.values,  # noqa: F821
                                                   float_precision=10)


run_script(snakemake, main)  # noqa: F821
