# Family trees: edges, families and generations with every hygiene decision recorded, then
# the lineage tables and figures (docs/method.md#lineage).


rule build_lineage:
    input:
        models=SNAPSHOT_FILES["models"],
        parents=SNAPSHOT_FILES["parents"],
        renames=SNAPSHOT_FILES["renames"],
    output:
        **LINEAGE_FILES,
    params:
        lineage=LINEAGE_CONFIG,
    log:
        log_path("build_lineage"),
    benchmark:
        benchmark_path("build_lineage")
    script:
        "../scripts/build_lineage.py"


rule tabulate_lineage_edges:
    input:
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
    output:
        table=registered("results/tables/lineage_edges_by_relation.csv"),
    log:
        log_path("tabulate_lineage_edges"),
    benchmark:
        benchmark_path("tabulate_lineage_edges")
    script:
        "../scripts/tabulate_lineage_edges.py"


rule tabulate_top_parents:
    input:
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/top_parents.csv"),
    params:
        top_n=LINEAGE_CONFIG["top_n"],
    log:
        log_path("tabulate_top_parents"),
    benchmark:
        benchmark_path("tabulate_top_parents")
    script:
        "../scripts/tabulate_top_parents.py"


rule tabulate_largest_families:
    input:
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/largest_families.csv"),
    params:
        variant=LINEAGE_CONFIG["family_variant"],
        top_n=LINEAGE_CONFIG["top_n"],
    log:
        log_path("tabulate_largest_families"),
    benchmark:
        benchmark_path("tabulate_largest_families")
    script:
        "../scripts/tabulate_largest_families.py"


rule tabulate_family_sizes:
    input:
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/family_size_distribution.csv"),
    params:
        variants=list(LINEAGE_CONFIG["variants"]),
    log:
        log_path("tabulate_family_sizes"),
    benchmark:
        benchmark_path("tabulate_family_sizes")
    script:
        "../scripts/tabulate_family_sizes.py"


rule tabulate_generations:
    input:
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/generation_distribution.csv"),
    params:
        variants=list(LINEAGE_CONFIG["variants"]),
    log:
        log_path("tabulate_generations"),
    benchmark:
        benchmark_path("tabulate_generations")
    script:
        "../scripts/tabulate_generations.py"


rule tabulate_largest_families_over_time:
    input:
        nodes=LINEAGE_FILES["nodes"],
    output:
        table=registered("results/tables/largest_families_over_time.csv"),
    params:
        variant=LINEAGE_CONFIG["family_variant"],
        top_n=10,
    log:
        log_path("tabulate_largest_families_over_time"),
    benchmark:
        benchmark_path("tabulate_largest_families_over_time")
    script:
        "../scripts/tabulate_largest_families_over_time.py"


rule plot_family_size_ccdf:
    input:
        table=TABLES["family_size_distribution"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/family_size_ccdf.png"),
        pdf="results/figures/family_size_ccdf.pdf",
    log:
        log_path("plot_family_size_ccdf"),
    benchmark:
        benchmark_path("plot_family_size_ccdf")
    script:
        "../scripts/plot_family_size_ccdf.py"


rule plot_generation_depth:
    input:
        table=TABLES["generation_distribution"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/generation_depth.png"),
        pdf="results/figures/generation_depth.pdf",
    log:
        log_path("plot_generation_depth"),
    benchmark:
        benchmark_path("plot_generation_depth")
    script:
        "../scripts/plot_generation_depth.py"


rule plot_largest_families_over_time:
    input:
        table=TABLES["largest_families_over_time"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/largest_families_over_time.png"),
        pdf="results/figures/largest_families_over_time.pdf",
    params:
        variant=LINEAGE_CONFIG["family_variant"],
    log:
        log_path("plot_largest_families_over_time"),
    benchmark:
        benchmark_path("plot_largest_families_over_time")
    script:
        "../scripts/plot_largest_families_over_time.py"


rule plot_family_tree_rank:
    input:
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/family_tree_rank{rank}.png"),
        pdf="results/figures/family_tree_rank{rank}.pdf",
    wildcard_constraints:
        rank=r"[1-9][0-9]*",
    params:
        variant=LINEAGE_CONFIG["family_variant"],
        relations=LINEAGE_CONFIG["variants"][LINEAGE_CONFIG["family_variant"]],
        max_nodes=LINEAGE_CONFIG["tree_max_nodes"],
    log:
        log_path("plot_family_tree_rank{rank}"),
    benchmark:
        benchmark_path("plot_family_tree_rank{rank}")
    script:
        "../scripts/plot_family_tree.py"


rule plot_family_tree_named:
    input:
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/family_tree_named.png"),
        pdf="results/figures/family_tree_named.pdf",
    params:
        variant=LINEAGE_CONFIG["family_variant"],
        relations=LINEAGE_CONFIG["variants"][LINEAGE_CONFIG["family_variant"]],
        max_nodes=LINEAGE_CONFIG["tree_max_nodes"],
        named_model=LINEAGE_CONFIG["named_model"],
        fallback_rank=LINEAGE_CONFIG["named_fallback_rank"],
    log:
        log_path("plot_family_tree_named"),
    benchmark:
        benchmark_path("plot_family_tree_named")
    script:
        "../scripts/plot_family_tree.py"


rule collect_lineage_numbers:
    input:
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
    output:
        values="results/replication/lineage.csv",
    log:
        log_path("collect_lineage_numbers"),
    benchmark:
        benchmark_path("collect_lineage_numbers")
    script:
        "../scripts/collect_lineage_numbers.py"
