"""Card shards as separate processes, and as separate Slurm jobs, share one request budget
(lock-free member files, hubanatomy.acquire.ratelimit) against the Hub emulator: the budget
is used (>= 90% of the limit in the windows where every shard was crawling), no card is
fetched twice and none is lost.

The emulator counts accepted requests per window on the epoch grid, as the crawlers do. The
Slurm test runs where `profiles/slurm-local/local-cluster.sh up` (as root) has set the test
cluster up and skips, saying why, everywhere else; it submits one job per shard (as many as
the partition has CPUs, at most 3) and waits for them however long they queue."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import orjson
import pytest
from slurm_local import FINISHED, PARTITION, partition_cpus, slurm_missing, squeue_states

from hubanatomy.acquire.crawl import CrawlSettings, crawl_list, gather
from hubanatomy.emulator.hub import Faults, HubEmulator
from hubanatomy.simulator import simulate
from hubanatomy.snapshot import raw

ROOT = Path(__file__).resolve().parents[1]
SHARD = Path(__file__).with_name("budget_shard.py")
MODELS = 450
WINDOW = 1.5          # seconds
LIMIT = 12            # resolver requests per window, for all shards together
MIN_WINDOWS = 5       # the all-busy windows needed for a meaningful share
JOB_NAME = "hubanatomy-budget-test"
WAIT = 3600           # seconds a shard may queue and run, however busy the cluster

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub") / "raw"
    simulate(MODELS, 11, "directed", root)
    return root


@pytest.fixture
def hub(source):
    faults = Faults(resolver_limit=LIMIT, window_seconds=WINDOW, epoch_windows=True)
    with HubEmulator(source, faults=faults) as emulator:
        yield emulator


def _settings(url: str) -> CrawlSettings:
    return CrawlSettings(endpoint=url, resolver_requests_per_window=LIMIT,
                         api_requests_per_window=100_000, window_seconds=WINDOW, workers=4,
                         max_retries=3, backoff_seconds=0.05, max_backoff_seconds=0.5,
                         flush_records=25, flush_seconds=1.0, max_wait_seconds=600)


def _command(root: Path, shard: int, shards: int, settings: CrawlSettings,
             barrier: Path) -> list[str]:
    return [sys.executable, str(SHARD), str(root), str(shard), str(shards),
            json.dumps(asdict(settings)), str(barrier)]


def _environment(url: str) -> dict:
    # the shards' huggingface_hub talks to the emulator, as HF_ENDPOINT would have it
    return {**os.environ, "HF_ENDPOINT": url, "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "workflow"),
                                                         os.environ.get("PYTHONPATH")]))}


def _check(hub: HubEmulator, root: Path, settings: CrawlSettings, barrier: Path,
           shards: int) -> dict:
    """The shards' reports, the budget use in the windows where all were crawling, nothing
    fetched twice, nothing lost."""
    done = [json.loads((barrier / f"done-{s}.json").read_text()) for s in range(shards)]
    assert [d["status"] for d in done] == ["ok"] * shards, done
    since, until = max(d["began"] for d in done), min(d["ended"] for d in done)
    use = hub.budget_use("resolver", since=since, until=until)
    assert len(use["full"]) >= MIN_WINDOWS, (
        f"only {len(use['full'])} windows with every shard crawling: {use}")
    assert use["use"] >= 0.9, use
    assert max(use["windows"]) <= LIMIT
    # nothing fetched twice (no faults: every card answered in full the first time) ...
    repeated = {t: n for t, n in hub.repeated_fetches().items() if "/resolve/" in t}
    assert repeated == {}
    # ... and nothing lost: every listed model has exactly one card record
    manifest = gather(root, settings, shards)
    listed = [orjson.loads(line)["id"] for f in raw.model_files(root)
              for line in f.read_bytes().splitlines()]
    records = [orjson.loads(line)["id"] for f in sorted((root / raw.CARDS).glob("shard-*.jsonl"))
               for line in f.read_bytes().splitlines()]
    assert sorted(records) == sorted(listed) and len(set(listed)) == len(listed)
    assert manifest["acquisition"]["cards"]["error"] == 0
    stats = hub.stats()["resolver"]
    assert stats["served"] == len(listed)
    # shares that add up to more than the limit show as 429s (a request sent at the very
    # end of a window may arrive in the next: a few are possible)
    assert stats["limited"] <= 0.05 * stats["served"], stats
    # the members left: no file of a finished shard counts in a later window
    members = [json.loads(p.read_text()) for p in (root / "state" / "budget").glob("*.json")]
    assert all(m["left"] is not None for m in members)
    return {"use": use["use"], "windows": len(use["full"]), "limited": stats["limited"]}


def test_shards_as_processes_share_the_budget(hub, tmp_path):
    shards = 3
    root, barrier = tmp_path / "crawl", tmp_path / "barrier"
    barrier.mkdir()
    settings = _settings(hub.url)
    crawl_list(root, settings)
    procs = [subprocess.Popen(_command(root, s, shards, settings, barrier),
                              env=_environment(hub.url), stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / f"shard-{s}.log", "w"))
             for s in range(shards)]
    for p in procs:
        p.wait(timeout=WAIT)
    logs = "\n".join((tmp_path / f"shard-{s}.log").read_text()[-2000:] for s in range(shards))
    assert [p.returncode for p in procs] == [0] * shards, logs
    result = _check(hub, root, settings, barrier, shards)
    print(f"processes: budget use {result}")


_MISSING = slurm_missing()


@pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "")
def test_shards_as_slurm_jobs_share_the_budget(hub, tmp_path):
    shards = max(2, min(3, partition_cpus()))  # all must run at once: one CPU each
    root, barrier = tmp_path / "crawl", tmp_path / "barrier"
    barrier.mkdir()
    settings = _settings(hub.url)
    crawl_list(root, settings)
    jobs = []
    for s in range(shards):
        submitted = subprocess.run(
            ["sbatch", "--parsable", f"--partition={PARTITION}", f"--job-name={JOB_NAME}",
             "--ntasks=1", "--cpus-per-task=1", "--mem=1500M", f"--chdir={tmp_path}",
             f"--output={tmp_path}/job-{s}.log", "--export=ALL",
             "--wrap", shlex.join(_command(root, s, shards, settings, barrier))],
            capture_output=True, text=True, timeout=60, env=_environment(hub.url))
        assert submitted.returncode == 0, submitted.stderr
        jobs.append(submitted.stdout.strip().split(";")[0])
    try:
        deadline = time.monotonic() + WAIT
        while True:
            states = squeue_states(jobs)
            if all(states.get(j) in FINISHED for j in jobs) or (
                    all((barrier / f"done-{s}.json").exists() for s in range(shards))
                    and not set(states.values()) - FINISHED - {"COMPLETING"}):
                break
            assert time.monotonic() < deadline, f"the shard jobs did not end: {states}"
            time.sleep(2)
    finally:
        unfinished = [j for j in jobs if squeue_states(jobs).get(j) not in FINISHED]
        if unfinished:
            subprocess.run(["scancel", *unfinished], timeout=60)
    logs = "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("job-*.log")))
    assert set(states.values()) <= {"COMPLETED", "COMPLETING"}, f"{states}\n{logs}"
    assert len(set(jobs)) == shards
    result = _check(hub, root, settings, barrier, shards)
    print(f"slurm jobs {jobs}: budget use {result}")
