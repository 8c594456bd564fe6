"""Parent and child traits on every edge of the drift variants."""

import polars as pl

from hubanatomy.drift.edges import all_drift_edges
from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import write_parquet


def main():
    i = snakemake.input
    nodes, edges = read_lineage(i.nodes, i.edges)
    stacked = all_drift_edges(edges, nodes, pl.read_parquet(i.traits),
                              dict(snakemake.params.variants))
    write_parquet(stacked, snakemake.output.edges)


run_script(snakemake, main)
