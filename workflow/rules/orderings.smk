# Optimal orderings of trait values with bootstrap uncertainty, transition graphs, and the
# model -> model license-compatibility audit (docs/method.md#orderings, #license-audit).


rule order_traits:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
        traits=f"{TRAITS}/traits.parquet",
    output:
        order="results/orderings/{trait}.csv",
        agreement="results/orderings/{trait}_agreement.csv",
    wildcard_constraints:
        trait="|".join(SET_TRAITS),
    params:
        variants=DRIFT_CONFIG["variants"],
        top_n=ordering_top_n,
        values_from=ORDERINGS_CONFIG["values_from"],
        replicates=ORDERINGS_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("order_traits_{trait}"),
    benchmark:
        benchmark_path("order_traits_{trait}")
    script:
        "../scripts/order_traits.py"


rule tabulate_orderings:
    input:
        parts=expand("results/orderings/{trait}.csv", trait=SET_TRAITS),
    output:
        table=registered("results/tables/orderings.csv"),
    params:
        table="orderings",
    log:
        log_path("tabulate_orderings"),
    benchmark:
        benchmark_path("tabulate_orderings")
    script:
        "../scripts/concatenate_tables.py"


rule tabulate_ordering_agreement:
    input:
        parts=expand("results/orderings/{trait}_agreement.csv", trait=SET_TRAITS),
    output:
        table=registered("results/tables/ordering_agreement.csv"),
    params:
        table="ordering_agreement",
    log:
        log_path("tabulate_ordering_agreement"),
    benchmark:
        benchmark_path("tabulate_ordering_agreement")
    script:
        "../scripts/concatenate_tables.py"


rule plot_transition_graph:
    input:
        order="results/orderings/{trait}.csv",
        transitions="results/tables/transitions_{trait}.csv",
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/transitions_{trait}.png"),
        pdf="results/figures/transitions_{trait}.pdf",
    wildcard_constraints:
        trait="|".join(SET_TRAITS),
    params:
        variant=ORDERINGS_CONFIG["figure_variant"],
    log:
        log_path("plot_transition_graph_{trait}"),
    benchmark:
        benchmark_path("plot_transition_graph_{trait}")
    script:
        "../scripts/plot_transition_graph.py"


rule audit_licenses:
    input:
        edges=f"{TRAITS}/drift_edges.parquet",
        models=SNAPSHOT_FILES["models"],
    output:
        verdicts="results/licenses/edge_verdicts.parquet",
    params:
        variant=LICENSES_CONFIG["audit_variant"],
    log:
        log_path("audit_licenses"),
    benchmark:
        benchmark_path("audit_licenses")
    script:
        "../scripts/audit_licenses.py"


rule tabulate_license_audit:
    input:
        verdicts="results/licenses/edge_verdicts.parquet",
    output:
        table=registered("results/tables/license_audit.csv"),
    params:
        replicates=DRIFT_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_license_audit"),
    benchmark:
        benchmark_path("tabulate_license_audit")
    script:
        "../scripts/tabulate_license_audit.py"


rule tabulate_license_violations:
    input:
        verdicts="results/licenses/edge_verdicts.parquet",
    output:
        table=registered("results/tables/license_violations_top.csv"),
    params:
        top_n=LICENSES_CONFIG["top_violations"],
    log:
        log_path("tabulate_license_violations"),
    benchmark:
        benchmark_path("tabulate_license_violations")
    script:
        "../scripts/tabulate_license_violations.py"


rule plot_license_audit:
    input:
        table=TABLES["license_audit"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/license_audit.png"),
        pdf="results/figures/license_audit.pdf",
    log:
        log_path("plot_license_audit"),
    benchmark:
        benchmark_path("plot_license_audit")
    script:
        "../scripts/plot_license_audit.py"


rule collect_ordering_numbers:
    input:
        orderings=TABLES["orderings"],
    output:
        values="results/replication/orderings.csv",
    params:
        values_from=ORDERINGS_CONFIG["values_from"],
    log:
        log_path("collect_ordering_numbers"),
    benchmark:
        benchmark_path("collect_ordering_numbers")
    script:
        "../scripts/collect_ordering_numbers.py"
