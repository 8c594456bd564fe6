"""Models per generation in every graph variant."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import generation_distribution
from hubanatomy.logs import run_script


def main():
    nodes, _ = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    generation_distribution(nodes, snakemake.params.variants).write_csv(  # noqa: F821
        snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
