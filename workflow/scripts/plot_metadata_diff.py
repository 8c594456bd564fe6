"""Figure 4: the character-level diff of a parent's and its fine-tune's metadata."""

import polars as pl

from hubanatomy.lineage import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.similarity import diff_pair
from hubanatomy.similarity_plots import plot_metadata_diff
from hubanatomy.snapshot import read_manifest


def main():
    i, o = snakemake.input, snakemake.output  # noqa: F821
    nodes, edges = read_lineage(i.nodes.rsplit("/", 1)[0])
    parent, child = diff_pair(nodes, edges, snakemake.params.pair)  # noqa: F821
    text = dict(pl.read_parquet(i.models, columns=["model_id", "metadata_json"])
                .filter(pl.col("model_id").is_in([parent, child])).iter_rows())
    plot_metadata_diff(parent, text[parent], child, text[child],
                       read_manifest(i.manifest.rsplit("/", 1)[0]), o.png, o.pdf)


run_script(snakemake, main)  # noqa: F821
