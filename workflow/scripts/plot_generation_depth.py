"""Models per generation."""

import polars as pl

from hubanatomy.lineage.plots import plot_generation_depth
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    plot_generation_depth(pl.read_csv(i.table), read_manifest(i.manifest),
                          o.png, o.pdf)


run_script(snakemake, main)
