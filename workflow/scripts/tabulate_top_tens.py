"""The top values of each trait (data of the summary figure)."""

from pathlib import Path

from hubanatomy.logs import run_script
from hubanatomy.summary import top_tens


def main():
    snapshot_dir = Path(snakemake.input.manifest).parent  # noqa: F821
    top_tens(snapshot_dir, n=snakemake.params.top_n).write_csv(  # noqa: F821
        snakemake.output.table, float_precision=6)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
