"""Family size CCDF, log-log."""

import polars as pl

from hubanatomy.lineage.plots import plot_family_size_ccdf
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    plot_family_size_ccdf(pl.read_csv(i.table), read_manifest(i.manifest),
                          o.png, o.pdf)


run_script(snakemake, main)
