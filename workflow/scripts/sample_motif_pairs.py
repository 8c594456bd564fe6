"""Uniform samples of every motif, as pairs of models per configuration."""

from hubanatomy.lineage.build import read_lineage
from hubanatomy.logs import run_script
from hubanatomy.similarity.motifs import sample_all_pairs
from hubanatomy.snapshot.files import write_parquet


def main():
    p = snakemake.params
    nodes, edges = read_lineage(snakemake.input.nodes, snakemake.input.edges)
    pairs = sample_all_pairs(nodes, edges, dict(p.variants), p.samples, p.seed)
    write_parquet(pairs, snakemake.output.pairs)


run_script(snakemake, main)
