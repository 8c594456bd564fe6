"""The top values of each trait (data of the summary figure)."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import read_arxiv_categories, top_tens


def main():
    # the arXiv lookup's table is an input only when config arxiv.enabled is on
    categories = snakemake.input.get("arxiv_categories")
    nodes = pl.read_parquet(snakemake.input.nodes, columns=["model_id", "children"])
    top_tens(snakemake.input.models, nodes, n=snakemake.params.top_n,
             arxiv_categories=read_arxiv_categories(categories) if categories else None
             ).write_csv(snakemake.output.table, float_precision=6)


run_script(snakemake, main)
