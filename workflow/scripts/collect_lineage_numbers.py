"""Our values of the paper's lineage numbers, for the replication table."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.replication import lineage_values


def main():
    nodes, edges = read_lineage(snakemake.input.nodes, snakemake.input.edges)
    lineage_values(nodes, edges).write_csv(snakemake.output.values,
                                           float_precision=10)


run_script(snakemake, main)
