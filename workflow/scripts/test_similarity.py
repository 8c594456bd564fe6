"""Siblings vs parent-child and the decline with generations, tested within families."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.score import similarity_tests, split_scored


def main():
    p = snakemake.params  # noqa: F821
    scored = split_scored(pl.read_parquet(snakemake.input.scored))  # noqa: F821
    similarity_tests(scored, p.replicates, p.seed).write_csv(snakemake.output.tests)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
