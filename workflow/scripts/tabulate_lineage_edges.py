"""Edges by relation, and edges whose child has children of its own."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import edges_by_relation
from hubanatomy.logs import run_script


def main():
    nodes, edges = read_lineage(snakemake.input.nodes, snakemake.input.edges)
    edges_by_relation(edges, nodes).write_csv(snakemake.output.table)


run_script(snakemake, main)
