"""A family tree drawing: the Nth largest family, or a named model's family."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.plots import plot_family_tree
from hubanatomy.lineage.tables import tree_start
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    nodes, edges = read_lineage(i.nodes, i.edges)
    wildcards = snakemake.wildcards
    named = getattr(p, "named_model", None)
    rank = int(wildcards.rank) if hasattr(wildcards, "rank") else p.fallback_rank
    start, title = tree_start(nodes, p.variant, rank, named)
    plot_family_tree(nodes, edges, start, read_manifest(i.manifest),
                     o.png, o.pdf, p.max_nodes, title, relations=p.relations)


run_script(snakemake, main)
