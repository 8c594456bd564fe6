# First analyses: snapshot summary, the "top tens" summary figure, models created over time.

ARXIV_CONFIG = config["arxiv"]
ARXIV_CATEGORIES = "results/tables/arxiv_categories.csv"
TOP_TENS_ARXIV_INPUT = {"arxiv_categories": ARXIV_CATEGORIES} if ARXIV_ENABLED else {}


rule tabulate_snapshot_summary:
    input:
        models=SNAPSHOT_FILES["models"],
        parents=SNAPSHOT_FILES["parents"],
        cards=SNAPSHOT_FILES["cards"],
    output:
        table=registered("results/tables/snapshot_summary.csv"),
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
        table=registered("results/tables/arxiv_categories.csv"),
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
        models=SNAPSHOT_FILES["models"],
        **TOP_TENS_ARXIV_INPUT,
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/top_tens.csv"),
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
        png=registered("results/figures/top_tens.png"),
        pdf="results/figures/top_tens.pdf",
    params:
        arxiv_categories=ARXIV_ENABLED,
    log:
        log_path("plot_top_tens"),
    benchmark:
        benchmark_path("plot_top_tens")
    script:
        "../scripts/plot_top_tens.py"


rule tabulate_created_by_month:
    input:
        models=SNAPSHOT_FILES["models"],
    output:
        table=registered("results/tables/created_by_month.csv"),
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
        png=registered("results/figures/created_at_histogram.png"),
        pdf="results/figures/created_at_histogram.pdf",
    log:
        log_path("plot_created_histogram"),
    benchmark:
        benchmark_path("plot_created_histogram")
    script:
        "../scripts/plot_created_histogram.py"
