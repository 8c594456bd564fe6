"""The drift schematic, measured on the simulator."""

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.similarity.plots import plot_directionality_sweep


def main():
    sweep = snakemake.params.sweep
    note = (f"SIMULATED Hubs of {sweep['models']:,} models (seed {sweep['seed']}), one per "
            "share, and the neutral null model")
    plot_directionality_sweep(pl.read_csv(snakemake.input.table), note,
                              snakemake.output.png, snakemake.output.pdf)


run_script(snakemake, main)
