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
    script:
        "../scripts/simulate_hub.py"



rule download_archive:
    output:
        raw=directory(ARCHIVE_RAW),
    params:
        archive=data_identity("archive"),
    log:
        log_path("download_archive"),
    benchmark:
        benchmark_path("download_archive")
    script:
        "../scripts/download_archive.py"


rule convert_local_archive:
    input:
        files=local_archive_files(config["snapshot"]["path"]) if config["snapshot"]["path"] else [],
    output:
        raw=directory(LOCAL_ARCHIVE_RAW),
    log:
        log_path("convert_local_archive"),
    benchmark:
        benchmark_path("convert_local_archive")
    script:
        "../scripts/convert_local_archive.py"


# The crawl: list pages, then card shards (scatter: separate jobs, on a cluster too), then
# gather. Its data lives in results/raw/crawl outside the rules' outputs (only flag files are
# declared), so a failed or killed job never makes Snakemake delete what was fetched: the
# rerun resumes.
scattergather:
    crawl_cards=config["crawl"]["shards"],


rule crawl_list:
    output:
        f"{CRAWL_RAW}/state/list.done",
    params:
        crawl=data_identity("crawl"),
    log:
        log_path("crawl_list"),
    benchmark:
        benchmark_path("crawl_list")
    script:
        "../scripts/crawl_list.py"


rule crawl_cards:
    input:
        f"{CRAWL_RAW}/state/list.done",
    output:
        f"{CRAWL_RAW}/state/cards-{{scatteritem}}.done",
    params:
        crawl=data_identity("crawl"),
    threads: 1
    log:
        log_path("crawl_cards_{scatteritem}"),
    benchmark:
        benchmark_path("crawl_cards_{scatteritem}")
    script:
        "../scripts/crawl_cards.py"


rule gather_crawl:
    input:
        gather.crawl_cards(f"{CRAWL_RAW}/state/cards-{{scatteritem}}.done"),
    output:
        f"{CRAWL_RAW}/raw_manifest.json",
    params:
        crawl=data_identity("crawl"),
    log:
        log_path("gather_crawl"),
    benchmark:
        benchmark_path("gather_crawl")
    script:
        "../scripts/gather_crawl.py"

rule normalise_snapshot:
    input:
        raw=raw_source(),
    output:
        **FULL_SNAPSHOT_FILES,
        rejected=f"{FULL_SNAPSHOT}/rejected.csv",
    params:
        source=source_identity(),
        max_reject_fraction=config["normalise"]["max_reject_fraction"],
    # polars' query engine (POLARS_MAX_THREADS follows the job's threads): at 1.86M models
    # 100 s on one core, 88 s on two
    threads: 4
    log:
        log_path("normalise_snapshot"),
    benchmark:
        benchmark_path("normalise_snapshot")
    script:
        "../scripts/normalise_snapshot.py"


rule sample_snapshot:
    input:
        models=FULL_SNAPSHOT_FILES["models"],
        parents=FULL_SNAPSHOT_FILES["parents"],
        cards=FULL_SNAPSHOT_FILES["cards"],
        renames=FULL_SNAPSHOT_FILES["renames"],
        manifest=FULL_SNAPSHOT_FILES["manifest"],
    output:
        **{k: str(v) for k, v in snapshot_files(SAMPLED_SNAPSHOT).items()},
    params:
        families=config["sample"]["families"],
        seed=config["sample"]["seed"],
        precedence=LINEAGE_CONFIG["relation_precedence"],
    log:
        log_path("sample_snapshot"),
    benchmark:
        benchmark_path("sample_snapshot")
    script:
        "../scripts/sample_snapshot.py"
