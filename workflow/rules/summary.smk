# First analyses: snapshot summary, the "top tens" summary figure, models created over time.


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
    conda:
        ENV
    script:
        "../scripts/tabulate_snapshot_summary.py"


rule tabulate_top_tens:
    input:
        **SNAPSHOT_FILES,
    output:
        table=TABLES["top_tens"],
    params:
        top_n=config["summary"]["top_n"],
    log:
        log_path("tabulate_top_tens"),
    benchmark:
        benchmark_path("tabulate_top_tens")
    conda:
        ENV
    script:
        "../scripts/tabulate_top_tens.py"


rule plot_top_tens:
    input:
        table=TABLES["top_tens"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report(FIGURES["top_tens"], caption="../report/top_tens.rst", category="Summary"),
        pdf="results/figures/top_tens.pdf",
    log:
        log_path("plot_top_tens"),
    conda:
        ENV
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
    conda:
        ENV
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
    conda:
        ENV
    script:
        "../scripts/plot_created_histogram.py"
