"""results/replication.csv: the paper's numbers, ours, and a verdict for each."""

from pathlib import Path

from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.replication import PART_SCHEMA, replication_table
from hubanatomy.snapshot.files import is_simulated, read_manifest


def main():
    i = snakemake.input  # noqa: F821
    parts = [read_table(p, PART_SCHEMA) for p in i.parts]
    manifest = read_manifest(Path(i.manifest).parent)
    replication_table(parts, simulated=is_simulated(manifest)).write_csv(
        snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
