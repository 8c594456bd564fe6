"""Local files in the archive schema (CSV/parquet) -> the raw format."""

from pathlib import Path

from hubanatomy import snapshot as snap
from hubanatomy.archive import archive_to_raw
from hubanatomy.logs import run_script


def main():
    files = [Path(f) for f in snakemake.input.files]  # noqa: F821
    source = {"kind": "snapshot", "format": "archive",
              "files": {str(f): snap.sha256_file(f) for f in files}}
    archive_to_raw(files, snakemake.output.raw, source)  # noqa: F821


run_script(snakemake, main)  # noqa: F821
