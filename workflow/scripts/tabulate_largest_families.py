"""The largest families of the configured graph variant."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import families
from hubanatomy.logs import run_script


def main():
    p = snakemake.params  # noqa: F821
    nodes, _ = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    families(nodes, p.variant).head(p.top_n).write_csv(snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
