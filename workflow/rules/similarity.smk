# Genetic similarity of relatives: motif sampling, three measures on two DNAs, tests of the
# siblings-vs-parent finding, and the directionality sweep (docs/method.md#similarity).

from hubanatomy.similarity.sweep import run_mutation, run_scenario, sweep_runs


rule count_motifs:
    input:
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
    output:
        table=registered("results/tables/motifs.csv"),
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
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
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
    # rapidfuzz's workers and polars take the job's threads: at 1.86M models 71 s on one
    # core, 60 s on two
    threads: 4
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
        table=registered("results/tables/similarity.csv"),
    params:
        replicates=SIMILARITY_CONFIG["bootstrap_replicates"],
        seed=config["seed"],
    log:
        log_path("tabulate_similarity"),
    benchmark:
        benchmark_path("tabulate_similarity")
    script:
        "../scripts/tabulate_similarity.py"


rule run_similarity_tests:
    input:
        scored="results/similarity/scored.parquet",
    output:
        tests="results/tests/similarity.csv",
    params:
        replicates=SIMILARITY_CONFIG["permutation_replicates"],
        seed=config["seed"],
    log:
        log_path("run_similarity_tests"),
    benchmark:
        benchmark_path("run_similarity_tests")
    script:
        "../scripts/run_similarity_tests.py"


rule plot_similarity:
    input:
        table=TABLES["similarity"],
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        png=registered("results/figures/similarity_{text}_{measure}.png"),
        pdf="results/figures/similarity_{text}_{measure}.pdf",
    wildcard_constraints:
        text="|".join(DNA),
        measure="|".join(SIMILARITY_MEASURES),
    params:
        variant=SIMILARITY_CONFIG["figure_variant"],
    log:
        log_path("plot_similarity_{text}_{measure}"),
    benchmark:
        benchmark_path("plot_similarity_{text}_{measure}")
    script:
        "../scripts/plot_similarity.py"


rule plot_metadata_diff:
    input:
        models=SNAPSHOT_FILES["models"],
        manifest=SNAPSHOT_FILES["manifest"],
        nodes=LINEAGE_FILES["nodes"],
        edges=LINEAGE_FILES["edges"],
    output:
        png=registered("results/figures/metadata_diff.png"),
        pdf="results/figures/metadata_diff.pdf",
    params:
        pair=SIMILARITY_CONFIG["diff_pair"],
    log:
        log_path("plot_metadata_diff"),
    benchmark:
        benchmark_path("plot_metadata_diff")
    script:
        "../scripts/plot_metadata_diff.py"


# The directionality sweep: one simulated Hub per run (a directed one per share of siblings
# following a shared direction, and the neutral one), each simulated, normalised and scored
# by its own jobs, then tabulated.
SWEEP = SIMILARITY_CONFIG["sweep"]
SWEEP_SNAPSHOT = {k: str(v) for k, v in snapshot_files("results/sweep/{run}/snapshot").items()}


wildcard_constraints:
    run=r"neutral|directed-\d+(\.\d+)?",


rule simulate_sweep_hub:
    output:
        raw=directory("results/sweep/{run}/raw"),
    params:
        models=SWEEP["models"],
        seed=SWEEP["seed"],
        scenario=lambda wildcards: run_scenario(wildcards.run)[0],
        mutation=lambda wildcards: run_mutation(wildcards.run),
    log:
        log_path("simulate_sweep_hub_{run}"),
    benchmark:
        benchmark_path("simulate_sweep_hub_{run}")
    script:
        "../scripts/simulate_hub.py"


rule normalise_sweep_hub:
    input:
        raw="results/sweep/{run}/raw",
    output:
        **SWEEP_SNAPSHOT,
    params:
        source={"kind": "simulated"},
        max_reject_fraction=config["normalise"]["max_reject_fraction"],
    log:
        log_path("normalise_sweep_hub_{run}"),
    benchmark:
        benchmark_path("normalise_sweep_hub_{run}")
    script:
        "../scripts/normalise_snapshot.py"


rule score_sweep_run:
    input:
        models=SWEEP_SNAPSHOT["models"],
        parents=SWEEP_SNAPSHOT["parents"],
        cards=SWEEP_SNAPSHOT["cards"],
    output:
        scores="results/sweep/{run}/scores.parquet",
    params:
        seed=SWEEP["seed"],
        samples=SIMILARITY_CONFIG["samples_per_configuration"],
        features=SIMILARITY_CONFIG["features"],
        fit_sample=SIMILARITY_CONFIG["fit_sample"],
        card_min_chars=SIMILARITY_CONFIG["card_min_chars"],
        card_chars=SIMILARITY_CONFIG["card_chars"],
        replicates=SIMILARITY_CONFIG["bootstrap_replicates"],
    log:
        log_path("score_sweep_run_{run}"),
    benchmark:
        benchmark_path("score_sweep_run_{run}")
    script:
        "../scripts/score_sweep_run.py"


rule tabulate_directionality_sweep:
    input:
        runs=expand("results/sweep/{run}/scores.parquet", run=sweep_runs(SWEEP["shares"])),
    output:
        table=registered("results/tables/directionality_sweep.csv"),
    log:
        log_path("tabulate_directionality_sweep"),
    benchmark:
        benchmark_path("tabulate_directionality_sweep")
    script:
        "../scripts/tabulate_directionality_sweep.py"


rule plot_directionality_sweep:
    input:
        table=TABLES["directionality_sweep"],
    output:
        png=registered("results/figures/directionality_sweep.png"),
        pdf="results/figures/directionality_sweep.pdf",
    params:
        sweep=SIMILARITY_CONFIG["sweep"],
    log:
        log_path("plot_directionality_sweep"),
    benchmark:
        benchmark_path("plot_directionality_sweep")
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
    benchmark:
        benchmark_path("collect_similarity_numbers")
    script:
        "../scripts/collect_similarity_numbers.py"
