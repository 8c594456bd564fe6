# Paths, input functions and parse-time checks shared by all stages.

from pathlib import Path

from snakemake.exceptions import WorkflowError

from hubanatomy.acquire.arxiv import lookup_enabled
from hubanatomy.drift.labels import SET_TRAITS
from hubanatomy.lineage.build import lineage_files
from hubanatomy.outputs import REPORT_CATEGORIES, by_name, read_outputs, wildcard_values
from hubanatomy.outputs import targets as registered_targets
from hubanatomy.similarity.score import MEASURES as SIMILARITY_MEASURES
from hubanatomy.similarity.score import TEXTS as DNA
from hubanatomy.snapshot.files import snapshot_files

SIMULATED_RAW = "results/raw/simulated"
# the normalised snapshot, and the one every later stage reads (a sample of whole families
# when sample.families > 0, otherwise the snapshot itself)
FULL_SNAPSHOT = "results/snapshot"
FULL_SNAPSHOT_FILES = {k: str(v) for k, v in snapshot_files(FULL_SNAPSHOT).items()}
SAMPLED_SNAPSHOT = "results/sample"
SNAPSHOT = SAMPLED_SNAPSHOT if config["sample"]["families"] > 0 else FULL_SNAPSHOT
SNAPSHOT_FILES = {k: str(v) for k, v in snapshot_files(SNAPSHOT).items()}
LINEAGE = "results/lineage"
LINEAGE_FILES = {k: str(v) for k, v in lineage_files(LINEAGE).items()}
LINEAGE_CONFIG = config["lineage"]
if LINEAGE_CONFIG["family_variant"] not in LINEAGE_CONFIG["variants"]:
    raise WorkflowError(
        f"config: lineage.family_variant {LINEAGE_CONFIG['family_variant']!r} is not one of "
        f"lineage.variants ({', '.join(LINEAGE_CONFIG['variants'])})")

DRIFT_CONFIG = config["drift"]
for _variant in [*DRIFT_CONFIG["variants"], DRIFT_CONFIG["figure_variant"]]:
    if _variant not in LINEAGE_CONFIG["variants"]:
        raise WorkflowError(f"config: drift variant {_variant!r} is not one of lineage.variants "
                            f"({', '.join(LINEAGE_CONFIG['variants'])})")
if DRIFT_CONFIG["figure_variant"] not in DRIFT_CONFIG["variants"]:
    raise WorkflowError("config: drift.figure_variant must be one of drift.variants")
TRAITS = "results/traits"
ORDERINGS_CONFIG = config["orderings"]
LICENSES_CONFIG = config["licenses"]
for _key, _variant in (("orderings.figure_variant", ORDERINGS_CONFIG["figure_variant"]),
                       ("licenses.audit_variant", LICENSES_CONFIG["audit_variant"])):
    if _variant not in DRIFT_CONFIG["variants"]:
        raise WorkflowError(f"config: {_key} {_variant!r} must be one of drift.variants")
SIMILARITY_CONFIG = config["similarity"]
for _variant in [*SIMILARITY_CONFIG["variants"], SIMILARITY_CONFIG["figure_variant"]]:
    if _variant not in LINEAGE_CONFIG["variants"]:
        raise WorkflowError(f"config: similarity variant {_variant!r} is not one of "
                            f"lineage.variants ({', '.join(LINEAGE_CONFIG['variants'])})")
if SIMILARITY_CONFIG["figure_variant"] not in SIMILARITY_CONFIG["variants"]:
    raise WorkflowError("config: similarity.figure_variant must be one of similarity.variants")
# The arXiv categories of linked papers need the arXiv API: looked up when config
# arxiv.enabled is true, or auto with real Hub data fetched online; otherwise the arXiv panel
# of the summary figure shows the most linked papers (config/README.md).
ARXIV_ENABLED = lookup_enabled(config)

# Every figure and table, once: workflow/outputs.tsv (target, rule, paper, stage, caption).
OUTPUTS = read_outputs(Path(workflow.basedir) / "workflow" / "outputs.tsv")
OUTPUT_ROWS = {row["target"]: row for row in OUTPUTS}
TARGETS = registered_targets(OUTPUTS, wildcard_values(config), {"arxiv": ARXIV_ENABLED})
# name -> path, for the rules that read a figure's table
FIGURES = by_name(TARGETS, "results/figures/", ".png")
TABLES = by_name(TARGETS, "results/tables/", ".csv")


def registered(target):
    """A registered output as the rules declare it, in the report with its caption and
    section, when the registry gives it a caption."""
    row = OUTPUT_ROWS[target]
    if not row["caption"]:
        return target
    return report(target, caption=f"../report/{row['caption']}",
                  category=REPORT_CATEGORIES[row["stage"]])


def check_registry(rules):
    """Every registered target is an output of the rule the registry names (run once all
    rules are defined)."""
    for row in OUTPUTS:
        try:
            declared = [str(f) for f in getattr(rules, row["rule"]).output]
        except AttributeError:
            raise WorkflowError(f"workflow/outputs.tsv: {row['target']}: no rule "
                                f"{row['rule']!r}") from None
        if row["target"] not in declared:
            raise WorkflowError(f"workflow/outputs.tsv: {row['target']} is not an output of "
                                f"rule {row['rule']} ({', '.join(declared)})")
# the parts that contribute rows to results/replication.csv
REPLICATION_PARTS = ["foundation", "lineage", "drift", "orderings", "similarity"]
# the parts whose tests make results/tables/tests.csv (q-values over all of them)
TEST_PARTS = ["drift", *(f"transitions_{t}" for t in SET_TRAITS), "similarity"]


def all_targets():
    return TARGETS


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


# The settings of each source that identify its data: a change reruns the acquisition and
# everything after it. The others (endpoints, workers, shards' rate budgets, retries, waits)
# only tune how the data is fetched; rules never hold them in params, so changing them reruns
# nothing (crawl.shards excepted: it is the number of card jobs, see config/README.md).
IDENTITY_KEYS = {"simulated": ("models", "seed", "scenario"), "snapshot": ("path",),
                 "archive": ("repo_id", "revision"), "crawl": ("max_models", "max_card_bytes")}


def data_identity(source):
    return {key: config[source][key] for key in IDENTITY_KEYS[source]}


def source_identity():
    """What identifies the data, recorded in the snapshot manifest (a changed value reruns)."""
    return {"kind": config["source"], **data_identity(config["source"])}
