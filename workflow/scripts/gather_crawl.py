"""Crawl step 3: renames, problems and the raw manifest with the crawl's time window."""

from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, gather, with_endpoint
from hubanatomy.logs import run_script


def main():
    root = Path(snakemake.output[0]).parent
    gather(root, CrawlSettings.from_config(with_endpoint(snakemake)),
           shards=len(snakemake.input))


run_script(snakemake, main)
