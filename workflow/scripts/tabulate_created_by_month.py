"""Models created per month."""

from hubanatomy.logs import run_script
from hubanatomy.summary.tables import created_by_month


def main():
    created_by_month(snakemake.input.models).write_csv(snakemake.output.table)


run_script(snakemake, main)
