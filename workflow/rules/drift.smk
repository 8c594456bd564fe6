# Traits and drift: labels, mutation rates, transitions, numeric drifts, and the tests, all
# with family-level inference (PAPER.md §4).


rule label_traits:
    input:
        models=SNAPSHOT_FILES["models"],
        cards=SNAPSHOT_FILES["cards"],
    output:
        traits=f"{TRAITS}/traits.parquet",
    log:
        log_path("label_traits"),
    benchmark:
        benchmark_path("label_traits")
    script:
        "../scripts/label_traits.py"


rule tabulate_license_coverage:
    input:
        traits=f"{TRAITS}/traits.parquet",
    output:
        table=report(TABLES["license_coverage"], caption="../report/license_coverage.rst",
                     category="Traits and drift"),
    log:
        log_path("tabulate_license_coverage"),
    script:
        "../scripts/tabulate_license_coverage.py"


rule build_drift_edges:
    input:
        traits=f"{TRAITS}/traits.parquet",
        **LINEAGE_FILES,
    output:
        edges=f"{TRAITS}/drift_edges.parquet",
    params:
        variants={v: LINEAGE_CONFIG["variants"][v] for v in DRIFT_CONFIG["variants"]},
    log:
        log_path("build_drift_edges"),
    benchmark:
        benchmark_path("build_drift_edges")
    script:
        "../scripts/build_drift_edges.py"


rule tabulate_mutation_rates:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
    output:
        table=report(TABLES["mutation_rates"], caption="../report/mutation_rates.rst",
                     category="Traits and drift"),
    params:
        variants=DRIFT_CONFIG["variants"],
        replicates=DRIFT_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_mutation_rates"),
    benchmark:
        benchmark_path("tabulate_mutation_rates")
    script:
        "../scripts/tabulate_mutation_rates.py"


rule tabulate_numeric_drift:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
    output:
        table=report(TABLES["numeric_drift"], caption="../report/numeric_drift.rst",
                     category="Traits and drift"),
    params:
        variants=DRIFT_CONFIG["variants"],
        replicates=DRIFT_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_numeric_drift"),
    benchmark:
        benchmark_path("tabulate_numeric_drift")
    script:
        "../scripts/tabulate_numeric_drift.py"


rule tabulate_transitions:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
        traits=f"{TRAITS}/traits.parquet",
    output:
        table=report("results/tables/transitions_{trait}.csv",
                     caption="../report/transitions.rst", category="Traits and drift"),
        tests="results/tests/transitions_{trait}.csv",
    wildcard_constraints:
        trait="|".join(SET_TRAITS),
    params:
        variants=DRIFT_CONFIG["variants"],
        top_n=DRIFT_CONFIG["top_n"],
        replicates=DRIFT_CONFIG["permutation_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_transitions_{trait}"),
    benchmark:
        benchmark_path("tabulate_transitions_{trait}")
    script:
        "../scripts/tabulate_transitions.py"


rule test_drift:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
    output:
        tests="results/tests/drift.csv",
    params:
        variants=DRIFT_CONFIG["variants"],
        replicates=DRIFT_CONFIG["permutation_replicates"],
        seed=config["seed"],
    log:
        log_path("test_drift"),
    benchmark:
        benchmark_path("test_drift")
    script:
        "../scripts/test_drift.py"


rule collect_tests:
    input:
        parts=expand("results/tests/{part}.csv", part=TEST_PARTS),
    output:
        table=report(TABLES["tests"], caption="../report/tests.rst",
                     category="Traits and drift"),
    log:
        log_path("collect_tests"),
    script:
        "../scripts/collect_tests.py"


rule plot_card_length_drift:
    input:
        table=TABLES["numeric_drift"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report(FIGURES["card_length_drift"], caption="../report/card_length_drift.rst",
                   category="Traits and drift"),
        pdf=pdf_of(FIGURES["card_length_drift"]),
    params:
        variant=DRIFT_CONFIG["figure_variant"],
    log:
        log_path("plot_card_length_drift"),
    script:
        "../scripts/plot_card_length_drift.py"


rule plot_language_drift:
    input:
        table=TABLES["numeric_drift"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report(FIGURES["language_drift"], caption="../report/language_drift.rst",
                   category="Traits and drift"),
        pdf=pdf_of(FIGURES["language_drift"]),
    params:
        variant=DRIFT_CONFIG["figure_variant"],
    log:
        log_path("plot_language_drift"),
    script:
        "../scripts/plot_language_drift.py"


rule collect_drift_numbers:
    input:
        mutation_rates=TABLES["mutation_rates"],
        numeric_drift=TABLES["numeric_drift"],
    output:
        values="results/replication/drift.csv",
    log:
        log_path("collect_drift_numbers"),
    script:
        "../scripts/collect_drift_numbers.py"
