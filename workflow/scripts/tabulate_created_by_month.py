"""Models created per month."""

from pathlib import Path

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import created_by_month


def main():
    snapshot_dir = Path(snakemake.input.models).parent  # noqa: F821
    created_by_month(snapshot_dir).write_csv(snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
