"""A snapshot of whole families, sampled by size class."""

from pathlib import Path

from hubanatomy.lineage.sample import sample_snapshot
from hubanatomy.logs import run_script


def main():
    p = snakemake.params  # noqa: F821
    sample_snapshot(Path(snakemake.input.manifest).parent,  # noqa: F821
                    Path(snakemake.output.manifest).parent,  # noqa: F821
                    p.families, p.seed, tuple(p.precedence))


run_script(snakemake, main)  # noqa: F821
