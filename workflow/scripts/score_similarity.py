"""Similarity of every sampled pair on both DNAs and all three measures."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity import score_all
from hubanatomy.snapshot import write_parquet


def main():
    i, p = snakemake.input, snakemake.params  # noqa: F821
    scored = score_all(pl.read_parquet(i.pairs),
                       pl.read_parquet(i.models, columns=["model_id", "metadata_json"]),
                       pl.read_parquet(i.cards), pl.read_parquet(i.nodes)["model_id"],
                       p.features, p.fit_sample, p.card_min_chars, p.card_chars, p.seed,
                       workers=snakemake.threads)  # noqa: F821
    write_parquet(scored, snakemake.output.scored)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
