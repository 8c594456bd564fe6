"""Crawl step 2: one shard of the model cards (and parent probes), resumable."""

from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, crawl_cards, crawl_config
from hubanatomy.logs import run_script


def main():
    done = Path(snakemake.output[0])
    item, of = snakemake.wildcards.scatteritem.split("-of-")
    crawl_cards(done.parent.parent, CrawlSettings.from_config(crawl_config(snakemake)),
                shard=int(item) - 1, shards=int(of))
    done.touch()


run_script(snakemake, main)
