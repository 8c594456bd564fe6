"""Similarity of every sampled pair on both DNAs and all three measures."""


import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.score import read_dna, score_all
from hubanatomy.snapshot.files import write_parquet


def main():
    i, p = snakemake.input, snakemake.params
    dna = read_dna(i.models, i.cards, p.card_min_chars, p.card_chars)
    scored = score_all(pl.read_parquet(i.pairs), dna,
                       pl.read_parquet(i.nodes, columns=["model_id"])["model_id"],
                       p.features, p.fit_sample, p.seed, workers=snakemake.threads)
    write_parquet(scored, snakemake.output.scored)


run_script(snakemake, main)
