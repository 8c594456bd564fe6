"""Crawl step 2: one shard of the model cards (and parent probes), resumable."""

from pathlib import Path

from hubanatomy.acquire.crawl import CrawlSettings, crawl_cards, with_endpoint
from hubanatomy.logs import run_script


def main():
    done = Path(snakemake.output[0])  # noqa: F821
    item, of = snakemake.wildcards.scatteritem.split("-of-")  # noqa: F821
    crawl_cards(done.parent.parent, CrawlSettings.from_config(with_endpoint(snakemake)),  # noqa: F821
                shard=int(item) - 1, shards=int(of))
    done.touch()


run_script(snakemake, main)  # noqa: F821
