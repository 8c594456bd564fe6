"""Crawl step 1: the Hub's model list, page by page (resumable)."""

from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, crawl_config, crawl_list
from hubanatomy.logs import run_script


def main():
    done = Path(snakemake.output[0])
    crawl_list(done.parent.parent, CrawlSettings.from_config(crawl_config(snakemake)))
    done.touch()


run_script(snakemake, main)
