"""Our values of the paper's lineage numbers, for the replication table."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.replication import lineage_values


def main():
    nodes, edges = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    lineage_values(nodes, edges).write_csv(snakemake.output.values,  # noqa: F821
                                           float_precision=10)


run_script(snakemake, main)  # noqa: F821
