"""results/tables/tests.csv: every test, with Benjamini-Hochberg q-values across the table."""

from hubanatomy.logs import run_script
from hubanatomy.stats.tables import finalise_tests, read_test_part


def main():
    parts = [read_test_part(p) for p in snakemake.input.parts]
    finalise_tests(parts).write_csv(snakemake.output.table, float_precision=8)


run_script(snakemake, main)
