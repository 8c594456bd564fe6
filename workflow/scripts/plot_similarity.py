"""One 8-panel similarity figure (a DNA and a measure)."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity_plots import plot_similarity
from hubanatomy.snapshot import read_manifest


def main():
    i, o, w = snakemake.input, snakemake.output, snakemake.wildcards  # noqa: F821
    plot_similarity(pl.read_csv(i.table), w.text, w.measure, snakemake.params.variant,  # noqa: F821
                    read_manifest(i.manifest.rsplit("/", 1)[0]), o.png, o.pdf)


run_script(snakemake, main)  # noqa: F821
