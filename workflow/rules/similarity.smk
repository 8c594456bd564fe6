# Genetic similarity of relatives: motif sampling, three measures on two DNAs, tests of the
# siblings-vs-parent finding, and the directionality sweep (PAPER.md §3).


rule count_motifs:
    input:
        **LINEAGE_FILES,
    output:
        table=report(TABLES["motifs"], caption="../report/motifs.rst", category="Similarity"),
    params:
        variants={v: LINEAGE_CONFIG["variants"][v] for v in SIMILARITY_CONFIG["variants"]},
    log:
        log_path("count_motifs"),
    benchmark:
        benchmark_path("count_motifs")
    script:
        "../scripts/count_motifs.py"


rule sample_motif_pairs:
    input:
        **LINEAGE_FILES,
    output:
        pairs="results/similarity/pairs.parquet",
    params:
        variants={v: LINEAGE_CONFIG["variants"][v] for v in SIMILARITY_CONFIG["variants"]},
        samples=SIMILARITY_CONFIG["samples_per_configuration"],
        seed=config["seed"],
    log:
        log_path("sample_motif_pairs"),
    benchmark:
        benchmark_path("sample_motif_pairs")
    script:
        "../scripts/sample_motif_pairs.py"


rule score_similarity:
    input:
        pairs="results/similarity/pairs.parquet",
        models=SNAPSHOT_FILES["models"],
        cards=SNAPSHOT_FILES["cards"],
        nodes=LINEAGE_FILES["nodes"],
    output:
        scored="results/similarity/scored.parquet",
    params:
        features=SIMILARITY_CONFIG["features"],
        fit_sample=SIMILARITY_CONFIG["fit_sample"],
        card_min_chars=SIMILARITY_CONFIG["card_min_chars"],
        card_chars=SIMILARITY_CONFIG["card_chars"],
        seed=config["seed"],
    threads: 2
    log:
        log_path("score_similarity"),
    benchmark:
        benchmark_path("score_similarity")
    script:
        "../scripts/score_similarity.py"


rule tabulate_similarity:
    input:
        scored="results/similarity/scored.parquet",
    output:
        table=report(TABLES["similarity"], caption="../report/similarity.rst",
                     category="Similarity"),
    params:
        replicates=SIMILARITY_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_similarity"),
    benchmark:
        benchmark_path("tabulate_similarity")
    script:
        "../scripts/tabulate_similarity.py"


rule test_similarity:
    input:
        scored="results/similarity/scored.parquet",
    output:
        tests="results/tests/similarity.csv",
    params:
        replicates=SIMILARITY_CONFIG["permutation_replicates"],
        seed=config["seed"],
    log:
        log_path("test_similarity"),
    benchmark:
        benchmark_path("test_similarity")
    script:
        "../scripts/test_similarity.py"


rule plot_similarity:
    input:
        table=TABLES["similarity"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=report("results/figures/similarity_{text}_{measure}.png",
                   caption="../report/similarity_figure.rst", category="Similarity"),
        pdf="results/figures/similarity_{text}_{measure}.pdf",
    wildcard_constraints:
        text="|".join(DNA),
        measure="|".join(SIMILARITY_MEASURES),
    params:
        variant=SIMILARITY_CONFIG["figure_variant"],
    log:
        log_path("plot_similarity_{text}_{measure}"),
    script:
        "../scripts/plot_similarity.py"


rule plot_metadata_diff:
    input:
        models=SNAPSHOT_FILES["models"],
        manifest=SNAPSHOT_FILES["manifest"],
        **LINEAGE_FILES,
    output:
        png=report(FIGURES["metadata_diff"], caption="../report/metadata_diff.rst",
                   category="Similarity"),
        pdf=pdf_of(FIGURES["metadata_diff"]),
    params:
        pair=SIMILARITY_CONFIG["diff_pair"],
    log:
        log_path("plot_metadata_diff"),
    script:
        "../scripts/plot_metadata_diff.py"


rule sweep_directionality:
    output:
        table=report(TABLES["directionality_sweep"],
                     caption="../report/directionality_sweep.rst", category="Similarity"),
    params:
        sweep=SIMILARITY_CONFIG["sweep"],
        samples=SIMILARITY_CONFIG["samples_per_configuration"],
        features=SIMILARITY_CONFIG["features"],
        fit_sample=SIMILARITY_CONFIG["fit_sample"],
        card_min_chars=SIMILARITY_CONFIG["card_min_chars"],
        card_chars=SIMILARITY_CONFIG["card_chars"],
        replicates=SIMILARITY_CONFIG["bootstrap_replicates"],
    log:
        log_path("sweep_directionality"),
    benchmark:
        benchmark_path("sweep_directionality")
    script:
        "../scripts/sweep_directionality.py"


rule plot_directionality_sweep:
    input:
        table=TABLES["directionality_sweep"],
    output:
        png=report(FIGURES["directionality_sweep"],
                   caption="../report/directionality_sweep.rst", category="Similarity"),
        pdf=pdf_of(FIGURES["directionality_sweep"]),
    params:
        sweep=SIMILARITY_CONFIG["sweep"],
    log:
        log_path("plot_directionality_sweep"),
    script:
        "../scripts/plot_directionality_sweep.py"


rule collect_similarity_numbers:
    input:
        table=TABLES["similarity"],
        motifs=TABLES["motifs"],
        cards=SNAPSHOT_FILES["cards"],
    output:
        values="results/replication/similarity.csv",
    params:
        samples=SIMILARITY_CONFIG["samples_per_configuration"],
        card_min_chars=SIMILARITY_CONFIG["card_min_chars"],
    log:
        log_path("collect_similarity_numbers"),
    script:
        "../scripts/collect_similarity_numbers.py"
