"""Card length and P(auto-generated), parent vs child, by relation."""

from hubanatomy.datafiles import read_table
from hubanatomy.drift.measures import NUMERIC_SCHEMA
from hubanatomy.drift.plots import plot_card_length_drift
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    plot_card_length_drift(read_table(i.table, NUMERIC_SCHEMA), snakemake.params.variant,
                           read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
