"""The summary "top tens" figure."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest
from hubanatomy.summary.plots import plot_top_tens
from hubanatomy.summary.tables import summary_panels


def main():
    i, o = snakemake.input, snakemake.output
    plot_top_tens(pl.read_csv(i.table), read_manifest(i.manifest),
                  o.png, o.pdf,
                  panels=summary_panels(snakemake.params.arxiv_categories))


run_script(snakemake, main)
