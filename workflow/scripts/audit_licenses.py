"""A compatibility verdict for every parent -> child edge where both declare a license."""

import polars as pl

from hubanatomy.drift.edges import split_variants
from hubanatomy.drift.labels import value_classes
from hubanatomy.licenses.audit import audit_edges, compatibility_rules
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import write_parquet


def main():
    i = snakemake.input
    variant = snakemake.params.variant
    frame = split_variants(pl.read_parquet(i.edges), [variant])[variant]
    created = pl.read_parquet(i.models, columns=["model_id", "created_at"])
    verdicts = audit_edges(frame, created, value_classes("licenses"), compatibility_rules())
    write_parquet(verdicts, snakemake.output.verdicts)


run_script(snakemake, main)
