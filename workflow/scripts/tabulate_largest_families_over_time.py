"""Cumulative size over time of the largest families."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.lineage.tables import largest_families_over_time
from hubanatomy.logs import run_script


def main():
    p = snakemake.params  # noqa: F821
    nodes, _ = read_lineage(snakemake.input.nodes.rsplit("/", 1)[0])  # noqa: F821
    largest_families_over_time(nodes, p.variant, p.top_n).write_csv(
        snakemake.output.table)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
