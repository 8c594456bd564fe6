"""Raw Hub data -> the canonical snapshot."""

from pathlib import Path

from hubanatomy.logs import run_script
from hubanatomy.snapshot.normalise import normalise, source_record
from hubanatomy.snapshot.raw import RAW_MANIFEST


def main():
    raw = Path(snakemake.input.raw)  # noqa: F821
    # a crawl is marked complete by its raw manifest: the raw data is the folder around it
    raw = raw.parent if raw.name == RAW_MANIFEST else raw
    out = snakemake.output  # noqa: F821
    normalise(raw, out_dir=out.manifest.rsplit("/", 1)[0],
              source=source_record(snakemake.params.source, raw),  # noqa: F821
              max_reject_fraction=snakemake.params.max_reject_fraction)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
