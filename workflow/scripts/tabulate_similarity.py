"""Mean similarity per motif configuration, with family-bootstrap intervals."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.score import similarity_table, split_scored


def main():
    p = snakemake.params
    scored = split_scored(pl.read_parquet(snakemake.input.scored))
    similarity_table(scored, p.replicates, p.seed).write_csv(
        snakemake.output.table, float_precision=6)


run_script(snakemake, main)
