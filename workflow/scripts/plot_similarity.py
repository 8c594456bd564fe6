"""One 8-panel similarity figure (a DNA and a measure)."""

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.similarity.plots import plot_similarity
from hubanatomy.similarity.score import SIMILARITY_SCHEMA
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o, w = snakemake.input, snakemake.output, snakemake.wildcards
    plot_similarity(read_table(i.table, SIMILARITY_SCHEMA), w.text, w.measure,
                    snakemake.params.variant,
                    read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
