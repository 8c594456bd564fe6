"""The live crawl: the Hub's list API and model cards into the raw format, resumable.

Three steps, each a Snakemake job (acquire.smk), all writing under one crawl directory:

1. `crawl_list` pages through `GET /api/models?full=true&limit=1000`, following the cursor in the
   `Link: <...>; rel="next"` header. Page k goes to `models/part-k.jsonl` (temp file + rename),
   then the checkpoint `state/list.json` records page k+1's URL. A crash between the two only
   rewrites page k, so pages are never lost nor repeated.
2. `crawl_cards` shard i of n (a stable hash of the model id picks the shard) fetches each
   model's `/{id}/resolve/main/README.md` with a pool of threads and writes finished records in
   batches to `cards/shard-i-part-j.jsonl` (temp file + rename). What is in a part is done and
   never fetched again; a kill loses only the batch in flight. A finished shard is compacted
   into `cards/shard-i.jsonl` in listing order. The shard also asks the API for each declared
   parent id that the listing lacks: a redirect means the repo was renamed (old -> new id is
   recorded for the lineage), a 404 means it is gone or private.
3. `gather_crawl` writes `renames.jsonl`, `problems.jsonl` and `raw_manifest.json` (endpoint,
   time window, request counts, every problem counted with model ids).

All requests go through huggingface_hub's HTTP session (`HF_TOKEN` sent when set, never
logged) and one SharedBudget per crawl; 429 waits as the server says, 5xx and connection
errors are retried with jittered exponential backoff, 404 on a card means "no card".
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import random
import re
import threading
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import httpx2
import orjson
import polars as pl
from huggingface_hub.utils import build_hf_headers, get_session

from hubanatomy import raw
from hubanatomy.errors import OFFLINE_HINT, InputError
from hubanatomy.logs import setup_logging
from hubanatomy.progress import Progress
from hubanatomy.ratelimit import SharedBudget
from hubanatomy.tags import BASE_MODEL, RELATIONS, REPO_ID

log = logging.getLogger(__name__)

STATE = "state"
LIST_STATE = "list.json"
BUDGET = "budget.json"
PROBES = "probes"
PROBLEMS = "problems.jsonl"
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# what a connection-level failure looks like through httpx2 (timeouts, resets, cut bodies)
NETWORK_ERRORS = (httpx2.TransportError, httpx2.DecodingError)
# the parent id in base_model:X and base_model:<relation>:X (tags.py parses them for the
# snapshot; the crawl needs only the ids)
BASE_MODEL_TAG = rf"^{BASE_MODEL}(?:(?:{'|'.join(RELATIONS)}):)?(.+)$"
REPO_ID_RE = re.compile(REPO_ID)
CARD_PATH = "/resolve/main/README.md"


@dataclass(frozen=True)
class CrawlSettings:
    endpoint: str = "https://huggingface.co"
    max_models: int | None = None
    api_requests_per_window: int = 1000
    resolver_requests_per_window: int = 5000
    window_seconds: float = 300.0
    workers: int = 8
    page_size: int = 1000
    max_retries: int = 8
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_card_bytes: int = 2_000_000
    flush_records: int = 1000
    flush_seconds: float = 30.0

    @classmethod
    def from_config(cls, config: dict) -> CrawlSettings:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in config.items() if k in known and v is not None})


class CrawlError(InputError):
    """The crawl cannot go on (unreachable Hub, a page that never parses, a changed endpoint)."""


class _Client:
    """One crawl's requests: shared budget, retries, and counts of what happened."""

    def __init__(self, root: Path, settings: CrawlSettings):
        self.settings = settings
        self.budget = SharedBudget(root / STATE / BUDGET,
                                   {"api": settings.api_requests_per_window,
                                    "resolver": settings.resolver_requests_per_window},
                                   settings.window_seconds)
        self.session = get_session()
        self.headers = build_hf_headers(library_name="hubanatomy")
        self.timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self.counts: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def count(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def _backoff(self, attempt: int) -> None:
        s = self.settings
        time.sleep(min(s.max_backoff_seconds, s.backoff_seconds * 2 ** attempt)
                   * random.uniform(0.5, 1.0))

    def get(self, bucket: str, url: str, parse, fail_fast: bool = False):
        """GET url and return parse(response, body); retried on 429/5xx, network errors and
        parse failures (parse raises ValueError). Returns None after max_retries failures, and
        the response of a non-retryable status as parse(response, None)."""
        for attempt in range(self.settings.max_retries + 1):
            self.budget.acquire(bucket)
            self.count(f"{bucket}_requests")
            try:
                with self.session.stream("GET", url, headers=self.headers,
                                         timeout=self.timeout) as response:
                    wait_for = self.budget.observe(bucket, response.status_code,
                                                   response.headers)
                    if response.status_code in RETRYABLE_STATUS:
                        self.count(f"{bucket}_status_{response.status_code}")
                        if wait_for is not None:
                            time.sleep(wait_for + random.uniform(0.0, 0.25))
                        else:
                            self._backoff(attempt)
                        continue
                    if response.status_code >= 400:
                        return parse(response, None)
                    body = _read_capped(response, self.settings.max_card_bytes
                                        if bucket == "resolver" else None)
                    return parse(response, body)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
                if fail_fast:
                    raise CrawlError(f"cannot reach {self.settings.endpoint}: {error}. "
                                     f"{OFFLINE_HINT}") from error
                self.count(f"{bucket}_connection_errors")
                self._backoff(attempt)
            except NETWORK_ERRORS:
                self.count(f"{bucket}_network_errors")
                self._backoff(attempt)
            except ValueError:
                self.count(f"{bucket}_unparseable_bodies")
                self._backoff(attempt)
        self.count(f"{bucket}_gave_up")
        return None


def _read_capped(response, cap: int | None) -> tuple[bytes, bool]:
    """The body, cut at cap bytes (then flagged truncated)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if cap is not None and size > cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def _jsonl(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _read_json(path: Path) -> dict:
    return orjson.loads(path.read_bytes()) if path.is_file() else {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_endpoint(root: Path, settings: CrawlSettings) -> dict:
    """The crawl directory belongs to one endpoint; resuming against another would mix Hubs."""
    state = _read_json(root / STATE / LIST_STATE)
    if state and state.get("endpoint") != settings.endpoint.rstrip("/"):
        raise CrawlError(
            f"{root} holds a crawl of {state.get('endpoint')}, not {settings.endpoint}; "
            "move it away (or remove it) to start a new crawl")
    return state


@contextmanager
def _exclusive(root: Path, step: str):
    """Hold the step's lock for as long as it runs. A crawl killed with -9 leaves its shard
    processes running; a rerun must not write the same shard at the same time (duplicates),
    so it stops with a message instead. The kernel drops the lock when its holder dies."""
    path = root / STATE / f"{step}.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise CrawlError(f"{root}: step {step} is running in another process (pid "
                             f"{handle.read().strip() or '?'}); wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


# ---------------------------------------------------------------------------------- list

def crawl_list(root: str | Path, settings: CrawlSettings) -> dict:
    """Step 1: page through the list API into models/part-*.jsonl; returns the list state."""
    root = Path(root)
    (root / STATE).mkdir(parents=True, exist_ok=True)
    with _exclusive(root, "list"):
        return _crawl_list(root, settings)


def _crawl_list(root: Path, settings: CrawlSettings) -> dict:
    (root / raw.MODELS).mkdir(exist_ok=True)
    endpoint = settings.endpoint.rstrip("/")
    state = _check_endpoint(root, settings) or {
        "endpoint": endpoint, "started_at": _now(), "page": 0, "models": 0, "done": False,
        "next_url": f"{endpoint}/api/models?full=true&limit={settings.page_size}"}
    if state["done"]:
        log.info("listing already complete: %d models in %d pages", state["models"],
                 state["page"])
        return state
    client = _Client(root, settings)
    progress = Progress("listing models", total=settings.max_models, unit="models")
    progress.update(state["models"])

    def parse(response, body):
        if body is None:
            raise CrawlError(f"GET {response.url} answered {response.status_code}: "
                             f"{response.read()[:300]!r}")
        objects = orjson.loads(body[0])  # JSONDecodeError is a ValueError: retried
        if not isinstance(objects, list):
            raise ValueError("a list page is not a JSON array")
        following = response.links.get("next", {}).get("url")
        return objects, urljoin(str(response.url), following) if following else None

    while not state["done"]:
        page = client.get("api", state["next_url"], parse, fail_fast=state["page"] == 0)
        if page is None:
            raise CrawlError(f"list page {state['page']} ({state['next_url']}) failed "
                             f"{settings.max_retries + 1} times; rerun to resume from it")
        objects, following = page
        if settings.max_models is not None:
            objects = objects[: max(0, settings.max_models - state["models"])]
        lines = _jsonl(objects)
        raw.write_atomic(root / raw.MODELS / f"part-{state['page']:05d}.jsonl", lines)
        state["page"] += 1
        state["models"] += len(objects)
        state["next_url"] = following
        state["truncated"] = following is not None
        state["done"] = following is None or (settings.max_models is not None
                                              and state["models"] >= settings.max_models)
        if state["done"]:
            state["listed_at"] = _now()
        raw.write_atomic(root / STATE / LIST_STATE, orjson.dumps(state))
        progress.update(len(objects))
    progress.close()
    _add_counts(root, "list", client.counts)
    return state


# --------------------------------------------------------------------------------- cards

def shard_of(model_ids: list[str], shards: int) -> list[int]:
    """A stable shard number per model id (crc32: the same on every machine and run)."""
    return [zlib.crc32(m.encode()) % shards for m in model_ids]


def _listing(root: Path) -> tuple[list[str], set[str]]:
    """Model ids in listing order, and the parent ids their tags declare."""
    listed = pl.scan_ndjson(raw.model_files(root),
                            schema={"id": pl.String, "tags": pl.List(pl.String)}).collect()
    parents = (listed.select(pl.col("tags").explode()).drop_nulls()
               .select(pl.col("tags").str.extract(BASE_MODEL_TAG, 1)).drop_nulls())
    return listed["id"].to_list(), set(parents["tags"].to_list())


def _parts(root: Path, shard: int) -> list[Path]:
    return sorted((root / raw.CARDS).glob(f"shard-{shard:04d}-part-*.jsonl"))


def _records(paths: list[Path]) -> list[dict]:
    return [orjson.loads(line) for p in paths for line in p.read_bytes().splitlines()]


def crawl_cards(root: str | Path, settings: CrawlSettings, shard: int, shards: int) -> dict:
    """Step 2, shard `shard` of `shards`: cards and parent probes. Returns the shard's counts."""
    root = Path(root)
    with _exclusive(root, f"cards-{shard:04d}"):
        return _crawl_cards(root, settings, shard, shards)


def _crawl_cards(root: Path, settings: CrawlSettings, shard: int, shards: int) -> dict:
    state = _check_endpoint(root, settings)
    if not state.get("done"):
        raise CrawlError(f"{root}: the listing is not complete; run the list step first")
    compacted = root / raw.CARDS / f"shard-{shard:04d}.jsonl"
    probes_file = root / PROBES / f"shard-{shard:04d}.jsonl"
    if compacted.is_file() and probes_file.is_file():
        for leftover in _parts(root, shard):  # a kill after compaction, before cleanup
            leftover.unlink()
        return _read_json(root / STATE / f"requests-cards-{shard:04d}.json")
    (root / raw.CARDS).mkdir(exist_ok=True)
    (root / PROBES).mkdir(exist_ok=True)

    ids, parents = _listing(root)
    listed = set(ids)
    mine = [m for m, s in zip(ids, shard_of(ids, shards), strict=True) if s == shard]
    # a parent the listing lacks is probed only when the listing is the whole Hub
    missing = sorted(p for p in parents - listed if REPO_ID_RE.match(p))
    probe = [] if state.get("truncated") else [
        p for p, s in zip(missing, shard_of(missing, shards), strict=True) if s == shard]

    done = {r["id"] for r in _records(_parts(root, shard))}
    todo = [("card", m) for m in mine if m not in done] + \
           [("probe", p) for p in probe if p not in done]
    log.info("shard %d/%d: %d cards and %d parent probes, %d already done", shard + 1, shards,
             len(mine), len(probe), len(done))
    client = _Client(root, settings)
    progress = Progress(f"cards, shard {shard + 1}/{shards}", total=len(todo), unit="requests")
    buffer: list[dict] = []
    last_flush = time.monotonic()
    part = len(_parts(root, shard))

    def flush():
        nonlocal buffer, part, last_flush
        if buffer:
            data = _jsonl(buffer)
            raw.write_atomic(root / raw.CARDS / f"shard-{shard:04d}-part-{part:05d}.jsonl", data)
            part += 1
            buffer = []
        last_flush = time.monotonic()

    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        pending, queue = set(), iter(todo)
        while True:
            while len(pending) < 2 * settings.workers:
                job = next(queue, None)
                if job is None:
                    break
                pending.add(pool.submit(_fetch_card if job[0] == "card" else _probe,
                                        client, settings.endpoint.rstrip("/"), job[1]))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                buffer.append(future.result())
                progress.update()
            if (len(buffer) >= settings.flush_records
                    or time.monotonic() - last_flush >= settings.flush_seconds):
                flush()
    flush()
    progress.close()
    counts = {**client.counts, "budget_wait_seconds": round(client.budget.waited_seconds, 1)}
    _add_counts(root, f"cards-{shard:04d}", counts)
    _compact(root, shard, ids)
    return counts


def _fetch_card(client: _Client, endpoint: str, model_id: str) -> dict:
    url = f"{endpoint}/{quote(model_id)}{CARD_PATH}"
    record = {"kind": "card", "id": model_id}

    def parse(response, body):
        _note_redirect(record, response, endpoint)
        if body is None:
            if response.status_code == 404:
                return {**record, "status": "missing", "card": None}
            return {**record, "status": "error", "card": None,
                    "problem": f"http_{response.status_code}"}
        data, truncated = body
        try:
            text = data.decode("utf-8")
            problem = None
        except UnicodeDecodeError:
            # a cut at the size cap may split a character: drop the broken tail only
            text = data.decode("utf-8", errors="ignore" if truncated else "replace")
            problem = None if truncated and _valid_after_trim(data) else "card_not_utf8"
        if truncated:
            problem = "card_truncated_at_cap" if problem is None else problem
        out = {**record, "status": "ok", "card": text}
        if problem:
            out["problem"] = problem
        return out

    result = client.get("resolver", url, parse)
    return result or {**record, "status": "error", "card": None, "problem": "card_fetch_failed"}


def _valid_after_trim(data: bytes) -> bool:
    """True if the bytes are valid UTF-8 once at most 3 trailing bytes are dropped."""
    for cut in range(4):
        try:
            data[: len(data) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _note_redirect(record: dict, response, endpoint: str) -> None:
    """A card answered after a redirect to another repo: the model was renamed."""
    if response.history:
        path = urlsplit(str(response.url)).path
        path = path.removeprefix(urlsplit(endpoint).path.rstrip("/"))
        new = path.removesuffix(CARD_PATH).strip("/")
        if new and new != record["id"]:
            record["renamed_to"] = new


def _probe(client: _Client, endpoint: str, parent_id: str) -> dict:
    """Ask the API about a declared parent the listing lacks: renamed, gone, or elsewhere."""
    url = f"{endpoint}/api/models/{quote(parent_id)}"
    record = {"kind": "probe", "id": parent_id}

    def parse(response, body):
        if body is None:
            return {**record, "status": "not_found" if response.status_code in (401, 404)
                    else f"http_{response.status_code}"}
        new = orjson.loads(body[0]).get("id")
        if new and new.lower() == parent_id.lower() and new != parent_id:
            # the Hub forgives letter case; the lineage resolves case itself (and says so)
            return {**record, "status": "case_variant"}
        if new and new != parent_id:
            return {**record, "status": "renamed", "renamed_to": new}
        return {**record, "status": "exists"}

    return client.get("api", url, parse) or {**record, "status": "error"}


def _compact(root: Path, shard: int, order: list[str]) -> None:
    """One file per finished shard, cards in listing order (deterministic raw data); the
    parts are removed only after the compacted files exist."""
    records = _records(_parts(root, shard))
    position = {m: i for i, m in enumerate(order)}
    cards = sorted((r for r in records if r["kind"] == "card"), key=lambda r: position[r["id"]])
    probes = sorted((r for r in records if r["kind"] == "probe"), key=lambda r: r["id"])
    raw.write_atomic(root / PROBES / f"shard-{shard:04d}.jsonl",
                  _jsonl(probes))
    raw.write_atomic(root / raw.CARDS / f"shard-{shard:04d}.jsonl",
                  _jsonl(cards))
    for path in _parts(root, shard):
        path.unlink()


def _add_counts(root: Path, step: str, counts: dict) -> None:
    """Request counts per step, added up over reruns (a resumed step adds its own)."""
    path = root / STATE / f"requests-{step}.json"
    total = _read_json(path)
    for key, value in counts.items():
        total[key] = round(total.get(key, 0) + value, 1)
    raw.write_atomic(path, orjson.dumps(total, option=orjson.OPT_SORT_KEYS))


# -------------------------------------------------------------------------------- gather

def gather(root: str | Path, settings: CrawlSettings, shards: int) -> dict:
    """Step 3: renames, problems and the raw manifest of the finished crawl."""
    root = Path(root)
    state = _check_endpoint(root, settings)
    cards = _records([root / raw.CARDS / f"shard-{s:04d}.jsonl" for s in range(shards)])
    probes = _records([root / PROBES / f"shard-{s:04d}.jsonl" for s in range(shards)])
    renames = {r["id"]: r["renamed_to"] for r in [*probes, *cards] if r.get("renamed_to")}
    raw.write_atomic(root / raw.RENAMES, _jsonl(
        {"old_id": old, "new_id": new} for old, new in sorted(renames.items())))

    problems = [{"model_id": r["id"], "problem": r["problem"]} for r in cards if "problem" in r]
    problems += [{"model_id": r["id"], "problem": f"parent_{r['status']}"}
                 for r in probes if r["status"] not in ("renamed", "exists", "case_variant")]
    problems.sort(key=lambda p: (p["problem"], p["model_id"]))
    raw.write_atomic(root / PROBLEMS, _jsonl(problems))

    requests: dict[str, float] = {}
    for path in sorted((root / STATE).glob("requests-*.json")):
        for key, value in _read_json(path).items():
            requests[key] = round(requests.get(key, 0) + value, 1)
    by_kind: dict[str, dict] = {}
    for p in problems:
        entry = by_kind.setdefault(p["problem"], {"count": 0, "model_ids": []})
        entry["count"] += 1
        if len(entry["model_ids"]) < 100:
            entry["model_ids"].append(p["model_id"])
    manifest = {
        "source": {
            "kind": "crawl",
            "endpoint": state["endpoint"],
            "window": {"started_at": state["started_at"], "listed_at": state.get("listed_at"),
                       "finished_at": _now()},
            "models": state["models"],
            "list_pages": state["page"],
            "complete": not state.get("truncated", False),
            "settings": {k: v for k, v in asdict(settings).items() if k != "endpoint"},
            "card_shards": shards,
        },
        "acquisition": {
            "cards": {status: sum(1 for r in cards if r["status"] == status)
                      for status in ("ok", "missing", "error")},
            "renames": len(renames),
            "parents_probed": len(probes),
            "requests": requests,
            "problems": by_kind,
            "problems_file": PROBLEMS,
        },
    }
    raw.write_atomic(root / raw.RAW_MANIFEST,
                  orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    log.info("crawl gathered: %d models, cards %s, %d renames, %d problems", state["models"],
             manifest["acquisition"]["cards"], len(renames), len(problems))
    return manifest


def run_crawl(root: str | Path, settings: CrawlSettings, shards: int = 1, jobs: int = 1) -> dict:
    """All three steps outside Snakemake (the `hubanatomy crawl` command): the card shards run
    as `jobs` processes at once, sharing the budget as Snakemake's jobs do."""
    crawl_list(root, settings)
    if jobs > 1:
        # spawned, not forked: a fork copies the parent's HTTP connection pool and its locks
        with ProcessPoolExecutor(max_workers=jobs, initializer=setup_logging,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            for done in [pool.submit(crawl_cards, root, settings, s, shards)
                         for s in range(shards)]:
                done.result()
    else:
        for shard in range(shards):
            crawl_cards(root, settings, shard, shards)
    return gather(root, settings, shards)
