"""Crawl step 3: renames, problems and the raw manifest with the crawl's time window."""

from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, crawl_config, gather
from hubanatomy.logs import run_script


def main():
    root = Path(snakemake.output[0]).parent
    gather(root, CrawlSettings.from_config(crawl_config(snakemake)),
           shards=len(snakemake.input))


run_script(snakemake, main)
