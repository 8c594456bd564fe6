"""Number of languages, parent vs child, by relation."""

import polars as pl

from hubanatomy.drift_plots import plot_language_drift
from hubanatomy.logs import run_script
from hubanatomy.snapshot import read_manifest


def main():
    i, o = snakemake.input, snakemake.output  # noqa: F821
    plot_language_drift(pl.read_csv(i.table), snakemake.params.variant,  # noqa: F821
                        read_manifest(i.manifest.rsplit("/", 1)[0]), o.png, o.pdf)


run_script(snakemake, main)  # noqa: F821
