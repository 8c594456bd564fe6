"""The largest families' cumulative size over time."""

import polars as pl

from hubanatomy.lineage.plots import plot_largest_families_over_time
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    plot_largest_families_over_time(pl.read_csv(i.table, try_parse_dates=True),
                                    snakemake.params.variant,
                                    read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
