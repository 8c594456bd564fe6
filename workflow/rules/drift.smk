# Traits and drift: labels, mutation rates, transitions, numeric drifts, and the tests, all
# with family-level inference (docs/method.md#traits-and-drift).


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
        table=registered("results/tables/license_coverage.csv"),
    log:
        log_path("tabulate_license_coverage"),
    benchmark:
        benchmark_path("tabulate_license_coverage")
    script:
        "../scripts/tabulate_license_coverage.py"


rule build_drift_edges:
    input:
        traits=f"{TRAITS}/traits.parquet",
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
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
        table=registered("results/tables/mutation_rates.csv"),
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
        table=registered("results/tables/numeric_drift.csv"),
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
        table=registered("results/tables/transitions_{trait}.csv"),
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


rule run_drift_tests:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
    output:
        tests="results/tests/drift.csv",
    params:
        variants=DRIFT_CONFIG["variants"],
        replicates=DRIFT_CONFIG["permutation_replicates"],
        seed=config["seed"],
    log:
        log_path("run_drift_tests"),
    benchmark:
        benchmark_path("run_drift_tests")
    script:
        "../scripts/run_drift_tests.py"


rule collect_tests:
    input:
        parts=expand("results/tests/{part}.csv", part=TEST_PARTS),
    output:
        table=registered("results/tables/tests.csv"),
    log:
        log_path("collect_tests"),
    benchmark:
        benchmark_path("collect_tests")
    script:
        "../scripts/collect_tests.py"


rule plot_card_length_drift:
    input:
        table=TABLES["numeric_drift"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/card_length_drift.png"),
        pdf="results/figures/card_length_drift.pdf",
    params:
        variant=DRIFT_CONFIG["figure_variant"],
    log:
        log_path("plot_card_length_drift"),
    benchmark:
        benchmark_path("plot_card_length_drift")
    script:
        "../scripts/plot_card_length_drift.py"


rule plot_language_drift:
    input:
        table=TABLES["numeric_drift"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/language_drift.png"),
        pdf="results/figures/language_drift.pdf",
    params:
        variant=DRIFT_CONFIG["figure_variant"],
    log:
        log_path("plot_language_drift"),
    benchmark:
        benchmark_path("plot_language_drift")
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
    benchmark:
        benchmark_path("collect_drift_numbers")
    script:
        "../scripts/collect_drift_numbers.py"


# Calibration of the drift tests on simulated Hubs (docs/method.md#calibration-of-the-drift-tests):
# one job per scenario and seed, so a cluster runs them side by side
CALIBRATION = DRIFT_CONFIG["calibration"]
CALIBRATION_RUNS = [(scenario, seed) for scenario in ("directed", "neutral")
                    for seed in CALIBRATION["seeds"]]


rule run_calibration_tests:
    output:
        tests="results/calibration/{scenario}-seed{seed}/tests.csv",
    wildcard_constraints:
        scenario="directed|neutral",
        seed=r"\d+",
    params:
        models=CALIBRATION["models"],
        replicates=CALIBRATION["replicates"],
        top_n=DRIFT_CONFIG["top_n"],
    log:
        log_path("run_calibration_tests_{scenario}-seed{seed}"),
    benchmark:
        benchmark_path("run_calibration_tests_{scenario}-seed{seed}")
    script:
        "../scripts/run_calibration_tests.py"


rule tabulate_drift_calibration:
    input:
        runs=[f"results/calibration/{scenario}-seed{seed}/tests.csv"
              for scenario, seed in CALIBRATION_RUNS],
    output:
        table=registered("results/tables/drift_calibration.csv"),
    params:
        runs=CALIBRATION_RUNS,
    log:
        log_path("tabulate_drift_calibration"),
    benchmark:
        benchmark_path("tabulate_drift_calibration")
    script:
        "../scripts/tabulate_drift_calibration.py"
