# Paths, input functions and parse-time checks shared by all stages.

from pathlib import Path

from snakemake.exceptions import WorkflowError

# conda users: the rules' software is the project's own environment
ENV = "../../environment.yml"

SNAPSHOT = "results/snapshot"
SNAPSHOT_FILES = {
    "models": f"{SNAPSHOT}/models.parquet",
    "parents": f"{SNAPSHOT}/parents.parquet",
    "cards": f"{SNAPSHOT}/cards.parquet",
    "manifest": f"{SNAPSHOT}/manifest.json",
}
SIMULATED_RAW = "results/raw/simulated"

# every figure and table of the workflow: name -> target (README's table lists the same)
FIGURES = {
    "top_tens": "results/figures/top_tens.png",
    "created_at_histogram": "results/figures/created_at_histogram.png",
}
TABLES = {
    "snapshot_summary": "results/tables/snapshot_summary.csv",
    "top_tens": "results/tables/top_tens.csv",
    "created_by_month": "results/tables/created_by_month.csv",
}
# the parts that contribute rows to results/replication.csv
REPLICATION_PARTS = ["foundation"]


def all_targets():
    return [*FIGURES.values(), *TABLES.values(), "results/replication.csv"]


def log_path(rule):
    return f"results/logs/{rule}.log"


def benchmark_path(rule):
    return f"results/benchmarks/{rule}.tsv"


def raw_source():
    """The raw input of the snapshot, or a clear parse-time error when there is none."""
    source = config["source"]
    if source == "simulated":
        return SIMULATED_RAW
    if source == "snapshot":
        path = config["snapshot"]["path"]
        if not path:
            raise WorkflowError(
                "config: source is 'snapshot' but snapshot.path is not set; give a raw JSONL "
                "file or directory, e.g. --config source=snapshot snapshot='{path: my.jsonl}'")
        if not Path(path).exists():
            raise WorkflowError(f"config: snapshot.path {path!r} does not exist")
        return path
    raise WorkflowError(
        f"config: source {source!r} is not available yet (the Hub acquisition stage is still "
        "to be built). Run offline with --config source=simulated, or use source: snapshot "
        "with snapshot.path pointing at a local raw JSONL file.")


def source_identity():
    """What identifies the data, recorded in the snapshot manifest (a changed value reruns)."""
    source = config["source"]
    identity = {"kind": source}
    if source in ("simulated", "snapshot", "archive", "crawl"):
        identity.update(config[source])
    return identity
