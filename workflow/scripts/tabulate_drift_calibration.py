"""The calibration table of the drift tests: detection of planted drifts, false discoveries."""

import polars as pl

from hubanatomy.drift.calibration import calibration_row, calibration_table
from hubanatomy.logs import run_script


def main():
    rows = [calibration_row(scenario, seed, pl.read_csv(path, infer_schema_length=None))
            for (scenario, seed), path in zip(snakemake.params.runs, snakemake.input.runs,
                                              strict=True)]
    calibration_table(rows).write_csv(snakemake.output.table)


run_script(snakemake, main)
