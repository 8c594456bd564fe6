"""The live crawl: the Hub's list API and model cards into the raw format, resumable.

Three steps, each a Snakemake job (acquire.smk), all writing under one crawl directory:

1. `crawl_list` pages through `GET /api/models?full=true&limit=1000`, following the cursor in the
   `Link: <...>; rel="next"` header. Page k goes to `models/part-k.jsonl` (temp file + rename),
   then the checkpoint `state/list.json` records page k+1's URL. A crash between the two only
   rewrites page k, so pages are never lost nor repeated. A listing stopped at `max_models`
   records where it stopped (inside a page too): a rerun with a higher limit, or none,
   continues it.
2. `crawl_cards` shard i of n (a stable hash of the model id picks the shard) fetches each
   model's `/{id}/resolve/main/README.md` with a pool of threads and writes finished records in
   batches to `cards/shard-i-part-j.jsonl` (temp file + rename). What is in a part is done and
   never fetched again, except failures (status `error`), which every rerun asks again; a kill
   loses only the batch in flight. A finished shard is compacted into `cards/shard-i.jsonl` in
   listing order. The shard also asks the API for each declared parent id that the listing
   lacks: a redirect means the repo was renamed (old -> new id is recorded for the lineage), a
   404 means it is gone or private. A shard that ends with failures stops with an error naming
   them (rerun to retry), unless `accept_errors` keeps them as errors. The number of shards is
   recorded (`state/cards-layout.json`); a crawl resumed with another number first moves every
   record to its new shard (crash-safe: staged, then swapped), so nothing is lost or repeated.
3. `gather_crawl` writes `renames.jsonl`, `problems.jsonl` and `raw_manifest.json` (endpoint,
   time window, request counts, every problem counted with model ids).

One crawl at a time: `hubanatomy crawl` holds the folder's crawl lock for its whole run, the
Snakemake jobs of one run share it, and each step holds its own lock besides, so a second crawl
stops at once with a message instead of taking over a shard. Request counts are written as
they happen (`state/requests-<step>-<run>.json`, replaced atomically at most every
`counts_flush_seconds`), so a killed run's requests are in the manifest too.

All requests go through huggingface_hub's HTTP session (`HF_TOKEN` sent when set, never
logged) and one SharedBudget per step, shared with every other step and shard (state/budget/,
lock-free, see ratelimit.py); 429 waits as the server says (up to
`max_wait_seconds`: beyond, the crawl stops, resumable), 5xx and connection errors are retried
with jittered exponential backoff, 404 on a card means "no card". An endpoint with a
user:password part is used as given but written everywhere without it.
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import random
import shutil
import threading
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx2
import orjson
import polars as pl
from huggingface_hub.utils import build_hf_headers, get_session

from hubanatomy.acquire.ratelimit import SharedBudget, WaitTooLong
from hubanatomy.errors import OFFLINE_HINT, InputError
from hubanatomy.logs import setup_logging
from hubanatomy.progress import Progress
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.parent_ids import clean_parent_id
from hubanatomy.snapshot.raw import public_url
from hubanatomy.snapshot.tags import BASE_MODEL, RELATIONS

log = logging.getLogger(__name__)

STATE = "state"
LIST_STATE = "list.json"
BUDGET = "budget"  # the request budget's member files (ratelimit.SharedBudget)
PROBES = "probes"
PROBLEMS = "problems.jsonl"
LAYOUT = "cards-layout.json"
RESHARD = ".reshard"  # under cards/: the records of a new shard layout, staged
RESHARD_DONE = "staged.json"
EXAMPLES = 5
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# what a connection-level failure looks like through httpx2 (timeouts, resets, cut bodies)
NETWORK_ERRORS = (httpx2.TransportError, httpx2.DecodingError)
# the parent id in base_model:X and base_model:<relation>:X (tags.py parses them for the
# snapshot; the crawl needs only the ids)
BASE_MODEL_TAG = rf"^{BASE_MODEL}(?:(?:{'|'.join(RELATIONS)}):)?(.+)$"
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
    accept_errors: bool = False
    max_wait_seconds: float = 3600.0
    flush_records: int = 1000
    flush_seconds: float = 30.0
    counts_flush_seconds: float = 1.0

    @classmethod
    def from_config(cls, config: dict) -> CrawlSettings:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in config.items() if k in known and v is not None})


def crawl_config(snakemake) -> dict:
    """A crawl rule's settings, read from the config itself: its params (which Snakemake
    stores, and compares to decide reruns) hold only the keys that identify the data, so the
    endpoint's credentials are never stored and tuning a crawl reruns nothing."""
    return dict(snakemake.config["crawl"])


class CrawlError(InputError):
    """The crawl cannot go on (unreachable Hub, a page that never parses, a changed endpoint)."""


class CrawlIncomplete(CrawlError):
    """Requests failed after every retry; a rerun asks them again."""


class _Client:
    """One step's requests: shared budget, retries, and counts of what happened, written to
    the step's own counts file as they happen."""

    def __init__(self, root: Path, settings: CrawlSettings, step: str):
        self.settings = settings
        # a user:password part goes into the requests' auth, never into a URL that could be
        # logged or written (state, manifest, messages)
        self.endpoint = public_url(settings.endpoint.rstrip("/"))
        parts = urlsplit(settings.endpoint)
        self.auth = ({"auth": httpx2.BasicAuth(unquote(parts.username or ""),
                                               unquote(parts.password or ""))}
                     if parts.username is not None else {})
        self.budget = SharedBudget(root / STATE / BUDGET,
                                   {"api": settings.api_requests_per_window,
                                    "resolver": settings.resolver_requests_per_window},
                                   settings.window_seconds, settings.max_wait_seconds)
        self.session = get_session()
        self.headers = build_hf_headers(library_name="hubanatomy")
        self.timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self.counts: dict[str, float] = {}
        self._count_lock = threading.Lock()
        run = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
        self.counts_path = root / STATE / f"requests-{step}-{run}.json"
        self._saved = 0.0

    def count(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[key] = self.counts.get(key, 0) + n
            if time.monotonic() - self._saved >= self.settings.counts_flush_seconds:
                self._save()

    def _save(self) -> None:
        """Write the counts so far (the caller holds the count lock)."""
        self.counts["budget_wait_seconds"] = round(self.budget.waited_seconds, 1)
        raw.write_atomic(self.counts_path, orjson.dumps(self.counts, option=orjson.OPT_SORT_KEYS),
                         sync=False)
        self._saved = time.monotonic()

    def close(self) -> dict:
        self.budget.close()
        with self._count_lock:
            if self.counts:
                self._save()
            return dict(self.counts)

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
                                         timeout=self.timeout, **self.auth) as response:
                    if response.history:  # redirects followed: requests the Hub counted too
                        self.count(f"{bucket}_requests", len(response.history))
                        self.count(f"{bucket}_redirects", len(response.history))
                    wait_for = self.budget.observe(bucket, response.status_code,
                                                   response.headers)
                    if response.status_code in RETRYABLE_STATUS:
                        self.count(f"{bucket}_status_{response.status_code}")
                        if wait_for is not None:
                            self.budget.pause(bucket, wait_for + random.uniform(0.0, 0.25),
                                              f"HTTP {response.status_code}, Retry-After")
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
                    raise CrawlError(f"cannot reach {self.endpoint}: {error}. "
                                     f"{OFFLINE_HINT}") from None
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
    endpoint = public_url(settings.endpoint.rstrip("/"))
    if state and public_url(state.get("endpoint") or "") != endpoint:
        raise CrawlError(
            f"{root} holds a crawl of {public_url(state.get('endpoint') or '?')}, not "
            f"{endpoint}; move it away (or remove it) to start a new crawl")
    return state


@contextmanager
def _locked(root: Path, name: str, shared: bool = False):
    """Hold a lock of the crawl folder for as long as the block runs, or stop at once with a
    message when another process holds it. A crawl killed with -9 leaves its shard processes
    running; a rerun must not write the same shard at the same time (duplicates). The kernel
    drops a lock when its holder dies."""
    (root / STATE).mkdir(parents=True, exist_ok=True)
    path = root / STATE / f"{name}.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            what = ("another crawl is running in this folder" if name == "crawl"
                    else f"step {name} is running in another process")
            raise CrawlError(f"{root}: {what} (pid {holder}); wait for it or stop it") from None
        if not shared:  # a shared lock has several holders: no single pid to name
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        yield


@contextmanager
def _step(root: Path, name: str, whole_crawl_held: bool = False):
    """A step's own lock, inside the crawl lock: shared by the steps of one Snakemake run,
    exclusive for `hubanatomy crawl` (run_crawl holds it and passes whole_crawl_held)."""
    if whole_crawl_held:
        with _locked(root, name):
            yield
    else:
        with _locked(root, "crawl", shared=True), _locked(root, name):
            yield


# ---------------------------------------------------------------------------------- list

def crawl_list(root: str | Path, settings: CrawlSettings, whole_crawl_held: bool = False) -> dict:
    """Step 1: page through the list API into models/part-*.jsonl; returns the list state."""
    root = Path(root)
    with _step(root, "list", whole_crawl_held):
        return _crawl_list(root, settings)


def _crawl_list(root: Path, settings: CrawlSettings) -> dict:
    (root / raw.MODELS).mkdir(exist_ok=True)
    endpoint = public_url(settings.endpoint.rstrip("/"))
    limit = settings.max_models
    state = _check_endpoint(root, settings) or {
        "endpoint": endpoint, "started_at": _now(), "page": 0, "models": 0, "done": False,
        "next_url": f"{endpoint}/api/models?full=true&limit={settings.page_size}"}
    if limit is not None and state["models"] > limit:
        raise CrawlError(
            f"{root} holds a listing of {state['models']:,} models, more than crawl.max_models "
            f"= {limit:,}; move it away (or remove it) to crawl fewer, or raise max_models")
    if state["done"] and state.get("truncated") and (limit is None or limit > state["models"]):
        # stopped at an earlier max_models: go on from where it stopped
        log.info("continuing the listing stopped at %d models (max_models now %s)",
                 state["models"], limit)
        state["done"] = False
    if state["done"]:
        log.info("listing already complete: %d models in %d pages", state["models"],
                 state["page"])
        return state
    client = _Client(root, settings, "list")
    progress = Progress("listing models", total=limit, unit="models")
    progress.update(state["models"])

    def parse(response, body):
        if body is None:
            raise CrawlError(f"GET {public_url(str(response.url))} answered "
                             f"{response.status_code}: {response.read()[:300]!r}")
        objects = orjson.loads(body[0])  # JSONDecodeError is a ValueError: retried
        if not isinstance(objects, list):
            raise ValueError("a list page is not a JSON array")
        following = response.links.get("next", {}).get("url")
        return objects, urljoin(str(response.url), following) if following else None

    try:
        while not state["done"]:
            url = state["next_url"]
            page = client.get("api", url, parse, fail_fast=state["page"] == 0)
            if page is None:
                raise CrawlError(f"list page {state['page']} ({url}) failed "
                                 f"{settings.max_retries + 1} times; rerun to resume from it")
            objects, following = page
            objects = objects[state.get("skip", 0):]  # taken before a max_models stop
            room = None if limit is None else max(0, limit - state["models"])
            taken = objects if room is None else objects[:room]
            raw.write_atomic(root / raw.MODELS / f"part-{state['page']:05d}.jsonl",
                             _jsonl(taken))
            state["page"] += 1
            state["models"] += len(taken)
            if len(taken) < len(objects):
                # the limit falls inside this page: a continued listing asks it again
                state["skip"] = state.get("skip", 0) + len(taken)
            else:
                state["next_url"] = public_url(following) if following else None
                state["skip"] = 0
            state["truncated"] = state["next_url"] is not None and (
                following is not None or len(taken) < len(objects))
            state["done"] = not state["truncated"] or (limit is not None
                                                      and state["models"] >= limit)
            state["max_models"] = limit
            if state["done"]:
                state["listed_at"] = _now()
            raw.write_atomic(root / STATE / LIST_STATE, orjson.dumps(state))
            progress.update(len(taken))
    except WaitTooLong as error:
        raise CrawlError(_too_long(error, root)) from None
    finally:
        client.close()
    progress.close()
    return state


def _too_long(error: WaitTooLong, root: Path) -> str:
    return (f"{error} (crawl.max_wait_seconds): the crawl stopped with everything fetched so "
            f"far kept in {root}; rerun after {error.until} to resume, or raise "
            "crawl.max_wait_seconds")


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


def _shard_files(root: Path, shard: int) -> list[Path]:
    """Every file holding records of the shard, oldest first: the compacted cards and probes,
    then the parts written since (a rerun's retries of failed records)."""
    compacted = [root / raw.CARDS / f"shard-{shard:04d}.jsonl",
                 root / PROBES / f"shard-{shard:04d}.jsonl"]
    return [p for p in compacted if p.is_file()] + _parts(root, shard)


def _records(paths: list[Path]) -> list[dict]:
    return [orjson.loads(line) for p in paths for line in p.read_bytes().splitlines()]


def _failed(record: dict) -> bool:
    """A request that failed after every retry: unknown, asked again by every rerun."""
    status = record.get("status", "")
    return status == "error" or status.startswith("http_")


def _latest(records: list[dict]) -> dict[tuple[str, str], dict]:
    """One record per (kind, id): a success beats a failure, otherwise the later one wins."""
    out: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (record["kind"], record["id"])
        if key not in out or not _failed(record) or _failed(out[key]):
            out[key] = record
    return out


def crawl_cards(root: str | Path, settings: CrawlSettings, shard: int, shards: int,
                whole_crawl_held: bool = False) -> dict:
    """Step 2, shard `shard` of `shards`: cards and parent probes. Returns the shard's
    counts; raises CrawlIncomplete when requests failed (unless settings.accept_errors)."""
    root = Path(root)
    if not 0 <= shard < shards:
        raise CrawlError(f"card shard {shard} does not exist in a layout of {shards} shards")
    with nullcontext() if whole_crawl_held else _locked(root, "crawl", shared=True):
        _check_endpoint(root, settings)  # before anything is moved
        _ensure_layout(root, shards)
        with _locked(root, f"cards-{shard:04d}"):
            return _crawl_cards(root, settings, shard, shards)


def _crawl_cards(root: Path, settings: CrawlSettings, shard: int, shards: int) -> dict:
    state = _check_endpoint(root, settings)
    if not state.get("done"):
        raise CrawlError(f"{root}: the listing is not complete; run the list step first")
    (root / raw.CARDS).mkdir(exist_ok=True)
    (root / PROBES).mkdir(exist_ok=True)

    ids, parents = _listing(root)
    listed = set(ids)
    mine = [m for m, s in zip(ids, shard_of(ids, shards), strict=True) if s == shard]
    # a parent the listing lacks is probed only when the listing is the whole Hub
    # parent ids as the lineage will read them (a Hub URL -> org/name; placeholders dropped)
    cleaned = {clean_parent_id(p)[0] for p in parents}
    missing = sorted(cleaned - listed - {None})
    probe = [] if state.get("truncated") else [
        p for p, s in zip(missing, shard_of(missing, shards), strict=True) if s == shard]

    have = _latest(_records(_shard_files(root, shard)))
    done = {key for key, r in have.items() if not _failed(r)}
    todo = [("card", m) for m in mine if ("card", m) not in done] + \
           [("probe", p) for p in probe if ("probe", p) not in done]
    retried = sum(1 for key, r in have.items() if _failed(r))
    log.info("shard %d/%d: %d cards and %d parent probes, %d already done, %d failed before "
             "(asked again)", shard + 1, shards, len(mine), len(probe), len(done), retried)
    client = _Client(root, settings, f"cards-{shard:04d}")
    try:
        _fetch_all(root, client, settings, shard, shards, todo)
    finally:
        counts = client.close()
    compacted = [root / raw.CARDS / f"shard-{shard:04d}.jsonl",
                 root / PROBES / f"shard-{shard:04d}.jsonl"]
    if _parts(root, shard) or not all(p.is_file() for p in compacted):
        _compact(root, shard, ids)
    _check_failures(root, settings, shard, shards)
    return counts


def _fetch_all(root: Path, client: _Client, settings: CrawlSettings, shard: int, shards: int,
               todo: list[tuple[str, str]]) -> None:
    """Fetch todo with a pool of threads, writing finished records in parts. A failure that
    stops the shard (a wait beyond max_wait_seconds, a bug) lets the requests in flight end
    and writes their records before it is raised: nothing fetched is lost."""
    if not todo:
        return
    progress = Progress(f"cards, shard {shard + 1}/{shards}", total=len(todo), unit="requests")
    endpoint = client.endpoint
    buffer: list[dict] = []
    last_flush = time.monotonic()
    parts = _parts(root, shard)
    part = int(parts[-1].stem.rsplit("-", 1)[1]) + 1 if parts else 0
    failure: BaseException | None = None

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
            while failure is None and len(pending) < 2 * settings.workers:
                job = next(queue, None)
                if job is None:
                    break
                pending.add(pool.submit(_fetch_card if job[0] == "card" else _probe,
                                        client, endpoint, job[1]))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    buffer.append(future.result())
                except Exception as error:  # noqa: BLE001 (raised below, after the flush)
                    failure = failure or error
                progress.update()
            if (len(buffer) >= settings.flush_records
                    or time.monotonic() - last_flush >= settings.flush_seconds):
                flush()
    flush()
    progress.close()
    if isinstance(failure, WaitTooLong):
        raise CrawlError(_too_long(failure, root))
    if failure is not None:
        raise failure


def _check_failures(root: Path, settings: CrawlSettings, shard: int, shards: int) -> None:
    """Say so when requests of the shard failed after every retry; stop unless accepted."""
    failed = [r for r in _records(_shard_files(root, shard)) if _failed(r)]
    if not failed:
        return
    what = _summary(failed)
    if settings.accept_errors:
        log.warning("shard %d/%d: %d requests failed after %d retries and are kept as errors "
                    "(crawl.accept_errors: true): %s", shard + 1, shards, len(failed),
                    settings.max_retries, what)
        return
    log.warning("shard %d/%d: %d requests failed after %d retries: %s", shard + 1, shards,
                len(failed), settings.max_retries, what)
    raise CrawlIncomplete(
        f"{root}: card shard {shard + 1}/{shards}: {len(failed):,} requests failed after "
        f"{settings.max_retries} retries ({what}). Everything else is kept: rerun to retry "
        "them, or set crawl.accept_errors: true to keep them as errors (unknown cards)")


def _summary(failed: list[dict]) -> str:
    """'card_fetch_failed: 50 (e.g. a/b, c/d), parent probe http_403: 1 (e.g. x/y)'."""
    groups: dict[str, list[str]] = {}
    for r in failed:
        kind = r.get("problem", r["status"]) if r["kind"] == "card" else \
            f"parent probe {r['status']}"
        groups.setdefault(kind, []).append(r["id"])
    return ", ".join(f"{kind}: {len(ids):,} (e.g. {', '.join(ids[:EXAMPLES])})"
                     for kind, ids in sorted(groups.items()))


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
    """One file per shard, cards in listing order (deterministic raw data), one record per
    card and probe; the parts are removed only after the compacted files exist."""
    records = _latest(_records(_shard_files(root, shard))).values()
    position = {m: i for i, m in enumerate(order)}
    cards = sorted((r for r in records if r["kind"] == "card"),
                   key=lambda r: (position.get(r["id"], len(position)), r["id"]))
    probes = sorted((r for r in records if r["kind"] == "probe"), key=lambda r: r["id"])
    raw.write_atomic(root / PROBES / f"shard-{shard:04d}.jsonl", _jsonl(probes))
    raw.write_atomic(root / raw.CARDS / f"shard-{shard:04d}.jsonl", _jsonl(cards))
    for path in _parts(root, shard):
        path.unlink()


# ------------------------------------------------------------------------- shard layout

def _ensure_layout(root: Path, shards: int) -> None:
    """Make the card files follow a layout of `shards` shards. The shards of one run all
    call this first; the first one moves the records, the others wait for it."""
    (root / STATE).mkdir(parents=True, exist_ok=True)
    (root / raw.CARDS).mkdir(exist_ok=True)
    (root / PROBES).mkdir(exist_ok=True)
    with open(root / STATE / "layout.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        staged = root / raw.CARDS / RESHARD
        if (staged / RESHARD_DONE).is_file():  # a kill while swapping: finish it
            _swap_in(root, staged)
        recorded = _read_json(root / STATE / LAYOUT).get("shards")
        if recorded == shards:
            return
        old = _layout_files(root)
        if old:
            busy = [p.stem for p in sorted((root / STATE).glob("cards-*.lock")) if _held(p)]
            if busy:
                raise CrawlError(
                    f"{root}: the crawl's card shards change from {recorded or '?'} to "
                    f"{shards}, but {', '.join(busy)} still run in another process; stop "
                    "them (or wait for them) and rerun")
            _reshard(root, staged, old, shards, recorded)
        raw.write_atomic(root / STATE / LAYOUT, orjson.dumps({"shards": shards}))


def _layout_files(root: Path) -> list[Path]:
    return sorted((root / raw.CARDS).glob("shard-*.jsonl")) + \
        sorted((root / PROBES).glob("shard-*.jsonl"))


def _held(lock: Path) -> bool:
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _reshard(root: Path, staged: Path, old: list[Path], shards: int,
             recorded: int | None) -> None:
    """Move every record to its shard in the new layout: staged first (a kill before the
    staging is complete leaves the old files untouched), then swapped in."""
    records = list(_latest(_records(old)).values())
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    names = []
    keys = [r["id"] for r in records]
    for new_shard in range(shards):
        mine = [r for r, s in zip(records, shard_of(keys, shards), strict=True)
                if s == new_shard]
        if mine:
            name = f"shard-{new_shard:04d}-part-00000.jsonl"
            raw.write_atomic(staged / name, _jsonl(mine))
            names.append(name)
    raw.write_atomic(staged / RESHARD_DONE, orjson.dumps({"shards": shards, "files": names}))
    log.info("card shards: %d records moved from a layout of %s shards to %d", len(records),
             recorded or "?", shards)
    _swap_in(root, staged)


def _swap_in(root: Path, staged: Path) -> None:
    """Replace the card and probe files with the staged ones (repeatable after a kill)."""
    plan = orjson.loads((staged / RESHARD_DONE).read_bytes())
    keep = set(plan["files"])
    for path in _layout_files(root):
        if not (path.parent.name == raw.CARDS and path.name in keep):
            path.unlink()
    for name in plan["files"]:
        if (staged / name).is_file():
            os.replace(staged / name, root / raw.CARDS / name)
    raw.write_atomic(root / STATE / LAYOUT, orjson.dumps({"shards": plan["shards"]}))
    shutil.rmtree(staged)


# -------------------------------------------------------------------------------- gather

def gather(root: str | Path, settings: CrawlSettings, shards: int,
           whole_crawl_held: bool = False) -> dict:
    """Step 3: renames, problems and the raw manifest of the finished crawl."""
    root = Path(root)
    with _step(root, "gather", whole_crawl_held):
        return _gather(root, settings, shards)


def _gather(root: Path, settings: CrawlSettings, shards: int) -> dict:
    state = _check_endpoint(root, settings)
    layout = _read_json(root / STATE / LAYOUT).get("shards")
    if layout != shards:
        raise CrawlError(f"{root}: the card files follow a layout of {layout} shards, not "
                         f"{shards}; run the card step with {shards} shards first")
    unfinished = [s for s in range(shards) if _parts(root, s)
                  or not (root / raw.CARDS / f"shard-{s:04d}.jsonl").is_file()]
    if unfinished:
        raise CrawlError(f"{root}: card shards {', '.join(str(s + 1) for s in unfinished)} "
                         "are not finished; run the card step first")
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
    failed = [r for r in [*cards, *probes] if _failed(r)]
    manifest = {
        "source": {
            "kind": "crawl",
            "endpoint": public_url(state["endpoint"]),
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
            "failed_requests": len(failed),
            "requests": requests,
            "problems": by_kind,
            "problems_file": PROBLEMS,
        },
    }
    raw.write_atomic(root / raw.RAW_MANIFEST,
                  orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    if failed:
        log.warning("the crawl ends with %d failed requests, kept as errors "
                    "(crawl.accept_errors): %s", len(failed), _summary(failed))
    log.info("crawl gathered: %d models, cards %s, %d renames, %d problems", state["models"],
             manifest["acquisition"]["cards"], len(renames), len(problems))
    return manifest


def run_crawl(root: str | Path, settings: CrawlSettings, shards: int = 1, jobs: int = 1) -> dict:
    """All three steps outside Snakemake (the `hubanatomy crawl` command), holding the
    folder's crawl lock throughout: the card shards run as `jobs` processes at once, sharing
    the budget as Snakemake's jobs do. Every shard runs even when one ends with failed
    requests; those stop the crawl before the gather (CrawlIncomplete)."""
    root = Path(root)
    with _locked(root, "crawl"):
        crawl_list(root, settings, whole_crawl_held=True)
        incomplete = []
        if jobs > 1:
            # spawned, not forked: a fork copies the parent's HTTP connection pool and its locks
            with ProcessPoolExecutor(max_workers=jobs, initializer=setup_logging,
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(crawl_cards, root, settings, s, shards, True)
                           for s in range(shards)]
                for future in futures:
                    try:
                        future.result()
                    except CrawlIncomplete as error:
                        incomplete.append(str(error))
        else:
            for shard in range(shards):
                try:
                    crawl_cards(root, settings, shard, shards, whole_crawl_held=True)
                except CrawlIncomplete as error:
                    incomplete.append(str(error))
        if incomplete:
            raise CrawlIncomplete("\n".join(incomplete))
        return gather(root, settings, shards, whole_crawl_held=True)
