"""Models with most direct children."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import top_parents
from hubanatomy.logs import run_script


def main():
    nodes, _ = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    top_parents(nodes, snakemake.params.top_n).write_csv(snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
