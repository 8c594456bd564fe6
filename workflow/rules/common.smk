# Paths, input functions and parse-time checks shared by all stages.

from pathlib import Path

from snakemake.exceptions import WorkflowError

from hubanatomy.snapshot.raw import public_url

SIMULATED_RAW = "results/raw/simulated"
SNAPSHOT_NAMES = {"models": "models.parquet", "parents": "parents.parquet",
                  "cards": "cards.parquet", "renames": "renames.parquet",
                  "manifest": "manifest.json"}
# the normalised snapshot, and the one every later stage reads (a sample of whole families
# when sample.families > 0, otherwise the snapshot itself)
FULL_SNAPSHOT = "results/snapshot"
FULL_SNAPSHOT_FILES = {k: f"{FULL_SNAPSHOT}/{v}" for k, v in SNAPSHOT_NAMES.items()}
SNAPSHOT = "results/sample" if config["sample"]["families"] > 0 else FULL_SNAPSHOT
SNAPSHOT_FILES = {k: f"{SNAPSHOT}/{v}" for k, v in SNAPSHOT_NAMES.items()}
LINEAGE = "results/lineage"
LINEAGE_FILES = {"edges": f"{LINEAGE}/edges.parquet", "nodes": f"{LINEAGE}/nodes.parquet",
                 "hygiene": f"{LINEAGE}/hygiene.json", "decisions": f"{LINEAGE}/decisions.csv"}
LINEAGE_CONFIG = config["lineage"]
if LINEAGE_CONFIG["family_variant"] not in LINEAGE_CONFIG["variants"]:
    raise WorkflowError(
        f"config: lineage.family_variant {LINEAGE_CONFIG['family_variant']!r} is not one of "
        f"lineage.variants ({', '.join(LINEAGE_CONFIG['variants'])})")

# every figure and table of the workflow: name -> target (README's table lists the same)
FIGURES = {
    "top_tens": "results/figures/top_tens.png",
    "created_at_histogram": "results/figures/created_at_histogram.png",
    "family_size_ccdf": "results/figures/family_size_ccdf.png",
    "generation_depth": "results/figures/generation_depth.png",
    "largest_families_over_time": "results/figures/largest_families_over_time.png",
    "family_tree_named": "results/figures/family_tree_named.png",
    **{f"family_tree_rank{r}": f"results/figures/family_tree_rank{r}.png"
       for r in LINEAGE_CONFIG["tree_ranks"]},
}
TABLES = {
    "snapshot_summary": "results/tables/snapshot_summary.csv",
    "top_tens": "results/tables/top_tens.csv",
    "created_by_month": "results/tables/created_by_month.csv",
    "lineage_edges_by_relation": "results/tables/lineage_edges_by_relation.csv",
    "top_parents": "results/tables/top_parents.csv",
    "largest_families": "results/tables/largest_families.csv",
    "family_size_distribution": "results/tables/family_size_distribution.csv",
    "generation_distribution": "results/tables/generation_distribution.csv",
    "largest_families_over_time": "results/tables/largest_families_over_time.csv",
}
DRIFT_CONFIG = config["drift"]
for _variant in [*DRIFT_CONFIG["variants"], DRIFT_CONFIG["figure_variant"]]:
    if _variant not in LINEAGE_CONFIG["variants"]:
        raise WorkflowError(f"config: drift variant {_variant!r} is not one of lineage.variants "
                            f"({', '.join(LINEAGE_CONFIG['variants'])})")
if DRIFT_CONFIG["figure_variant"] not in DRIFT_CONFIG["variants"]:
    raise WorkflowError("config: drift.figure_variant must be one of drift.variants")
SET_TRAITS = ["licenses", "languages", "tasks", "libraries"]
TRAITS = "results/traits"
FIGURES.update({
    "card_length_drift": "results/figures/card_length_drift.png",
    "language_drift": "results/figures/language_drift.png",
})
TABLES.update({
    "license_coverage": "results/tables/license_coverage.csv",
    "mutation_rates": "results/tables/mutation_rates.csv",
    "numeric_drift": "results/tables/numeric_drift.csv",
    "tests": "results/tables/tests.csv",
    **{f"transitions_{t}": f"results/tables/transitions_{t}.csv" for t in SET_TRAITS},
})
ORDERINGS_CONFIG = config["orderings"]
LICENSES_CONFIG = config["licenses"]
for _key, _variant in (("orderings.figure_variant", ORDERINGS_CONFIG["figure_variant"]),
                       ("licenses.audit_variant", LICENSES_CONFIG["audit_variant"])):
    if _variant not in DRIFT_CONFIG["variants"]:
        raise WorkflowError(f"config: {_key} {_variant!r} must be one of drift.variants")
FIGURES.update({
    **{f"transitions_{t}": f"results/figures/transitions_{t}.png" for t in SET_TRAITS},
    "license_audit": "results/figures/license_audit.png",
})
TABLES.update({
    "orderings": "results/tables/orderings.csv",
    "ordering_agreement": "results/tables/ordering_agreement.csv",
    "license_audit": "results/tables/license_audit.csv",
    "license_violations_top": "results/tables/license_violations_top.csv",
})
SIMILARITY_CONFIG = config["similarity"]
for _variant in [*SIMILARITY_CONFIG["variants"], SIMILARITY_CONFIG["figure_variant"]]:
    if _variant not in LINEAGE_CONFIG["variants"]:
        raise WorkflowError(f"config: similarity variant {_variant!r} is not one of "
                            f"lineage.variants ({', '.join(LINEAGE_CONFIG['variants'])})")
if SIMILARITY_CONFIG["figure_variant"] not in SIMILARITY_CONFIG["variants"]:
    raise WorkflowError("config: similarity.figure_variant must be one of similarity.variants")
DNA = ["metadata", "cards"]
SIMILARITY_MEASURES = ["tfidf", "bow", "levenshtein"]
FIGURES.update({
    **{f"similarity_{t}_{m}": f"results/figures/similarity_{t}_{m}.png"
       for t in DNA for m in SIMILARITY_MEASURES},
    "metadata_diff": "results/figures/metadata_diff.png",
    "directionality_sweep": "results/figures/directionality_sweep.png",
})
TABLES.update({
    "motifs": "results/tables/motifs.csv",
    "similarity": "results/tables/similarity.csv",
    "directionality_sweep": "results/tables/directionality_sweep.csv",
})
# the parts that contribute rows to results/replication.csv
REPLICATION_PARTS = ["foundation", "lineage", "drift", "orderings", "similarity"]
# the parts whose tests make results/tables/tests.csv (q-values over all of them)
TEST_PARTS = ["drift", *(f"transitions_{t}" for t in SET_TRAITS), "similarity"]


def all_targets():
    return [*FIGURES.values(), *TABLES.values(), LINEAGE_FILES["hygiene"],
            "results/replication.csv"]


def pdf_of(png):
    return png.removesuffix(".png") + ".pdf"


def ordering_top_n(wildcards):
    return ORDERINGS_CONFIG["top_n"][wildcards.trait]


def log_path(rule):
    return f"results/logs/{rule}.log"


def benchmark_path(rule):
    return f"results/benchmarks/{rule}.tsv"


ARCHIVE_RAW = "results/raw/archive"
CRAWL_RAW = "results/raw/crawl"
LOCAL_ARCHIVE_RAW = "results/raw/snapshot"
def local_archive_files(path):
    """The archive-schema files (CSV/parquet) of a local snapshot.path, or [] if it is raw."""
    from hubanatomy.acquire.archive import archive_files
    from hubanatomy.errors import InputError

    try:
        return [str(f) for f in archive_files(path)]
    except InputError as error:
        raise WorkflowError(f"config: snapshot.path: {error}") from None


def raw_source():
    """The raw input of the snapshot (a raw directory, or the file that marks one complete),
    or a clear parse-time error when it cannot be had."""
    source = config["source"]
    if source == "simulated":
        return SIMULATED_RAW
    if source == "archive":
        return ARCHIVE_RAW
    if source == "crawl":
        return f"{CRAWL_RAW}/raw_manifest.json"
    path = config["snapshot"]["path"]
    if not path:
        raise WorkflowError(
            "config: source is 'snapshot' but snapshot.path is not set; give a raw JSONL "
            "file or directory, or archive-schema CSV/parquet files, e.g. --config "
            "source=snapshot snapshot='{path: my.jsonl}'")
    if not Path(path).exists():
        raise WorkflowError(f"config: snapshot.path {path!r} does not exist")
    return LOCAL_ARCHIVE_RAW if local_archive_files(path) else path


def without_credentials(section):
    """A config section with its endpoint's user:password part removed: rule params are
    stored by Snakemake (.snakemake/metadata), so the scripts read the endpoint itself from
    the config (endpoint_of)."""
    if isinstance(section.get("endpoint"), str):
        return {**section, "endpoint": public_url(section["endpoint"])}
    return section


def source_identity():
    """What identifies the data, recorded in the snapshot manifest (a changed value reruns)."""
    source = config["source"]
    identity = {"kind": source}
    if source in ("simulated", "snapshot", "archive", "crawl"):
        identity.update(without_credentials(config[source]))
    return identity
