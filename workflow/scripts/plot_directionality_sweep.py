"""The drift schematic, measured on the simulator."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.plots import plot_directionality_sweep


def main():
    sweep = snakemake.params.sweep  # noqa: F821
    note = (f"SIMULATED Hubs of {sweep['models']:,} models (seed {sweep['seed']}), one per "
            "share, and the neutral null model")
    plot_directionality_sweep(pl.read_csv(snakemake.input.table), note,  # noqa: F821
                              snakemake.output.png, snakemake.output.pdf)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
