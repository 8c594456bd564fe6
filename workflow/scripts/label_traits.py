"""Trait labels of every model."""

from pathlib import Path

from hubanatomy.drift.labels import label_traits
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import write_parquet


def main():
    snapshot_dir = Path(snakemake.input.models).parent  # noqa: F821
    write_parquet(label_traits(snapshot_dir), snakemake.output.traits)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
