"""arXiv categories of every paper the snapshot's models link (asks the arXiv API; cached)."""

from hubanatomy.acquire.arxiv import categories_table, linked_arxiv_ids, lookup_categories
from hubanatomy.logs import run_script


def main():
    i, p, o = snakemake.input, snakemake.params, snakemake.output
    links = linked_arxiv_ids(i.models)
    found = lookup_categories(links["arxiv_id"], p.cache, endpoint=p.endpoint,
                              batch_size=p.batch_size, delay_seconds=p.delay_seconds)
    categories_table(links, found).write_csv(o.table)


run_script(snakemake, main)
