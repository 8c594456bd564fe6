"""The crawl against the Hub emulator on loopback, through huggingface_hub's HTTP client, with
faults on: what it writes normalises to exactly the emulator's source, a crawl killed with -9
and resumed equals one that never stopped, and bad input is counted with model ids."""

from __future__ import annotations

import json
import logging
import multiprocessing
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

from hubanatomy.acquire.crawl import CrawlError, CrawlSettings, crawl_cards, crawl_list, run_crawl
from hubanatomy.emulator.hub import Faults, HubEmulator
from hubanatomy.simulator import simulate
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.normalise import normalise, source_record

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


# ---------------------------------------------------------------- faults and misuse (issue 12)


def _records_on_disk(root: Path) -> list[dict]:
    return [orjson.loads(line) for folder in (raw.CARDS, "probes") if (root / folder).is_dir()
            for path in sorted((root / folder).glob("*.jsonl"))
            for line in path.read_bytes().splitlines()]


def _listed_models(source: Path) -> int:
    return sum(len(f.read_bytes().splitlines()) for f in raw.model_files(source))


def test_failed_requests_stop_the_run_and_every_rerun_retries_them(source, source_snapshot,
                                                                   tmp_path, capsys, caplog,
                                                                   monkeypatch):
    """An outage longer than the retries: cards that exist and real 404s alike end up failed.
    The run says so and exits non-zero; accept_errors keeps them as errors; every rerun asks
    exactly the failed ones again, until the snapshot is the source's."""
    from hubanatomy import cli

    monkeypatch.setattr(cli, "setup_logging", lambda: None)  # keep pytest's log capture

    root = tmp_path / "crawl"
    # a fifth of the requests fail their first 5 attempts: 2 per run with max_retries=1
    faults = Faults(error_rate=0.2, error_burst=5, seed=11)
    with HubEmulator(source, faults=faults, count_requests=True) as hub:
        crawl_list(root, fast(hub.url, max_retries=8))
        exit_code = cli.main(["crawl", "--endpoint", hub.url, "--out", str(root), "--shards", "2",
                          "--max-retries", "1", "--backoff", "0.01", "--flush-records", "100"])
        message = capsys.readouterr().err
        assert exit_code == 1
        assert "requests failed after 1 retries (card_fetch_failed: " in message
        assert "(e.g. " in message and "crawl.accept_errors" in message
        assert "Traceback" not in message
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert any("requests failed" in w and "card_fetch_failed" in w for w in warnings)
        assert not (root / raw.RAW_MANIFEST).exists()
        failed = {(r["kind"], r["id"]) for r in _records_on_disk(root) if r["status"] == "error"}
        ok_before = {(r["kind"], r["id"]) for r in _records_on_disk(root)
                     if r["status"] != "error"}
        assert len(failed) > 50 and any(kind == "probe" for kind, _ in failed)
        asked = {m: hub.requests_for(_card_path(m)) for kind, m in ok_before if kind == "card"}

        # accepted: kept as errors (still failing on their 3rd and 4th attempts), and said
        accepted = run_crawl(root, fast(hub.url, max_retries=1, accept_errors=True), shards=2)
        assert accepted["acquisition"]["failed_requests"] == len(failed)
        assert accepted["acquisition"]["cards"]["error"] == sum(k == "card" for k, _ in failed)
        assert any("kept as errors" in r.getMessage() for r in caplog.records
                   if r.levelname == "WARNING")

        # not accepted any more: the rerun asks the failed ones a 5th and 6th time, and gets them
        manifest = run_crawl(root, fast(hub.url, max_retries=1), shards=2)
        assert {m: hub.requests_for(_card_path(m)) for m in asked} == asked
    cards = manifest["acquisition"]["cards"]
    assert cards["error"] == manifest["acquisition"]["failed_requests"] == 0
    assert sum(cards.values()) == manifest["source"]["models"] == _listed_models(source)
    assert manifest["acquisition"]["renames"] == 3
    normalise(root, tmp_path / "snap", source_record({"kind": "crawl"}, root))
    assert_same_snapshot(source_snapshot, tmp_path / "snap")


@pytest.mark.parametrize(("before", "after"), [("complete", 2), ("partial", 4)])
def test_changing_the_number_of_shards_moves_every_record(source, source_snapshot, tmp_path,
                                                         before, after):
    root = tmp_path / "crawl"
    with HubEmulator(source, count_requests=True) as hub:
        settings = fast(hub.url)
        if before == "complete":
            run_crawl(root, settings, shards=3)
        else:  # shards 1 and 2 of 3 ran, shard 3 never did
            crawl_list(root, settings)
            crawl_cards(root, settings, 0, 3)
            crawl_cards(root, settings, 1, 3)
        done = {r["id"] for r in _records_on_disk(root) if r["kind"] == "card"}
        asked = {m: hub.requests_for(_card_path(m)) for m in done}
        manifest = run_crawl(root, settings, shards=after)
        assert {m: hub.requests_for(_card_path(m)) for m in done} == asked  # none asked again
    records = _records_on_disk(root)
    keys = [(r["kind"], r["id"]) for r in records]
    assert len(keys) == len(set(keys))  # no duplicate
    assert sum(k == "card" for k, _ in keys) == _listed_models(source)  # no loss
    assert sorted(p.name for p in (root / raw.CARDS).iterdir()) == [
        f"shard-{s:04d}.jsonl" for s in range(after)]
    assert manifest["acquisition"]["renames"] == 3
    assert manifest["source"]["card_shards"] == after
    snapshot = normalise(root, tmp_path / "snap", source_record({"kind": "crawl"}, root))
    assert snapshot["normalise"]["counts"]["duplicate_card_records"] == 0
    assert_same_snapshot(source_snapshot, tmp_path / "snap")


def test_a_reshard_killed_while_swapping_is_finished_by_the_rerun(source, source_snapshot,
                                                                   tmp_path, monkeypatch):
    from hubanatomy.acquire import crawl

    root = tmp_path / "crawl"
    with HubEmulator(source) as hub:
        run_crawl(root, fast(hub.url), shards=3)
        calls = []

        def dies_after_two(src, dst):  # a kill after two files were moved
            if len(calls) == 2:
                raise KeyboardInterrupt
            calls.append(dst)
            os.rename(src, dst)
        monkeypatch.setattr(crawl.os, "replace", dies_after_two)
        with pytest.raises(KeyboardInterrupt):
            run_crawl(root, fast(hub.url), shards=2)
        monkeypatch.undo()
        manifest = run_crawl(root, fast(hub.url), shards=2)
    assert manifest["acquisition"]["renames"] == 3
    keys = [(r["kind"], r["id"]) for r in _records_on_disk(root)]
    assert len(keys) == len(set(keys))
    normalise(root, tmp_path / "snap", source_record({"kind": "crawl"}, root))
    assert_same_snapshot(source_snapshot, tmp_path / "snap")


def test_credentials_in_the_endpoint_are_used_but_never_written(source, tmp_path, monkeypatch,
                                                                caplog):
    from hubanatomy.snapshot.files import describe

    token = "hf_SecretCrawlTokenThatMustNotLeak42"
    monkeypatch.setenv("HF_TOKEN", token)
    caplog.set_level(logging.DEBUG)
    root, snap = tmp_path / "crawl", tmp_path / "snap"
    with HubEmulator(source) as hub:
        endpoint = hub.url.replace("http://", "http://crawler:s3cret%40pass@")
        manifest = run_crawl(root, fast(endpoint, max_models=300), shards=2)
        # a resumed crawl with the same endpoint (with or without the password) is the same
        crawl_list(root, fast(endpoint, max_models=300))
        with pytest.raises(CrawlError) as error:
            crawl_list(tmp_path / "other", fast(endpoint.replace(str(hub.port), "9")))
    assert manifest["source"]["endpoint"] == hub.url
    snapshot = normalise(root, snap, source_record({"kind": "crawl", "endpoint": endpoint},
                                                   root))
    written = [p for p in [*root.rglob("*"), *snap.rglob("*")] if p.is_file()]
    assert len(written) > 10
    for secret in ("s3cret", token):
        assert not [p for p in written if secret.encode() in p.read_bytes()], secret
        assert secret not in caplog.text and secret not in str(error.value)
        assert secret not in describe(snapshot)
    assert snapshot["source"]["endpoint"] == hub.url


def test_a_partial_crawl_is_continued_by_a_rerun_without_the_limit(source, source_snapshot,
                                                                    tmp_path):
    root = tmp_path / "crawl"
    with HubEmulator(source, count_requests=True) as hub:
        # pages of 100: the limit falls inside the second page
        first = run_crawl(root, fast(hub.url, max_models=150), shards=2)
        assert (first["source"]["models"], first["source"]["complete"]) == (150, False)
        done = {r["id"] for r in _records_on_disk(root) if r["kind"] == "card"}
        asked = {m: hub.requests_for(_card_path(m)) for m in done}
        manifest = run_crawl(root, fast(hub.url), shards=2)
        assert {m: hub.requests_for(_card_path(m)) for m in done} == asked
        with pytest.raises(CrawlError, match=r"listing of 1,\d{3} models, more than "
                                             r"crawl.max_models = 100"):
            crawl_list(root, fast(hub.url, max_models=100))
    assert manifest["source"]["complete"] is True
    assert manifest["source"]["models"] == _listed_models(source)
    assert manifest["acquisition"]["renames"] == 3  # the whole listing: parents probed
    normalise(root, tmp_path / "snap", source_record({"kind": "crawl"}, root))
    assert_same_snapshot(source_snapshot, tmp_path / "snap")


def test_a_second_crawl_during_the_card_step_stops_at_once(source, source_snapshot, tmp_path):
    """The first crawl holds the folder for its whole run: a second one (the command, or a
    Snakemake card job) stops with a message and the first finishes untouched."""
    root = tmp_path / "crawl"
    faults = Faults(slow_rate=1.0, slow_seconds=0.15, seed=2)  # every first request slowed
    with HubEmulator(source, faults=faults) as hub:
        command = [sys.executable, "-m", "hubanatomy.cli", "crawl", "--endpoint", hub.url,
                   "--out", str(root), "--shards", "2", "--workers", "4", "--page-size", "1000",
                   "--max-models", "120", "--flush-records", "20"]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
        try:
            # its card step has begun once it counted a card request (looked at, not locked)
            while first.poll() is None and not list((root / "state").glob("requests-cards-*")):
                time.sleep(0.02)
            assert first.poll() is None, "the first crawl ended before its card step was seen"
            with pytest.raises(CrawlError, match="another crawl is running in this folder"):
                run_crawl(root, fast(hub.url, max_models=120), shards=2)
            with pytest.raises(CrawlError, match="another crawl is running in this folder"):
                crawl_cards(root, fast(hub.url, max_models=120), 1, 2)
            _, errors = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, errors[-3000:]
    manifest = json.loads((root / raw.RAW_MANIFEST).read_text())
    assert manifest["acquisition"]["cards"]["error"] == 0
    assert sum(manifest["acquisition"]["cards"].values()) == 120


def test_a_rate_limit_wait_beyond_the_cap_stops_the_crawl_resumably(source, tmp_path):
    root = tmp_path / "crawl"
    with HubEmulator(source, faults=Faults(api_limit=2, window_seconds=3600)) as hub:
        port = hub.port
        with pytest.raises(CrawlError, match=r"wait 3,\d{3} s .*max_wait_seconds.*rerun after"):
            crawl_list(root, fast(hub.url, max_wait_seconds=5))
    state = json.loads((root / "state" / "list.json").read_text())
    assert state["page"] == 2 and not state["done"]  # the two pages the window allowed
    # an hour later (the Hub's window has passed): the rerun goes on from page 3
    # (the stopped run's member file records the closed window: a rerun before then refuses)
    with pytest.raises(CrawlError, match=r"wait 3,\d{3} s"):
        crawl_list(root, fast(hub.url, max_wait_seconds=5))
    for member in (root / "state" / "budget").glob("*.json"):
        record = json.loads(member.read_text())
        # an hour later: the window the stopped run recorded has passed, its record is stale
        record["time"] = record["left"] = 0
        for bucket in record["buckets"].values():
            bucket["blocked_until"] = 0
        member.write_text(json.dumps(record))
    with HubEmulator(source, port=port) as hub:
        state = crawl_list(root, fast(hub.url, max_wait_seconds=5))
    assert state["done"] and state["models"] == _listed_models(source)
    listed = [orjson.loads(line)["id"] for f in raw.model_files(root)
              for line in f.read_bytes().splitlines()]
    assert len(listed) == len(set(listed)) == state["models"]


def test_requests_of_a_killed_run_are_in_the_manifest(source, tmp_path):
    """Counts are written as they happen: after a kill -9 and a resume, the manifest counts
    at least every request the Hub received (and at most one per worker more: counted, not
    yet sent at the kill)."""
    root = tmp_path / "crawl"
    faults = Faults(resolver_limit=400, window_seconds=1.0, error_rate=0.05, seed=4)
    settings = fast("", resolver_requests_per_window=400, counts_flush_seconds=0.0,
                    flush_records=20)
    with HubEmulator(source, faults=faults) as hub:
        settings = CrawlSettings(**{**settings.__dict__, "endpoint": hub.url})
        child = multiprocessing.get_context("spawn").Process(
            target=run_crawl, args=(root, settings), kwargs={"shards": 2})
        child.start()
        # kill it once it has written card parts: in the middle of the card step
        while child.is_alive() and not list(root.glob(f"{raw.CARDS}/*-part-*.jsonl")):
            time.sleep(0.02)
        assert child.is_alive(), "the crawl ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        manifest = run_crawl(root, settings, shards=2)
        received = hub.stats()
    requests = manifest["acquisition"]["requests"]
    counted = requests["api_requests"] + requests["resolver_requests"]
    assert received["requests"] <= counted <= received["requests"] + settings.workers
    assert len(list((root / "state").glob("requests-*.json"))) >= 3  # killed run's files too
