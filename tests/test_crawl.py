"""The crawl against the Hub emulator on loopback, through huggingface_hub's HTTP client, with
faults on: what it writes normalises to exactly the emulator's source, a crawl killed with -9
and resumed equals one that never stopped, and bad input is counted with model ids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hubanatomy import raw
from hubanatomy.crawl import CrawlError, CrawlSettings, crawl_cards, crawl_list, run_crawl
from hubanatomy.hub_emulator import Faults, HubEmulator
from hubanatomy.normalise import normalise, source_record
from hubanatomy.simulator import simulate

MODELS = 1200
FAULTS = Faults(api_limit=40, resolver_limit=600, window_seconds=1.0, error_rate=0.05,
                error_burst=2, slow_rate=0.01, slow_seconds=0.05, truncate_rate=0.03,
                malformed_rate=0.3, seed=7)


def fast(endpoint: str, **overrides) -> CrawlSettings:
    settings = {"endpoint": endpoint, "page_size": 100, "workers": 8, "backoff_seconds": 0.02,
                "max_backoff_seconds": 0.2, "flush_records": 100, "flush_seconds": 0.5,
                "connect_timeout": 2.0, "read_timeout": 10.0,
                "api_requests_per_window": 40, "resolver_requests_per_window": 600,
                "window_seconds": 1.0}
    return CrawlSettings(**{**settings, **overrides})


def _rewrite_jsonl(path: Path, change) -> None:
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    path.write_bytes(b"".join(orjson.dumps(change(o)) + b"\n" for o in lines))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A simulated Hub where three parents were renamed after their children named them."""
    root = tmp_path_factory.mktemp("hub") / "raw"
    simulate(MODELS, 5, "directed", root)
    listed = {orjson.loads(line)["id"] for f in raw.model_files(root)
              for line in f.read_bytes().splitlines()}
    named = {}
    for f in raw.model_files(root):
        for line in f.read_bytes().splitlines():
            for tag in orjson.loads(line)["tags"]:
                if tag.startswith("base_model:") and tag.split(":")[-1] in listed:
                    named[tag.split(":")[-1]] = named.get(tag.split(":")[-1], 0) + 1
    old_ids = sorted(named, key=lambda m: (-named[m], m))[:3]
    renames = {old: f"renamed-org/{old.split('/')[-1]}-v2" for old in old_ids}

    def rename(obj):
        if obj.get("id") in renames:
            obj["id"] = renames[obj["id"]]
            if "modelId" in obj:
                obj["modelId"] = obj["id"]
        return obj

    for f in raw.model_files(root) + raw.card_files(root):
        _rewrite_jsonl(f, rename)
    (root / raw.RENAMES).write_text("".join(
        json.dumps({"old_id": o, "new_id": n}) + "\n" for o, n in renames.items()))
    return root


@pytest.fixture(scope="module")
def source_snapshot(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("source_snapshot")
    normalise(source, out, source_record({"kind": "simulated"}, source))
    return out


def assert_same_snapshot(expected: Path, got: Path) -> None:
    exp = pl.read_parquet(expected / "models.parquet")
    out = pl.read_parquet(got / "models.parquet")
    assert out["model_id"].to_list() == exp["model_id"].to_list()
    # the metadata DNA is the same JSON (the crawl re-serialises what it received)
    assert [orjson.loads(t) for t in out["metadata_json"]] == \
           [orjson.loads(t) for t in exp["metadata_json"]]
    assert_frame_equal(out.drop("metadata_json"), exp.drop("metadata_json"))
    for name, key in (("cards.parquet", ["model_id"]),
                      ("parents.parquet", ["child_id", "parent_id", "relation", "origin"]),
                      ("renames.parquet", ["old_id"])):
        assert_frame_equal(pl.read_parquet(got / name).sort(key),
                           pl.read_parquet(expected / name).sort(key))


def crawl_and_normalise(endpoint: str, root: Path, out: Path, shards: int = 3, **settings):
    manifest = run_crawl(root, fast(endpoint, **settings), shards=shards)
    snapshot = normalise(root, out, source_record({"kind": "crawl"}, root))
    return manifest, snapshot


def test_crawl_through_faults_equals_the_source(source, source_snapshot, tmp_path):
    with HubEmulator(source, faults=FAULTS) as hub:
        manifest, snapshot = crawl_and_normalise(hub.url, tmp_path / "crawl", tmp_path / "snap")
        stats = hub.stats()
    assert_same_snapshot(source_snapshot, tmp_path / "snap")
    # the faults really happened, and the crawl counted what it went through
    requests = manifest["acquisition"]["requests"]
    assert requests.get("resolver_status_500", 0) + requests.get("resolver_status_502", 0) \
        + requests.get("resolver_status_503", 0) > 0
    assert requests.get("api_unparseable_bodies", 0) > 0  # malformed list pages, retried
    assert requests.get("resolver_network_errors", 0) > 0  # truncated bodies, retried
    assert manifest["acquisition"]["renames"] == 3
    assert snapshot["rows"]["models"] == sum(
        len(f.read_bytes().splitlines()) for f in raw.model_files(source))
    assert manifest["source"]["complete"] is True
    assert manifest["source"]["window"]["started_at"] <= manifest["source"]["window"]["finished_at"]
    assert stats  # the emulator saw traffic
    # every card status the source has, the crawl has (ok / missing / error)
    cards = pl.read_parquet(tmp_path / "snap" / "cards.parquet")
    assert set(cards["status"]) >= {"ok", "missing"}


def test_rate_limits_are_respected_and_429s_waited_out(source, tmp_path):
    faults = Faults(api_limit=5, resolver_limit=150, window_seconds=1.0, seed=1)
    with HubEmulator(source, faults=faults) as hub:
        manifest = run_crawl(tmp_path / "crawl", fast(hub.url, api_requests_per_window=5,
                                                      resolver_requests_per_window=150,
                                                      max_models=400), shards=2)
        stats = hub.stats()
    # the listing stopped at max_models and no parent was probed (the listing is partial)
    assert manifest["source"]["models"] == 400
    assert manifest["source"]["complete"] is False
    assert manifest["acquisition"]["parents_probed"] == 0
    # the budget kept the client at or under the limits: few or no 429s
    requests = manifest["acquisition"]["requests"]
    assert requests.get("resolver_status_429", 0) <= 0.05 * requests["resolver_requests"]
    assert stats


def test_max_models_and_a_card_cap_are_flagged_with_model_ids(source, tmp_path):
    with HubEmulator(source) as hub:
        manifest, _ = crawl_and_normalise(hub.url, tmp_path / "crawl", tmp_path / "snap",
                                          shards=1, max_models=300, max_card_bytes=1024)
    capped = manifest["acquisition"]["problems"]["card_truncated_at_cap"]
    cards = pl.read_parquet(tmp_path / "snap" / "cards.parquet")
    long_cards = cards.filter(pl.col("length_chars") >= 1000)
    assert capped["count"] > 0
    assert set(capped["model_ids"]) <= set(long_cards["model_id"])
    problems = [orjson.loads(line) for line in
                (tmp_path / "crawl" / "problems.jsonl").read_bytes().splitlines()]
    assert sum(p["problem"] == "card_truncated_at_cap" for p in problems) == capped["count"]
    snapshot_manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert snapshot_manifest["acquisition"]["problems"]["card_truncated_at_cap"] == capped


def test_an_unreachable_hub_fails_fast_with_the_offline_hint(tmp_path):
    start = time.monotonic()
    with pytest.raises(CrawlError, match="source=simulated"):
        crawl_list(tmp_path / "crawl", fast("http://127.0.0.1:9"))
    assert time.monotonic() - start < 10


def test_a_crawl_directory_belongs_to_one_endpoint(source, tmp_path):
    with HubEmulator(source) as hub:
        crawl_list(tmp_path / "crawl", fast(hub.url, max_models=100))
        with HubEmulator(source) as other:
            with pytest.raises(CrawlError, match="holds a crawl of"):
                crawl_cards(tmp_path / "crawl", fast(other.url), 0, 1)


def _crawl_command(endpoint: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "hubanatomy.cli", "crawl", "--endpoint", endpoint,
            "--out", str(out), "--shards", "2", "--jobs", "2", "--page-size", "50",
            "--api-limit", "20", "--resolver-limit", "300", "--window", "1",
            "--backoff", "0.02", "--flush-records", "40"]


def _card_path(model_id: str) -> str:
    return f"/{model_id}/resolve/main/README.md"


def _card_ids_on_disk(root: Path) -> set[str]:
    ids = set()
    for path in (root / raw.CARDS).glob("*.jsonl") if (root / raw.CARDS).is_dir() else ():
        ids |= {orjson.loads(line)["id"] for line in path.read_bytes().splitlines()}
    return ids


def test_a_crawl_killed_with_sigkill_resumes_to_the_same_snapshot(source, source_snapshot,
                                                                  tmp_path):
    root = tmp_path / "crawl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with HubEmulator(source, faults=FAULTS, count_requests=True) as hub:
        kills, done_before = 0, []
        for delay in (0.5, 1.5, 2.0, 2.5):  # the first lands in the listing
            process = subprocess.Popen(_crawl_command(hub.url, root), env=env,
                                       start_new_session=True, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the crawl and its shard processes
                process.wait()
                kills += 1
            done_before.append(_card_ids_on_disk(root))
        before = {m: hub.requests_for(_card_path(m)) for m in done_before[-1]}
        final = subprocess.run(_crawl_command(hub.url, root), env=env, capture_output=True,
                               text=True, timeout=300)
        assert final.returncode == 0, final.stderr[-3000:]
        # what was on disk before the last run was never asked for again
        assert {m: hub.requests_for(_card_path(m)) for m in done_before[-1]} == before
    assert kills >= 2
    assert any(done_before)  # some cards were on disk when it was killed
    # no temp files left behind count as data, no part left over
    normalise(root, tmp_path / "snap", source_record({"kind": "crawl"}, root))
    assert_same_snapshot(source_snapshot, tmp_path / "snap")
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    counts = manifest["normalise"]["counts"]
    assert counts["duplicate_card_records"] == 0
    assert counts["rejected_model_lines"] == 0
    assert sorted(p.name for p in (root / raw.CARDS).iterdir() if p.suffix == ".jsonl") == \
        ["shard-0000.jsonl", "shard-0001.jsonl"]
