"""The Hub emulator: Hub shapes, paging, redirects, bounded deterministic faults, rate limits,
and the real huggingface_hub client (list_models, model_info, hf_hub_download, dataset repos)
talking to it over loopback."""

from __future__ import annotations

import hashlib
import select
import subprocess
import sys
from pathlib import Path

import httpx2
import orjson
import pytest
import yaml
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import parse_ratelimit_headers

from hubanatomy.emulator.hub import REDUCED_FIELDS, Faults, HubEmulator, base_models
from hubanatomy.errors import InputError
from hubanatomy.simulator import simulate
from hubanatomy.snapshot import raw

MODELS = 1500
DATASET = "hubanatomy/archive-test"


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    """A simulated raw Hub plus renames (one old id that still has a raw line, one that does
    not; both renamed to models with a card) and one card whose source state is "error"."""
    root = tmp_path_factory.mktemp("hub") / "raw"
    simulate(MODELS, 5, "directed", root)
    ids = [orjson.loads(line)["id"] for line in _lines(raw.model_files(root)[0])]
    card_path = raw.card_files(root)[0]
    cards = [orjson.loads(line) for line in _lines(card_path)]
    with_card = [c["id"] for c in cards if c["status"] == "ok" and c["id"] != ids[10]]
    renames = [{"old_id": ids[10], "new_id": with_card[5]},
               {"old_id": "gone-org/" + with_card[6].split("/")[1] + "-old",
                "new_id": with_card[6]}]
    (root / raw.RENAMES).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in renames))
    for card in cards:
        if card["id"] == with_card[7]:
            card.update(status="error", card=None)
    card_path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in cards))
    return root


@pytest.fixture(scope="module")
def data(raw_dir: Path) -> dict:
    lines = _lines(raw.model_files(raw_dir)[0])
    objects = [orjson.loads(line) for line in lines]
    cards = {c["id"]: c for c in map(orjson.loads, _lines(raw.card_files(raw_dir)[0]))}
    renamed = {r["old_id"]: r["new_id"] for r in map(orjson.loads, _lines(raw_dir / raw.RENAMES))}
    ids = [o["id"] for o in objects]
    return {"lines": dict(zip(ids, lines, strict=True)), "objects": objects, "ids": ids,
            "listed": [i for i in ids if i not in renamed], "cards": cards,
            "renamed": renamed}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    (root / "data").mkdir()
    (root / "data" / "train-00000-of-00002.parquet").write_bytes(
        hashlib.sha256(b"a").digest() * 4000)
    (root / "data" / "train-00001-of-00002.parquet").write_bytes(b"PAR1 small")
    (root / "README.md").write_text("---\nlicense: mit\n---\n# archive\n")
    return root


@pytest.fixture(scope="module")
def hub(raw_dir, dataset_dir):
    with HubEmulator(raw_dir, datasets={DATASET: dataset_dir}) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client():
    with httpx2.Client(timeout=10.0) as c:   # does not follow redirects
        yield c


def _follow_pages(client, url: str) -> tuple[list[dict], list[int]]:
    objects, sizes = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        page = orjson.loads(r.content)
        objects += page
        sizes.append(len(page))
        url = r.links.get("next", {}).get("url")
    return objects, sizes


# ---------------------------------------------------------------------------------- shapes

def test_list_pages_are_complete_in_raw_order_without_old_names(hub, client, data):
    objects, sizes = _follow_pages(client, f"{hub.url}/api/models?full=true&limit=400")
    assert [o["id"] for o in objects] == data["listed"]
    assert sizes == [400, 400, 400, len(data["listed"]) - 1200]
    first = client.get(f"{hub.url}/api/models?full=true&limit=400")
    following = first.links["next"]["url"]
    assert following.startswith(f"{hub.url}/api/models?") and "cursor=" in following
    assert "full=true" in following and "limit=400" in following


def test_full_pages_are_the_raw_lines_and_reduced_pages_the_list_shape(hub, client, data):
    r = client.get(f"{hub.url}/api/models?full=true&limit=5")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.content == b"[" + b",".join(data["lines"][i] for i in data["listed"][:5]) + b"]"
    reduced = client.get(f"{hub.url}/api/models?limit=5").json()
    for got, want in zip(reduced, data["objects"][:5], strict=True):
        assert list(got) == [k for k in REDUCED_FIELDS if k in want]
        assert got == {k: want[k] for k in REDUCED_FIELDS if k in want}
    assert "siblings" not in reduced[0] and "siblings" in data["objects"][0]
    default = client.get(f"{hub.url}/api/models")
    assert len(default.json()) == 500 and "next" in default.links
    expanded = client.get(f"{hub.url}/api/models?limit=3&expand[]=downloads").json()
    assert expanded == [{"_id": o["_id"], "id": o["id"], "downloads": o["downloads"]}
                        for o in data["objects"][:3]]


@pytest.mark.parametrize("query", ["expand[]=baseModels", "expand=childrenModelCount",
                                   "cursor=not-a-cursor", "limit=ten", "limit=0",
                                   "author=someone"])
def test_bad_list_requests_are_400(hub, client, query):
    r = client.get(f"{hub.url}/api/models?{query}")
    assert r.status_code == 400
    assert r.json()["error"] == r.headers["X-Error-Message"]


def test_model_info_is_the_raw_line_and_unknowns_are_404(hub, client, data):
    model_id = data["ids"][0]
    r = client.get(f"{hub.url}/api/models/{model_id}")
    assert r.status_code == 200 and r.content == data["lines"][model_id]
    sha = data["objects"][0]["sha"]
    assert client.get(f"{hub.url}/api/models/{model_id}/revision/{sha}").status_code == 200
    missing = client.get(f"{hub.url}/api/models/nobody/no-such-model")
    assert missing.status_code == 404
    assert missing.headers["X-Error-Code"] == "RepoNotFound"
    assert missing.json() == {"error": "Repository not found"}
    bad_rev = client.get(f"{hub.url}/api/models/{model_id}/revision/v9")
    assert bad_rev.status_code == 404 and bad_rev.headers["X-Error-Code"] == "RevisionNotFound"


def test_cards_follow_their_raw_status(hub, client, data):
    by_status: dict[str, list[str]] = {}
    for model_id, card in data["cards"].items():
        if model_id not in data["renamed"]:
            by_status.setdefault(card["status"], []).append(model_id)
    ok = by_status["ok"][0]
    r = client.get(f"{hub.url}/{ok}/resolve/main/README.md")
    assert r.status_code == 200 and r.text == data["cards"][ok]["card"]
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    head = client.head(f"{hub.url}/{ok}/resolve/main/README.md")
    assert head.content == b"" and head.headers["content-length"] == str(len(r.content))
    assert head.headers["ETag"] == r.headers["ETag"]
    assert head.headers["X-Repo-Commit"] == orjson.loads(data["lines"][ok])["sha"]
    missing = client.get(f"{hub.url}/{by_status['missing'][0]}/resolve/main/README.md")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    for _ in range(3):  # the source's own error state: always 500, not a fault
        assert client.get(f"{hub.url}/{by_status['error'][0]}/resolve/main/README.md"
                          ).status_code == 500
    other = client.get(f"{hub.url}/{ok}/resolve/main/config.json")
    assert other.status_code == 404 and other.headers["X-Error-Code"] == "EntryNotFound"
    ranged = client.get(f"{hub.url}/{ok}/resolve/main/README.md", headers={"Range": "bytes=5-"})
    assert ranged.status_code == 206 and ranged.content == r.content[5:]
    assert ranged.headers["Content-Range"] == f"bytes 5-{len(r.content) - 1}/{len(r.content)}"
    beyond = client.get(f"{hub.url}/{ok}/resolve/main/README.md",
                        headers={"Range": f"bytes={len(r.content)}-"})
    assert beyond.status_code == 416


def test_expand_base_models_and_children_counts_come_from_tags(hub, client, data):
    child = next(o for o in data["objects"]
                 if any(t.startswith("base_model:finetune:") for t in o["tags"])
                 and o["id"] not in data["renamed"])
    r = client.get(f"{hub.url}/api/models/{child['id']}?expand[]=baseModels").json()
    parents = [t.split(":", 2)[2] for t in child["tags"]
               if t.startswith("base_model:finetune:")]
    assert r == {"_id": child["_id"], "id": child["id"],
                 "baseModels": {"relation": "finetune",
                                "models": [{"id": p} for p in dict.fromkeys(parents)]}}
    parent = parents[0]
    counts = client.get(f"{hub.url}/api/models/{parent}?expand=childrenModelCount").json()
    declared = sum(1 for o in data["objects"] if (b := base_models(o["tags"])) is not None
                   and {"id": parent} in b["models"])
    assert sum(counts["childrenModelCount"].values()) == declared > 0
    root = next(o for o in data["objects"]
                if not any(t.startswith("base_model:") for t in o["tags"]))
    bare = client.get(f"{hub.url}/api/models/{root['id']}?expand[]=baseModels").json()
    assert bare == {"_id": root["_id"], "id": root["id"]}


def test_base_models_relation_without_typed_tags():
    assert base_models(["base_model:a/x", "base_model:b/y"])["relation"] == "merge"
    assert base_models(["base_model:a/x"]) == {"relation": "finetune",
                                               "models": [{"id": "a/x"}]}
    assert base_models(["base_model:adapter:a/x", "base_model:a/x"])["relation"] == "adapter"
    assert base_models(["license:mit"]) is None


def test_renamed_and_case_changed_ids_redirect(hub, client, data):
    for old, new in data["renamed"].items():
        r = client.get(f"{hub.url}/api/models/{old}?expand[]=baseModels")
        assert r.status_code == 307
        assert r.headers["Location"] == f"/api/models/{new}?expand[]=baseModels"
        card = client.head(f"{hub.url}/{old}/resolve/main/README.md")
        assert card.status_code == 307
        assert card.headers["Location"] == f"/{new}/resolve/main/README.md"
    model_id = data["ids"][0]
    upper = client.get(f"{hub.url}/api/models/{model_id.upper()}")
    assert upper.status_code == 307 and upper.headers["Location"] == f"/api/models/{model_id}"


def test_recorded_real_responses_are_reproduced(real_data, tmp_path):
    """The three recorded GET /api/models/{id} answers of the real Hub (one a redirect of a
    renamed repo), served from a raw directory built from them, come back the same."""
    recorded = []
    for cassette in sorted((real_data / "api-responses").glob("*.yaml")):
        for step in yaml.safe_load(cassette.read_text())["interactions"]:
            uri = step["request"]["uri"]
            if step["request"]["method"] == "GET" and "huggingface.co/api/models/" in uri:
                recorded.append((uri.split("huggingface.co", 1)[1], step["response"]))
    assert len(recorded) == 4
    models, renames = [], []
    for path, response in recorded:
        if response["status"]["code"] == 200:
            models.append(response["body"]["string"].encode())
        else:
            renames.append({"old_id": path.removeprefix("/api/models/"),
                            "new_id": response["headers"]["Location"][0].removeprefix(
                                "/api/models/")})
    (tmp_path / "models.jsonl").write_bytes(b"\n".join(models) + b"\n")
    (tmp_path / raw.RENAMES).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in renames))
    with HubEmulator(tmp_path) as emulator, httpx2.Client(timeout=10.0) as c:
        for path, response in recorded:
            r = c.get(emulator.url + path)
            assert r.status_code == response["status"]["code"]
            assert r.headers["content-type"] == response["headers"]["Content-Type"][0]
            assert r.content == response["body"]["string"].encode()
            assert r.headers["content-length"] == response["headers"]["Content-Length"][0]
            if r.status_code == 307:
                assert r.headers["Location"] == response["headers"]["Location"][0]


# ---------------------------------------------------------------------------------- faults

def _expected(hub_data: dict, path: str) -> bytes | None:
    """What a request must finally return: the exact list page or card bytes."""
    if path.startswith("/api/models?"):
        limit = int(path.split("limit=")[1])
        return b"[" + b",".join(hub_data["lines"][i] for i in hub_data["listed"][:limit]) + b"]"
    model_id = path[1:].split("/resolve/")[0]
    card = hub_data["cards"].get(model_id)
    return card["card"].encode() if card and card["status"] == "ok" else None


def _drive(emulator: HubEmulator, paths: list[str], max_attempts: int) -> list[tuple]:
    """GET each path until it succeeds; the outcome of every attempt, in order."""
    outcomes = []
    with httpx2.Client(timeout=10.0) as c:
        for path in paths:
            for attempt in range(max_attempts):
                try:
                    r = c.get(emulator.url + path)
                    body = r.content
                except httpx2.RemoteProtocolError:
                    outcomes.append((path, attempt, "truncated", None))
                    continue
                if r.status_code >= 500:
                    outcomes.append((path, attempt, f"http_{r.status_code}", None))
                    continue
                if path.startswith("/api/models?"):
                    try:
                        orjson.loads(body)
                    except orjson.JSONDecodeError:
                        outcomes.append((path, attempt, "malformed", None))
                        continue
                outcomes.append((path, attempt, "ok", body if r.status_code == 200 else None))
                break
            else:
                raise AssertionError(f"{path} still failing after {max_attempts} attempts")
    return outcomes


FAULTS = Faults(error_rate=0.2, error_burst=2, slow_rate=0.05, slow_seconds=0.001,
                truncate_rate=0.2, malformed_rate=0.3, seed=7)


@pytest.fixture(scope="module")
def fault_paths(data) -> list[str]:
    pages = [f"/api/models?full=true&limit={100 - i}" for i in range(40)]
    cards = [f"/{m}/resolve/main/README.md" for m in data["listed"][:300]
             if data["cards"][m]["status"] != "error"]   # that one fails for ever
    return pages + cards


def test_faults_occur_are_bounded_and_retries_get_the_exact_data(raw_dir, data, fault_paths):
    with HubEmulator(raw_dir, FAULTS) as emulator:
        outcomes = _drive(emulator, fault_paths, FAULTS.error_burst + 1)
        stats = emulator.stats()
    kinds = {o[2] for o in outcomes}
    assert {"ok", "truncated", "malformed"} <= kinds
    assert any(k.startswith("http_5") for k in kinds)
    for name in ("errors", "truncated", "malformed", "slow"):
        assert stats["api"][name] + stats["resolver"][name] > 0, name
    assert stats["api"]["malformed"] == sum(o[2] == "malformed" for o in outcomes)
    failures: dict[str, int] = {}
    for path, _, kind, body in outcomes:
        if kind == "ok":
            assert body == _expected(data, path), path
        else:
            failures[path] = failures.get(path, 0) + 1
    assert max(failures.values()) <= FAULTS.error_burst


def test_fault_outcomes_are_deterministic(raw_dir, fault_paths):
    paths = fault_paths[:150]
    with HubEmulator(raw_dir, FAULTS) as once:
        first = [o[:3] for o in _drive(once, paths, 3)]
    with HubEmulator(raw_dir, FAULTS) as again:
        assert [o[:3] for o in _drive(again, paths, 3)] == first
    other = Faults(**{**FAULTS.__dict__, "seed": 8})
    with HubEmulator(raw_dir, other) as different:
        assert [o[:3] for o in _drive(different, paths, 3)] != first


def test_faults_are_validated():
    with pytest.raises(InputError, match="error_rate"):
        Faults(error_rate=1.5)
    with pytest.raises(InputError, match="api_limit"):
        Faults(api_limit=0)
    with pytest.raises(InputError, match="error_burst"):
        Faults(error_burst=0)


# ----------------------------------------------------------------------------- rate limits

def test_rate_limits_answer_429_per_window_with_parsable_headers(raw_dir, data):
    now = [1000.0]
    faults = Faults(api_limit=3, resolver_limit=2, window_seconds=10)
    with HubEmulator(raw_dir, faults, clock=lambda: now[0]) as emulator, \
            httpx2.Client(timeout=10.0) as c:
        with_card = next(m for m in data["listed"] if data["cards"][m]["status"] == "ok")
        api = f"{emulator.url}/api/models/{data['ids'][0]}"
        card = f"{emulator.url}/{with_card}/resolve/main/README.md"
        remaining = []
        for _ in range(3):
            r = c.get(api)
            assert r.status_code == 200
            remaining.append(parse_ratelimit_headers(r.headers).remaining)
        assert remaining == [2, 1, 0]
        now[0] = 1004.2
        limited = c.get(api)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "6"
        info = parse_ratelimit_headers(limited.headers)
        assert (info.resource_type, info.remaining, info.reset_in_seconds, info.limit,
                info.window_seconds) == ("api", 0, 6, 3, 10)
        assert c.get(api + "-missing").status_code == 429   # 429 before routing
        assert [c.get(card).status_code for _ in range(3)] == [200, 200, 429]
        now[0] = 1010.5   # next window: the 429s above consumed nothing
        statuses = [c.get(api).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        missing = c.get(f"{emulator.url}/{data['ids'][0]}/resolve/main/nothing.bin")
        assert missing.status_code == 404
        assert parse_ratelimit_headers(missing.headers).resource_type == "resolver"
        stats = emulator.stats()
    assert stats["api"]["windows"] == {0: 3, 1: 3}
    assert stats["api"]["limited"] == 3
    assert stats["resolver"]["windows"] == {0: 2, 1: 1} and stats["resolver"]["limited"] == 1


def test_epoch_windows_budget_use_and_repeated_fetches(raw_dir, data):
    """Windows on the wall clock's epoch grid; budget_use per window and over the windows
    within bounds; repeated_fetches names what was answered in full twice."""
    now = [1_000_007.0]   # window 100000 of 10 s: reset in 3 s
    faults = Faults(resolver_limit=4, window_seconds=10, epoch_windows=True)
    with HubEmulator(raw_dir, faults, clock=lambda: -5.0, wall_clock=lambda: now[0]) as hub, \
            httpx2.Client(timeout=10.0) as c:
        cards = [m for m in data["listed"] if data["cards"][m]["status"] == "ok"][:20]
        url = f"{hub.url}/{{}}/resolve/main/README.md"
        r = c.get(url.format(cards[0]))
        assert parse_ratelimit_headers(r.headers).reset_in_seconds == 3
        c.get(url.format(cards[1]))
        now[0] = 1_000_012.0                                # window 100001: full
        assert [c.get(url.format(m)).status_code for m in cards[2:7]] == [200] * 4 + [429]
        now[0] = 1_000_025.0                                # window 100002: 3 of 4
        for m in (cards[0], cards[7], cards[8]):            # cards[0] a second time
            assert c.get(url.format(m)).status_code == 200
        now[0] = 1_000_031.0                                # window 100003: the last, 1
        assert c.get(url.format(cards[9])).status_code == 200
        assert c.get(f"{hub.url}/{data['ids'][0]}/resolve/main/nothing.bin").status_code == 404
        use = hub.budget_use("resolver")
        assert use["windows"] == [2, 4, 3, 2]
        assert use["full"] == [4, 3] and use["use"] == 0.875   # first and last left out
        assert hub.budget_use("resolver", since=1_000_010.0, until=1_000_020.0)["full"] == [4]
        assert hub.budget_use("resolver", since=1_000_009.0, until=1_000_031.0)["use"] == 0.875
        assert hub.repeated_fetches() == {f"/{cards[0]}/resolve/main/README.md": 2}
        with pytest.raises(ValueError, match="no limit"):
            hub.budget_use("api")


def test_unlimited_buckets_send_no_ratelimit_headers(hub, client, data):
    r = client.get(f"{hub.url}/api/models/{data['ids'][0]}")
    assert "RateLimit" not in r.headers


# -------------------------------------------------------------------------- huggingface_hub

def test_huggingface_hub_lists_every_model_over_pages(hub, data):
    api = HfApi(endpoint=hub.url)
    before = hub.stats()["api"]["served"]
    models = list(api.list_models(full=True))
    assert [m.id for m in models] == data["listed"]
    assert hub.stats()["api"]["served"] - before == 2   # 1000 + rest: the cursor was followed
    assert models[0].sha == data["objects"][0]["sha"] and models[0].siblings


def test_huggingface_hub_model_info(hub, data):
    api = HfApi(endpoint=hub.url)
    child = next(o for o in data["objects"]
                 if any(t.startswith("base_model:") for t in o["tags"])
                 and o["id"] not in data["renamed"])
    assert api.model_info(child["id"]).tags == child["tags"]
    info = api.model_info(child["id"], expand=["baseModels"])
    assert info.base_models == base_models(child["tags"])
    old, new = next(iter(data["renamed"].items()))
    assert api.model_info(old).id == new
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/no-such-model")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(child["id"], revision="v9")


def test_huggingface_hub_downloads_cards_with_cache(hub, data, tmp_path):
    ok = next(m for m in data["listed"] if data["cards"][m]["status"] == "ok")
    path = hf_hub_download(ok, "README.md", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(path).read_text() == data["cards"][ok]["card"]
    before = hub.stats()["resolver"]["body_bytes"]
    again = hf_hub_download(ok, "README.md", endpoint=hub.url, cache_dir=tmp_path)
    assert again == path and hub.stats()["resolver"]["body_bytes"] == before   # HEAD only
    for old, new in data["renamed"].items():
        moved = hf_hub_download(old, "README.md", endpoint=hub.url, cache_dir=tmp_path)
        assert Path(moved).read_text() == data["cards"][new]["card"]
    missing = next(m for m in data["listed"] if data["cards"][m]["status"] == "missing")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(missing, "README.md", endpoint=hub.url, cache_dir=tmp_path)


def test_huggingface_hub_dataset_repo(hub, dataset_dir, tmp_path):
    files = sorted(p.relative_to(dataset_dir).as_posix() for p in dataset_dir.rglob("*")
                   if p.is_file())
    commit = hashlib.sha1("".join(
        f"{f}\0{hashlib.sha256((dataset_dir / f).read_bytes()).hexdigest()}\n" for f in files
    ).encode()).hexdigest()
    api = HfApi(endpoint=hub.url)
    info = api.dataset_info(DATASET)
    assert info.sha == commit and [s.rfilename for s in info.siblings] == files
    assert api.dataset_info(DATASET, revision=commit).sha == commit
    assert api.dataset_info(DATASET, files_metadata=True).siblings[1].lfs is not None
    assert api.list_repo_files(DATASET, repo_type="dataset") == files
    assert api.list_repo_files(DATASET, repo_type="dataset", revision=commit) == files
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(DATASET, revision="0" * 40)
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("hubanatomy/nothing")
    name = "data/train-00000-of-00002.parquet"
    for revision in ("main", commit):
        path = hf_hub_download(DATASET, name, repo_type="dataset", revision=revision,
                               endpoint=hub.url, cache_dir=tmp_path)
        assert Path(path).read_bytes() == (dataset_dir / name).read_bytes()
        assert commit in path   # stored under the pinned commit
    before = hub.stats()["resolver"]["body_bytes"]
    hf_hub_download(DATASET, name, repo_type="dataset", endpoint=hub.url, cache_dir=tmp_path)
    assert hub.stats()["resolver"]["body_bytes"] == before
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(DATASET, "data/none.csv", repo_type="dataset", endpoint=hub.url,
                        cache_dir=tmp_path)


def test_dataset_tree_pages_and_folders(hub, client):
    base = f"{hub.url}/api/datasets/{DATASET}/tree/main"
    everything, sizes = _follow_pages(client, f"{base}?recursive=true&limit=2")
    assert sizes == [2, 2]
    assert [(e["type"], e["path"]) for e in everything] == [
        ("file", "README.md"), ("directory", "data"),
        ("file", "data/train-00000-of-00002.parquet"),
        ("file", "data/train-00001-of-00002.parquet")]
    top = client.get(f"{base}").json()
    assert [e["path"] for e in top] == ["README.md", "data"]
    inside = client.get(f"{base}/data").json()
    assert [e["path"] for e in inside] == ["data/train-00000-of-00002.parquet",
                                           "data/train-00001-of-00002.parquet"]
    assert client.get(f"{base}/nowhere").headers["X-Error-Code"] == "EntryNotFound"


def test_truncated_dataset_file_resumes_with_a_range(raw_dir, dataset_dir):
    name = "data/train-00000-of-00002.parquet"
    full = (dataset_dir / name).read_bytes()
    with HubEmulator(raw_dir, Faults(truncate_rate=1.0), datasets={DATASET: dataset_dir}) as hub, \
            httpx2.Client(timeout=10.0) as c:
        url = f"{hub.url}/datasets/{DATASET}/resolve/main/{name}"
        got = b""
        with pytest.raises(httpx2.RemoteProtocolError), c.stream("GET", url) as r:
            assert r.headers["content-length"] == str(len(full))
            for chunk in r.iter_bytes():
                got += chunk
        assert 0 < len(got) < len(full) and full.startswith(got)
        rest = c.get(url, headers={"Range": f"bytes={len(got)}-"})
        assert rest.status_code == 206 and got + rest.content == full
        assert hub.stats()["resolver"]["truncated"] == 1


# ------------------------------------------------------------------------------------- cli

def test_serve_hub_starts_and_answers(raw_dir, data):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubanatomy.cli", "serve-hub", "--raw", str(raw_dir),
         "--port", "0", "--dataset-repo", DATASET, "--archive-format", "csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "serve-hub printed no URL"
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        with httpx2.Client(timeout=10.0) as c:
            model = c.get(f"{url}/api/models/{data['ids'][0]}")
            assert model.content == data["lines"][data["ids"][0]]
            siblings = c.get(f"{url}/api/datasets/{DATASET}").json()["siblings"]
            assert [s["rfilename"] for s in siblings] == ["ai_ecosystem_withmodelcards.csv"]
            feed = c.get(f"{url}/arxiv/api/query", params={"id_list": "2101.00001"})
            assert feed.status_code == 200 and b"<feed" in feed.content
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0
