"""The license audit figure."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.orderings_plots import plot_license_audit
from hubanatomy.snapshot import read_manifest


def main():
    i, o = snakemake.input, snakemake.output  # noqa: F821
    plot_license_audit(pl.read_csv(i.table), read_manifest(i.manifest.rsplit("/", 1)[0]),
                       o.png, o.pdf)


run_script(snakemake, main)  # noqa: F821
