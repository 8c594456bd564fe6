"""The summary "top tens" figure."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest
from hubanatomy.summary.plots import plot_top_tens
from hubanatomy.summary.tables import summary_panels


def main():
    i, o = snakemake.input, snakemake.output  # noqa: F821
    plot_top_tens(pl.read_csv(i.table), read_manifest(i.manifest.rsplit("/", 1)[0]),
                  o.png, o.pdf,
                  panels=summary_panels(snakemake.params.arxiv_categories))  # noqa: F821


run_script(snakemake, main)  # noqa: F821
