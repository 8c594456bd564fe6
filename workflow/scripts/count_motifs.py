"""Exact occurrence counts of every motif in every similarity variant."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.similarity.motifs import motif_table


def main():
    nodes, edges = read_lineage(snakemake.input.nodes, snakemake.input.edges)
    motif_table(nodes, edges, dict(snakemake.params.variants)).write_csv(
        snakemake.output.table)


run_script(snakemake, main)
