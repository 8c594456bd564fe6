"""Headline counts of the snapshot."""

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import snapshot_summary


def main():
    i = snakemake.input
    snapshot_summary(i.models, i.parents, i.cards).write_csv(snakemake.output.table)


run_script(snakemake, main)
