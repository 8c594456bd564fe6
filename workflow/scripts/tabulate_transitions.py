"""Transitions of one trait: oriented net flows, directedness, sign-flip tests."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.measures import transition_analysis
from hubanatomy.logs import run_script


def main():
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    table, tests = transition_analysis(
        split_variants(pl.read_parquet(i.edges), p.variants), pl.read_parquet(i.traits),
        snakemake.wildcards.trait, p.top_n, p.replicates, p.seed)
    table.write_csv(o.table, float_precision=6)
    tests.write_csv(o.tests)


run_script(snakemake, main)
