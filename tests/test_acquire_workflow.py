"""The acquisition rules end to end: `source: archive` downloads a dataset repo from the Hub
emulator with huggingface_hub and `source: crawl` crawls it in scattered card shards; both give
the snapshot of the emulator's source. An unreachable Hub stops the first rule within seconds
with the offline command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from hubanatomy.acquire.archive import write_archive
from hubanatomy.emulator.hub import Faults, HubEmulator
from hubanatomy.simulator import simulate
from hubanatomy.snapshot.normalise import normalise, source_record

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2"]
REPO = "modelbiome/ai_ecosystem_withmodelcards"
SNAPSHOT_TARGET = "results/snapshot/manifest.json"

pytestmark = pytest.mark.workflow


def _snakemake(workdir: Path, config: dict):
    """Build the snapshot with the given config keys (a YAML file: `--config` would read
    `null` as a string)."""
    path = workdir / "acquire.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "-d", str(workdir), SNAPSHOT_TARGET, "--configfile",
                           str(path)], capture_output=True, text=True, timeout=600)


def _dry_run(workdir: Path, config: dict) -> str:
    """What a rerun of the snapshot with these config keys would do (`snakemake -n`): every
    later stage reads only the snapshot, so a snapshot that stays also keeps them."""
    path = workdir / "rerun.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([*SNAKEMAKE, "-d", str(workdir), "-n", SNAPSHOT_TARGET,
                             "--configfile", str(path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


NOTHING_TO_DO = "Nothing to be done"


def _crawl_config(endpoint: str, **overrides) -> dict:
    return {"endpoint": endpoint, "max_models": None, "api_requests_per_window": 30,
            "resolver_requests_per_window": 500, "window_seconds": 1, "workers": 4,
            "shards": 3, "max_retries": 8, "max_card_bytes": 2_000_000, **overrides}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("acq")
    simulate(800, 9, "directed", root / "raw")
    files = root / "archive"
    write_archive(root / "raw", files, fmt="parquet", shards=2)
    normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
    faults = Faults(api_limit=30, resolver_limit=500, window_seconds=1.0, error_rate=0.03,
                    truncate_rate=0.02, malformed_rate=0.2, seed=3)
    with HubEmulator(root / "raw", faults=faults, datasets={REPO: files}) as emulator:
        yield emulator, root


def _frame(path: Path, name: str, key: list[str], drop: tuple[str, ...] = ()) -> pl.DataFrame:
    return pl.read_parquet(path / name).drop(drop).sort(key)


def test_archive_source_downloads_and_reproduces_the_source(hub, tmp_path):
    emulator, root = hub
    result = _snakemake(tmp_path, {"source": "archive", "archive": {
        "repo_id": REPO, "revision": None, "endpoint": emulator.url}})
    assert result.returncode == 0, result.stderr[-3000:]
    got, expected = tmp_path / "results" / "snapshot", root / "snap"
    # the archive schema carries no last_modified and its own metadata JSON
    for name, key, drop in (("models.parquet", ["model_id"], ("metadata_json", "last_modified")),
                            ("parents.parquet", ["child_id", "parent_id", "relation"], ()),
                            ("cards.parquet", ["model_id"], ())):
        assert _frame(got, name, key, drop).equals(_frame(expected, name, key, drop)), name
    manifest = json.loads((got / "manifest.json").read_text())
    source = manifest["source"]
    assert source["kind"] == "archive" and source["repo_id"] == REPO
    assert len(source["commit"]) == 40  # the revision was pinned to a commit

    # the endpoint only says where to fetch from: another one (here with credentials) reruns
    # nothing; another revision is other data
    tuned = {"source": "archive", "archive": {"repo_id": REPO, "revision": None,
                                               "endpoint": emulator.url.replace("//", "//u:p@")}}
    assert NOTHING_TO_DO in _dry_run(tmp_path, tuned)
    tuned["archive"]["revision"] = "main"
    assert "download_archive" in _dry_run(tmp_path, tuned)


def test_crawl_source_scatters_card_shards_and_reproduces_the_source(hub, tmp_path):
    """With a user:password in the endpoint: used, and written nowhere (results, logs,
    Snakemake's own metadata)."""
    emulator, root = hub
    endpoint = emulator.url.replace("http://", "http://crawler:s3cret-pw@")
    result = _snakemake(tmp_path, {"source": "crawl", "crawl": _crawl_config(endpoint)})
    assert result.returncode == 0, result.stderr[-3000:]
    (tmp_path / "acquire.yaml").unlink()  # the config file the user wrote holds it, of course
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and b"s3cret-pw" in p.read_bytes()]
    assert leaks == [] and "s3cret-pw" not in result.stderr + result.stdout
    shards = sorted(p.name for p in (tmp_path / "results/raw/crawl/state").glob("cards-*.done"))
    assert shards == ["cards-1-of-3.done", "cards-2-of-3.done", "cards-3-of-3.done"]
    got, expected = tmp_path / "results" / "snapshot", root / "snap"
    for name, key, drop in (("models.parquet", ["model_id"], ("metadata_json",)),
                            ("parents.parquet", ["child_id", "parent_id", "relation"], ()),
                            ("cards.parquet", ["model_id"], ())):
        assert _frame(got, name, key, drop).equals(_frame(expected, name, key, drop)), name
    manifest = json.loads((got / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "crawl"
    assert manifest["source"]["window"]["finished_at"]
    assert manifest["acquisition"]["requests"]["resolver_requests"] >= 800

    # tuning the crawl (endpoint, workers, rate budgets, retries, waits) reruns nothing; what
    # identifies the data (max_models) reruns the crawl and what follows
    tuned = _crawl_config(emulator.url, workers=2, api_requests_per_window=10,
                          resolver_requests_per_window=100, window_seconds=5, max_retries=2,
                          max_wait_seconds=60, accept_errors=True)
    assert NOTHING_TO_DO in _dry_run(tmp_path, {"source": "crawl", "crawl": tuned})
    plan = _dry_run(tmp_path, {"source": "crawl", "crawl": {**tuned, "max_models": 500}})
    assert "crawl_list" in plan and "normalise_snapshot" in plan


@pytest.mark.parametrize("source", ["archive", "crawl"])
def test_an_unreachable_hub_stops_the_first_rule_fast(tmp_path, source):
    closed = "http://127.0.0.1:9"
    config = ({"archive": {"repo_id": REPO, "revision": None, "endpoint": closed}}
              if source == "archive" else {"crawl": _crawl_config(closed)})
    result = _snakemake(tmp_path, {"source": source, **config})
    assert result.returncode != 0
    log = (tmp_path / "results" / "logs" /
           ("download_archive.log" if source == "archive" else "crawl_list.log")).read_text()
    assert "source=simulated" in log
    assert "Retrying" not in log  # it gave up at once instead of backing off


def test_a_nested_config_value_given_as_text_names_the_cause_and_the_fix(tmp_path):
    result = subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "--dry-run", "--config",
                             "source=simulated", "simulated={models: 5000, scenario: neutral}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "simulated.models is the text '5000', not 5000" in message
    assert "simulated.scenario" not in message  # a string where a string is wanted is fine
    assert "--configfile" in message


def test_a_snapshot_folder_of_two_tables_stops_naming_the_files(hub, tmp_path):
    _, root = hub
    folder = tmp_path / "release"
    write_archive(root / "raw", folder, fmt="csv")
    write_archive(root / "raw", tmp_path / "plain", fmt="csv", cards=False)
    (tmp_path / "plain" / "ai_ecosystem.csv").rename(folder / "ai_ecosystem.csv")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"source": "snapshot", "snapshot": {"path": str(folder)}}))
    result = subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "--dry-run", SNAPSHOT_TARGET,
                             "--configfile", str(config)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert ("snapshot.path: " in message and "ai_ecosystem.csv; "
            "ai_ecosystem_withmodelcards.csv" in message)
