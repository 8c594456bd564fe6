# Acquisition: raw Hub data from the configured source, normalised into the canonical
# snapshot (results/snapshot/), the only thing later stages read.


rule simulate_hub:
    output:
        raw=directory(SIMULATED_RAW),
    params:
        models=config["simulated"]["models"],
        seed=config["simulated"]["seed"],
        scenario=config["simulated"]["scenario"],
    log:
        log_path("simulate_hub"),
    benchmark:
        benchmark_path("simulate_hub")
    conda:
        ENV
    script:
        "../scripts/simulate_hub.py"


rule normalise_snapshot:
    input:
        raw=raw_source(),
    output:
        **FULL_SNAPSHOT_FILES,
        rejected=f"{FULL_SNAPSHOT}/rejected.csv",
    params:
        source=source_identity(),
        max_reject_fraction=config["normalise"]["max_reject_fraction"],
    log:
        log_path("normalise_snapshot"),
    benchmark:
        benchmark_path("normalise_snapshot")
    conda:
        ENV
    script:
        "../scripts/normalise_snapshot.py"


rule sample_snapshot:
    input:
        **FULL_SNAPSHOT_FILES,
    output:
        **{k: f"results/sample/{v}" for k, v in SNAPSHOT_NAMES.items()},
    params:
        families=config["sample"]["families"],
        seed=config["sample"]["seed"],
        precedence=LINEAGE_CONFIG["relation_precedence"],
    log:
        log_path("sample_snapshot"),
    benchmark:
        benchmark_path("sample_snapshot")
    conda:
        ENV
    script:
        "../scripts/sample_snapshot.py"
