"""The top values of each trait (data of the summary figure)."""

from pathlib import Path

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import read_arxiv_categories, top_tens


def main():
    snapshot_dir = Path(snakemake.input.manifest).parent  # noqa: F821
    # the arXiv lookup's table is an input only when config arxiv.enabled is on
    categories = snakemake.input.get("arxiv_categories")  # noqa: F821
    nodes = pl.read_parquet(snakemake.input.nodes, columns=["model_id", "children"])  # noqa: F821
    top_tens(snapshot_dir, nodes, n=snakemake.params.top_n,  # noqa: F821
             arxiv_categories=read_arxiv_categories(categories) if categories else None
             ).write_csv(snakemake.output.table, float_precision=6)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
