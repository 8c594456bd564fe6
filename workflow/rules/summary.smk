# First analyses: snapshot summary, the "top tens" summary figure, models created over time.

from hubanatomy.acquire.arxiv import lookup_enabled

# The arXiv categories of linked papers need the arXiv API: looked up when config arxiv.enabled
# is true, or auto with real Hub data fetched online; otherwise the arXiv panel of the summary
# figure shows the most linked papers (config/README.md).
ARXIV_CONFIG = config["arxiv"]
ARXIV_ENABLED = lookup_enabled(config)
ARXIV_CATEGORIES = "results/tables/arxiv_categories.csv"
TOP_TENS_ARXIV_INPUT = {"arxiv_categories": ARXIV_CATEGORIES} if ARXIV_ENABLED else {}
if ARXIV_ENABLED:
    TABLES["arxiv_categories"] = ARXIV_CATEGORIES


rule tabulate_snapshot_summary:
    input:
        **SNAPSHOT_FILES,
    output:
        table=report(TABLES["snapshot_summary"], caption="../report/snapshot_summary.rst",
                     category="Summary"),
    log:
        log_path("tabulate_snapshot_summary"),
    benchmark:
        benchmark_path("tabulate_snapshot_summary")
    script:
        "../scripts/tabulate_snapshot_summary.py"


# network: one batched query per arxiv.delay_seconds; answers cached in arxiv.cache (not an
# output, so a failed or killed job keeps them and the rerun asks only for the rest)
rule lookup_arxiv:
    input:
        models=SNAPSHOT_FILES["models"],
    output:
        table=ARXIV_CATEGORIES,
    params:
        endpoint=ARXIV_CONFIG["endpoint"],
        batch_size=ARXIV_CONFIG["batch_size"],
        delay_seconds=ARXIV_CONFIG["delay_seconds"],
        cache=ARXIV_CONFIG["cache"],
    localrule: True
    log:
        log_path("lookup_arxiv"),
    benchmark:
        benchmark_path("lookup_arxiv")
    script:
        "../scripts/lookup_arxiv.py"


rule tabulate_top_tens:
    input:
        **SNAPSHOT_FILES,
        **TOP_TENS_ARXIV_INPUT,
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=TABLES["top_tens"],
    params:
        top_n=config["summary"]["top_n"],
    log:
        log_path("tabulate_top_tens"),
    benchmark:
        benchmark_path("tabulate_top_tens")
    script:
        "../scripts/tabulate_top_tens.py"


rule plot_top_tens:
    input:
        table=TABLES["top_tens"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report(FIGURES["top_tens"], caption="../report/top_tens.rst", category="Summary"),
        pdf="results/figures/top_tens.pdf",
    params:
        arxiv_categories=ARXIV_ENABLED,
    log:
        log_path("plot_top_tens"),
    script:
        "../scripts/plot_top_tens.py"


rule tabulate_created_by_month:
    input:
        models=SNAPSHOT_FILES["models"],
    output:
        table=TABLES["created_by_month"],
    log:
        log_path("tabulate_created_by_month"),
    benchmark:
        benchmark_path("tabulate_created_by_month")
    script:
        "../scripts/tabulate_created_by_month.py"


rule plot_created_histogram:
    input:
        table=TABLES["created_by_month"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report(FIGURES["created_at_histogram"], caption="../report/created_at_histogram.rst",
                   category="Summary"),
        pdf="results/figures/created_at_histogram.pdf",
    log:
        log_path("plot_created_histogram"),
    script:
        "../scripts/plot_created_histogram.py"
