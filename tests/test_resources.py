"""The cluster profile's resources, derived from benchmark files (hubanatomy.resources)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hubanatomy.errors import InputError
from hubanatomy.resources import (
    BEGIN,
    END,
    NOT_MEASURED,
    Measured,
    benchmark_patterns,
    main,
    profile_block,
    read_benchmarks,
    requests,
    rewrite_profile,
    rule_of,
    workflow_rules,
)

ROOT = Path(__file__).resolve().parents[1]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

BODIES = {
    "normalise_snapshot":
        '    threads: 4\n    benchmark:\n        benchmark_path("normalise_snapshot")\n',
    "plot_similarity":
        '    benchmark:\n        benchmark_path("plot_similarity_{text}_{measure}")\n',
    "plot_similarity_diff": '    benchmark:\n        benchmark_path("plot_similarity_diff")\n',
    "order_traits": '    benchmark:\n        benchmark_path("order_traits_{trait}")\n',
}


def bench(folder: Path, stem: str, *rows: tuple) -> None:
    lines = [HEADER] + [f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t{load}\t1\n" for s, rss, load in rows]
    (folder / f"{stem}.tsv").write_text("".join(lines))


def test_benchmark_files_are_assigned_to_their_rule_and_the_largest_job_counts(tmp_path):
    bench(tmp_path, "normalise_snapshot", (88.4, 4000.0, 180.0))
    bench(tmp_path, "plot_similarity_cards_tfidf", (3.0, 300.0, 95.0))
    bench(tmp_path, "plot_similarity_metadata_jaccard", (5.0, 250.0, 99.0))
    bench(tmp_path, "plot_similarity_diff", (40.0, 900.0, 50.0))
    bench(tmp_path, "order_traits_licenses", (18.0, 700.0, 100.0), (20.0, 650.0, 97.0))
    measured = read_benchmarks(tmp_path, benchmark_patterns(BODIES))
    assert set(measured) == set(BODIES)
    assert (measured["plot_similarity"].jobs, measured["plot_similarity"].seconds,
            measured["plot_similarity"].max_rss_mb) == (2, 5.0, 300.0)
    # the literal name beats the wildcard pattern that also matches it
    assert measured["plot_similarity_diff"].jobs == 1
    assert measured["plot_similarity_diff"].seconds == 40.0
    # two rows in one file (a rule benchmarked with repeats) are two jobs
    assert measured["order_traits"].jobs == 2 and measured["order_traits"].seconds == 20.0


def test_rule_of_needs_the_wildcards_filled():
    patterns = benchmark_patterns(BODIES)
    assert rule_of("plot_similarity_cards", patterns) is None  # one wildcard missing
    assert rule_of("order_traits_", patterns) is None
    assert rule_of("order_traits_tasks", patterns) == "order_traits"


def test_missing_values_count_as_zero_and_bad_files_are_refused(tmp_path):
    bench(tmp_path, "normalise_snapshot", ("NA", "NA", "NA"), (12.0, 800.0, 90.0))
    measured = read_benchmarks(tmp_path, benchmark_patterns(BODIES))
    assert measured["normalise_snapshot"].max_rss_mb == 800.0

    bench(tmp_path, "order_traits_tasks", ("fast", 1.0, 1.0))
    with pytest.raises(InputError, match="order_traits_tasks.tsv: column s holds 'fast'"):
        read_benchmarks(tmp_path, benchmark_patterns(BODIES))
    (tmp_path / "order_traits_tasks.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="not a Snakemake benchmark file"):
        read_benchmarks(tmp_path, benchmark_patterns(BODIES))
    (tmp_path / "order_traits_tasks.tsv").unlink()

    bench(tmp_path, "renamed_rule", (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="of no rule of this workflow: renamed_rule.tsv"):
        read_benchmarks(tmp_path, benchmark_patterns(BODIES))
    with pytest.raises(InputError, match="no benchmark files"):
        read_benchmarks(tmp_path / "empty", benchmark_patterns(BODIES))


@pytest.mark.parametrize(("seconds", "rss", "expected"), [
    # 1.5 x 4000 + 512 = 6512 -> 6656 (256-MB steps); 3 x 88 s -> 5 min -> at least 10
    (88.0, 4000.0, {"mem_mb": 6656, "runtime": 10}),
    # a small job: at least 1 GB; 3 x 1000 s = 50 min
    (1000.0, 10.0, {"mem_mb": 1024, "runtime": 50}),
    (30.0, 1000.0, {"mem_mb": 2048, "runtime": 10}),
])
def test_requests_add_headroom(seconds, rss, expected):
    assert requests(Measured(1, seconds, rss, 100.0)) == expected


def test_the_profile_block_is_rewritten_alone_and_idempotently(tmp_path):
    bench(tmp_path, "normalise_snapshot", (88.0, 4000.0, 180.0))
    bench(tmp_path, "order_traits_licenses", (18.0, 700.0, 100.0))
    profile = tmp_path / "config.yaml"
    profile.write_text(f"executor: slurm\njobs: 100\n{BEGIN}\nset-resources: {{}}\n{END}\n"
                       "retries: 1\n")
    block = profile_block(read_benchmarks(tmp_path, benchmark_patterns(BODIES)), "a test run")
    once = rewrite_profile(profile, block)
    profile.write_text(once)
    assert rewrite_profile(profile, block) == once
    config = yaml.safe_load(once)
    assert (config["executor"], config["jobs"], config["retries"]) == ("slurm", 100, 1)
    assert config["set-resources"]["normalise_snapshot"] == {"mem_mb": 6656, "runtime": 10}
    assert set(config["set-resources"]) == {"normalise_snapshot", "order_traits", *NOT_MEASURED}
    # rules a simulated run never runs keep their hand-set requests
    assert config["set-resources"]["crawl_cards"] == NOT_MEASURED["crawl_cards"]

    profile.write_text("executor: slurm\n")
    with pytest.raises(InputError, match="no '# BEGIN measured resources'"):
        rewrite_profile(profile, block)


def test_every_rule_is_benchmarked_and_patterns_do_not_collide():
    bodies = workflow_rules()
    patterns = benchmark_patterns(bodies)
    assert set(patterns) == set(bodies), f"rules without benchmark: {set(bodies) - set(patterns)}"
    # a rule's own name (wildcards filled with 'x') is claimed by that rule alone
    for rule, pattern in patterns.items():
        stem = pattern.pattern[1:-1].replace("(.+)", "x").replace("\\", "")
        assert rule_of(stem, patterns) == rule, stem


def test_the_committed_profile_sizes_every_rule():
    bodies = workflow_rules()
    config = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert set(config["set-resources"]) == set(bodies), \
        "profiles/slurm: rerun `python -m hubanatomy.resources` after a full-scale run"
    for rule, request in config["set-resources"].items():
        assert request["mem_mb"] >= 1024 and request["runtime"] >= 10, rule
    # the rules of the full-scale stages ask for more than the smallest request
    assert config["set-resources"]["normalise_snapshot"]["mem_mb"] > 4096


def test_the_command_line_rewrites_a_profile_and_reports_errors(tmp_path, capsys):
    benchmarks = tmp_path / "results" / "benchmarks"
    benchmarks.mkdir(parents=True)
    bench(benchmarks, "normalise_snapshot", (88.0, 4000.0, 180.0))
    profile = tmp_path / "config.yaml"
    profile.write_text(f"{BEGIN}\n{END}\n")
    assert main([str(benchmarks), str(profile)]) == 0
    assert yaml.safe_load(profile.read_text())["set-resources"]["normalise_snapshot"] == {
        "mem_mb": 6656, "runtime": 10}
    bench(benchmarks, "no_such_rule", (1.0, 1.0, 1.0))
    assert main([str(benchmarks), str(profile)]) == 1
    assert "no_such_rule.tsv" in capsys.readouterr().err


def test_a_jobs_threads_reach_polars():
    """Snakemake sets OMP_NUM_THREADS to a job's threads; importing the package passes it on."""
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    code = "import hubanatomy, polars; print(polars.thread_pool_size())"
    for threads in ("1", "3"):
        out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_NUM_THREADS": threads},
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == threads


def test_a_jobs_logged_peak_memory_outweighs_the_sampled_one(tmp_path, caplog):
    """Snakemake samples memory every 30 s after a job's first half minute; the job's log ends
    with the kernel's exact peak, which is what a cluster's memory limit meets."""
    benchmarks, logs = tmp_path / "benchmarks", tmp_path / "logs"
    benchmarks.mkdir()
    logs.mkdir()
    bench(benchmarks, "normalise_snapshot", (88.0, 1315.0, 100.0))
    bench(benchmarks, "order_traits_tasks", (18.0, 700.0, 100.0))
    (logs / "normalise_snapshot.log").write_text(
        "2026-01-01 INFO hubanatomy: peak resident memory: 9 MB\n"  # an earlier attempt
        "2026-01-01 INFO hubanatomy: peak resident memory: 2900 MB\n")
    (logs / "order_traits_tasks.log").write_text("2026-01-01 ERROR hubanatomy: failed\n")
    with caplog.at_level("WARNING"):
        measured = read_benchmarks(benchmarks, benchmark_patterns(BODIES))
    assert measured["normalise_snapshot"].max_rss_mb == 2900.0
    assert requests(measured["normalise_snapshot"])["mem_mb"] == 4864  # 1.5 x 2900 + 512
    # no peak in the log: the sampled value, with a warning naming the job
    assert measured["order_traits"].max_rss_mb == 700.0
    assert "order_traits_tasks" in caplog.text


def test_every_job_logs_its_own_peak_memory(tmp_path):
    """run_script ends each job's log with the peak line hubanatomy.resources reads: the job's
    own peak, not that of the larger process that started it (Linux's getrusage carries the
    parent's across exec)."""
    log = tmp_path / "job.log"
    job = ("import types; from hubanatomy.logs import run_script\n"
           f"run_script(types.SimpleNamespace(log=[{str(log)!r}]), "
           "lambda: bytearray(200 * 2**20))\n")
    starter = ("import subprocess, sys\nheld = bytearray(1200 * 2**20)\n"
               f"subprocess.run([sys.executable, '-c', {job!r}], check=True)\n")
    subprocess.run([sys.executable, "-c", starter], check=True, capture_output=True)
    from hubanatomy.resources import logged_peak_mb
    assert 200 <= logged_peak_mb(log) < 1000
