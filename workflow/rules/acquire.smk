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
        models=SNAPSHOT_FILES["models"],
        parents=SNAPSHOT_FILES["parents"],
        cards=SNAPSHOT_FILES["cards"],
        manifest=SNAPSHOT_FILES["manifest"],
        rejected=f"{SNAPSHOT}/rejected.csv",
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
