"""Siblings vs parent-child and the decline with generations, tested within families."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.score import similarity_tests, split_scored


def main():
    p = snakemake.params
    scored = split_scored(pl.read_parquet(snakemake.input.scored))
    similarity_tests(scored, p.replicates, p.seed).write_csv(snakemake.output.tests)


run_script(snakemake, main)
