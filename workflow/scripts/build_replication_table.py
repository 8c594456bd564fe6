"""results/replication.csv: the paper's numbers, ours, and a verdict for each."""

from pathlib import Path

import polars as pl

from hubanatomy.logs import run_script
from hubanatomy.replication import replication_table
from hubanatomy.snapshot import is_simulated, read_manifest


def main():
    i = snakemake.input  # noqa: F821
    parts = [pl.read_csv(p, schema={"key": pl.String, "value": pl.Float64}) for p in i.parts]
    manifest = read_manifest(Path(i.manifest).parent)
    replication_table(parts, simulated=is_simulated(manifest)).write_csv(
        snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
