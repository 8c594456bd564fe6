"""Our values of the paper's similarity numbers, for the replication table."""

import polars as pl

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.replication import similarity_values
from hubanatomy.similarity.score import SIMILARITY_SCHEMA
from hubanatomy.snapshot.files import KNOWN_CARD_STATUSES


def main():
    i, p = snakemake.input, snakemake.params
    cards = pl.read_parquet(i.cards, columns=["status", "length_chars", "auto_generated"])
    kept = cards.filter((pl.col("status") == "ok") & (pl.col("length_chars") >= p.card_min_chars)
                        & ~pl.col("auto_generated")).height
    fetched = cards["status"].is_in(KNOWN_CARD_STATUSES).any()
    similarity_values(read_table(i.table, SIMILARITY_SCHEMA), pl.read_csv(i.motifs),
                      kept if fetched else None, p.samples).write_csv(
        snakemake.output.values, float_precision=10)


run_script(snakemake, main)
