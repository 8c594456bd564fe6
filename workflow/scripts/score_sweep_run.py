"""One run of the directionality sweep: siblings vs parent-child similarity on its Hub."""

from hubanatomy.logs import run_script
from hubanatomy.similarity.sweep import sweep_scores
from hubanatomy.snapshot.files import write_parquet


def main():
    i, p = snakemake.input, snakemake.params
    scores = sweep_scores(snakemake.wildcards.run, i.models, i.parents, i.cards, p.seed,
                          p.samples, p.features, p.fit_sample, p.card_min_chars, p.card_chars,
                          p.replicates)
    write_parquet(scores, snakemake.output.scores)


run_script(snakemake, main)
