"""Family size distribution of every graph variant."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import family_size_distribution
from hubanatomy.logs import run_script


def main():
    nodes, _ = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    family_size_distribution(nodes, snakemake.params.variants).write_csv(  # noqa: F821
        snakemake.output.table, float_precision=8)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
