"""One table from the per-trait parts."""

import polars as pl

from hubanatomy.logs import run_script


def main():
    parts = [pl.read_csv(p, infer_schema_length=None) for p in snakemake.input.parts]  # noqa: F821
    pl.concat(parts, how="diagonal_relaxed").write_csv(snakemake.output.table,  # noqa: F821
                                                       float_precision=6)


run_script(snakemake, main)  # noqa: F821
