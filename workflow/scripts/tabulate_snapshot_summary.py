"""Headline counts of the snapshot."""

from pathlib import Path

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import snapshot_summary


def main():
    snapshot_dir = Path(snakemake.input.manifest).parent  # noqa: F821
    snapshot_summary(snapshot_dir).write_csv(snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
