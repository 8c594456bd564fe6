"""Trait labels of every model."""

from hubanatomy.drift.labels import label_traits
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import write_parquet


def main():
    i = snakemake.input
    write_parquet(label_traits(i.models, i.cards), snakemake.output.traits)


run_script(snakemake, main)
