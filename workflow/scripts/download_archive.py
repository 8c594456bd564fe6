"""The paper's frozen dataset from the Hub (pinned revision) -> the raw format."""

from hubanatomy.acquire.archive import download_archive
from hubanatomy.logs import run_script


def main():
    archive = snakemake.params.archive
    # the endpoint from the config itself: the params hold it without credentials
    download_archive(archive["repo_id"], archive["revision"], snakemake.output.raw,
                     endpoint=snakemake.config["archive"]["endpoint"])


run_script(snakemake, main)
