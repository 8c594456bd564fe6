"""results/replication.csv: the paper's numbers, ours, and a verdict for each."""


from hubanatomy.datafiles import read_table
from hubanatomy.logs import run_script
from hubanatomy.replication import PART_SCHEMA, replication_table
from hubanatomy.snapshot.files import is_simulated, read_manifest


def main():
    i = snakemake.input
    parts = [read_table(p, PART_SCHEMA) for p in i.parts]
    manifest = read_manifest(i.manifest)
    replication_table(parts, simulated=is_simulated(manifest)).write_csv(
        snakemake.output.table)


run_script(snakemake, main)
