"""Local files in the archive schema (CSV/parquet) -> the raw format."""

from pathlib import Path

from hubanatomy.acquire.archive import convert_local_archive
from hubanatomy.logs import run_script


def main():
    files = [Path(f) for f in snakemake.input.files]
    convert_local_archive(files, snakemake.output.raw)


run_script(snakemake, main)
