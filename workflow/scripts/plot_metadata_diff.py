"""Figure 4: the character-level diff of a parent's and its fine-tune's metadata."""

import polars as pl

from hubanatomy.errors import InputError
from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.plotting import no_data_figure
from hubanatomy.similarity.plots import plot_metadata_diff
from hubanatomy.similarity.score import diff_pair
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    manifest = read_manifest(i.manifest)
    nodes, edges = read_lineage(i.nodes, i.edges)
    pair = diff_pair(nodes, edges, snakemake.params.pair)
    if pair is None:
        no_data_figure("Character-level diff of a parent's and its fine-tune's metadata DNA",
                       "no fine-tune edge with both ends in this snapshot", manifest, o.png,
                       o.pdf)
        return
    parent, child = pair
    text = dict(pl.read_parquet(i.models, columns=["model_id", "metadata_json"])
                .filter(pl.col("model_id").is_in([parent, child])).iter_rows())
    missing = [m for m in pair if m not in text]
    if missing:
        raise InputError(f"config similarity.diff_pair: {', '.join(missing)} not in the "
                         "snapshot")
    plot_metadata_diff(parent, text[parent], child, text[child], manifest, o.png, o.pdf)


run_script(snakemake, main)
