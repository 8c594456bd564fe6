"""Raw Hub data -> the canonical snapshot."""

from hubanatomy.logs import run_script
from hubanatomy.normalise import normalise, source_record


def main():
    raw = snakemake.input.raw  # noqa: F821
    out = snakemake.output  # noqa: F821
    normalise(raw, out_dir=out.manifest.rsplit("/", 1)[0],
              source=source_record(snakemake.params.source, raw),  # noqa: F821
              max_reject_fraction=snakemake.params.max_reject_fraction)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
