"""Raw Hub data -> the canonical snapshot."""

from pathlib import Path

from hubanatomy.logs import run_script
from hubanatomy.snapshot.normalise import normalise, source_record
from hubanatomy.snapshot.raw import RAW_MANIFEST


def main():
    raw = Path(snakemake.input.raw)
    # a crawl is marked complete by its raw manifest: the raw data is the folder around it
    raw = raw.parent if raw.name == RAW_MANIFEST else raw
    # the snapshot is written as one folder (staged, then moved in place); the rule declares
    # its files by snapshot.files.FILES, the names normalise writes
    normalise(raw, out_dir=Path(snakemake.output.manifest).parent,
              source=source_record(snakemake.params.source, raw),
              max_reject_fraction=snakemake.params.max_reject_fraction)


run_script(snakemake, main)
