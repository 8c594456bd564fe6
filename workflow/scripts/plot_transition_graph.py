"""A trait's transition graph drawn in its optimal order."""

import polars as pl

from hubanatomy.datafiles import read_table
from hubanatomy.drift.measures import TRANSITIONS_SCHEMA
from hubanatomy.logs import run_script
from hubanatomy.orderings.order import ORDERING_SCHEMA
from hubanatomy.orderings.plots import plot_transition_graph
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    variant = snakemake.params.variant
    order = read_table(i.order, ORDERING_SCHEMA).filter(
        (pl.col("variant") == variant) & (pl.col("weighting") == "weighted")
        & (pl.col("method") == "exact"))
    transitions = read_table(i.transitions, TRANSITIONS_SCHEMA).filter(
        pl.col("variant") == variant)
    plot_transition_graph(order, transitions, snakemake.wildcards.trait, variant,
                          read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
