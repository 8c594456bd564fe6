"""The license audit figure."""

from hubanatomy.datafiles import read_table
from hubanatomy.licenses.audit import AUDIT_SCHEMA
from hubanatomy.licenses.plots import plot_license_audit
from hubanatomy.logs import run_script
from hubanatomy.snapshot.files import read_manifest


def main():
    i, o = snakemake.input, snakemake.output
    plot_license_audit(read_table(i.table, AUDIT_SCHEMA),
                       read_manifest(i.manifest), o.png, o.pdf)


run_script(snakemake, main)
