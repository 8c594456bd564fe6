"""Histogram of createdAt by month."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest
from hubanatomy.summary.plots import plot_created_histogram


def main():
    i, o = snakemake.input, snakemake.output
    months = pl.read_csv(i.table, try_parse_dates=True)
    plot_created_histogram(months, read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
