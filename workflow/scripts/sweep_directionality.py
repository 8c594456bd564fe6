"""Siblings vs parent-child similarity as the shared direction of mutation grows (simulated)."""

import tempfile

from hubanatomy.logs import run_script
from hubanatomy.similarity.sweep import directionality_sweep


def main():
    p = snakemake.params
    with tempfile.TemporaryDirectory() as work:
        table = directionality_sweep(p.sweep["shares"], p.sweep["models"], p.sweep["seed"],
                                     work, p.samples, p.features, p.fit_sample,
                                     p.card_min_chars, p.card_chars, p.replicates)
    table.write_csv(snakemake.output.table, float_precision=6)


run_script(snakemake, main)
