# The replication table: every number of the paper next to ours.


rule collect_foundation_numbers:
    input:
        models=SNAPSHOT_FILES["models"],
        cards=SNAPSHOT_FILES["cards"],
    output:
        values="results/replication/foundation.csv",
    log:
        log_path("collect_foundation_numbers"),
    benchmark:
        benchmark_path("collect_foundation_numbers")
    script:
        "../scripts/collect_foundation_numbers.py"


rule build_replication_table:
    input:
        parts=expand("results/replication/{part}.csv", part=REPLICATION_PARTS),
        manifest=SNAPSHOT_FILES["manifest"],
    output:
        table=registered("results/replication.csv"),
    log:
        log_path("build_replication_table"),
    benchmark:
        benchmark_path("build_replication_table")
    script:
        "../scripts/build_replication_table.py"
