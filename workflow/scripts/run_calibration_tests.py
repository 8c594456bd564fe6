"""Every drift test on one simulated Hub of a scenario and seed (a calibration run)."""

from pathlib import Path

from hubanatomy.drift.calibration import calibration_tests
from hubanatomy.logs import run_script


def main():
    p, w = snakemake.params, snakemake.wildcards
    out = Path(snakemake.output.tests)
    calibration_tests(p.models, int(w.seed), w.scenario, p.replicates, p.top_n,
                      out.parent).write_csv(out)


run_script(snakemake, main)
