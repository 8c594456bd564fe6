"""A snapshot of whole families, sampled by size class."""

from hubanatomy.lineage.sample import sample_snapshot
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import FILES


def main():
    p = snakemake.params
    source = {key: snakemake.input[key] for key in FILES}
    out = {key: snakemake.output[key] for key in FILES}
    sample_snapshot(source, out, p.families, p.seed, tuple(p.precedence))


run_script(snakemake, main)
