"""Exact optimal orderings of one trait's top values, with bootstrap ranks and the heuristic."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.labels import value_classes
from hubanatomy.logs import run_script
from hubanatomy.orderings.order import ordering_analysis


def main():
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    trait = snakemake.wildcards.trait
    rows, agreement = ordering_analysis(split_variants(pl.read_parquet(i.edges), p.variants),
                                        pl.read_parquet(i.traits), trait, p.top_n,
                                        p.replicates, p.seed, value_classes(trait),
                                        p.values_from)
    rows.write_csv(o.order, float_precision=6)
    agreement.write_csv(o.agreement, float_precision=6)


run_script(snakemake, main)
