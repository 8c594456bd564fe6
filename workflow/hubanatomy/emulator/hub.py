"""The Hub emulator: a loopback HTTP/1.1 server that answers like the Hugging Face Hub.

It serves a raw directory (raw.py) the way the Hub serves its models, so the real crawler and
the real `huggingface_hub` client can be tested offline:

  GET /api/models?full=true&limit=N&cursor=C    list pages in raw order, Link rel="next"
                                                (limit capped at 1000; filters and sorting
                                                are not emulated: 400, never ignored)
  GET /api/models/{id}[/revision/{rev}]         one model (expand[]=baseModels, ...)
  GET|HEAD /{id}/resolve/{rev}/README.md        the card
  GET /api/datasets/{repo}[/revision/{rev}]     dataset repos built from local directories,
  GET /api/datasets/{repo}/tree/{rev}[/{path}]  for huggingface_hub's dataset_info,
  GET|HEAD /datasets/{repo}/resolve/{rev}/{f}   list_repo_files and hf_hub_download
  GET /arxiv/api/query                          delegated to a callable (arxiv.py)

Renamed repos (renames.jsonl) and ids asked in another letter case answer 307 to the current
path, as the Hub does. Faults are injected deterministically: whether a request fails is a hash
of (seed, method, path+query) and of how often that exact request was accepted before, never
of thread timing, and every fault is bounded, so a client that retries always gets the data.
Rate limits count accepted requests per fixed window from server start, or on the wall
clock's epoch grid (`Faults.epoch_windows`) ("api" for /api/*, "resolver" for */resolve/*);
429s consume no budget. `budget_use` says how much of each window's limit was used, and
`repeated_fetches` which requests were answered in full more than once (a crawl that fetches
a card twice wasted budget).
"""

from __future__ import annotations

import hashlib
import logging
import math
import socket
import threading
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode

import orjson

from hubanatomy.errors import InputError
from hubanatomy.progress import Progress
from hubanatomy.snapshot import raw

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
BUCKETS = ("api", "resolver")
MAX_PAGE = 1000
TREE_PAGE = 1000
SERVER_ERRORS = (500, 502, 503, 504)
# the fields of a list-API object when `full` is not asked for (Hub, 2025)
REDUCED_FIELDS = ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags",
                  "pipeline_tag", "library_name", "createdAt", "modelId")
LIST_ONLY_EXPANDS = ("baseModels", "childrenModelCount")  # the Hub refuses them on lists
LIST_PARAMS = {"limit", "full", "cursor", "expand", "expand[]", "config", "cardData"}
LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".safetensors", ".zip", ".gz", ".zst", ".tar")
LFS_MIN_BYTES = 10 << 20
CHUNK = 1 << 20
_PHRASES = {s.value: s.phrase for s in HTTPStatus}


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. Rates are shares of distinct requests (method + path +
    query); a faulty request fails on its first attempts only."""

    api_limit: int | None = None        # requests per window on /api/* (None = unlimited)
    resolver_limit: int | None = None   # per window on */resolve/* (models and datasets)
    window_seconds: float = 300.0       # fixed windows counted from server start ...
    epoch_windows: bool = False         # ... or on the epoch grid of the wall clock (window k
                                        # = [k*w, (k+1)*w) of time.time()), as crawlers on
                                        # several nodes assume to agree on windows
    error_rate: float = 0.0             # share of requests answered 5xx ...
    error_burst: int = 1                # ... on their first `error_burst` attempts
    slow_rate: float = 0.0              # share of requests delayed (first attempt)
    slow_seconds: float = 0.5
    truncate_rate: float = 0.0          # share whose first GET stops halfway (full
                                        # Content-Length, connection closed)
    malformed_rate: float = 0.0         # share of list pages first answered 200 + bad JSON
    seed: int = 0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise InputError(f"hub emulator faults: {f.name} must be in [0, 1], got {value}")
            if f.name.endswith("_limit") and value is not None and value < 1:
                raise InputError(f"hub emulator faults: {f.name} must be >= 1 or None, "
                                 f"got {value}")
        if self.window_seconds <= 0:
            raise InputError(f"hub emulator faults: window_seconds must be > 0, "
                             f"got {self.window_seconds}")
        if self.error_burst < 1:
            raise InputError(f"hub emulator faults: error_burst must be >= 1, "
                             f"got {self.error_burst}")
        if self.slow_seconds < 0:
            raise InputError(f"hub emulator faults: slow_seconds must be >= 0, "
                             f"got {self.slow_seconds}")

    @property
    def active(self) -> bool:
        return any(r > 0 for r in (self.error_rate, self.slow_rate, self.truncate_rate,
                                   self.malformed_rate))


@dataclass(slots=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    file: Path | None = None     # streamed from disk instead of body: file[start:start+length]
    start: int = 0
    length: int = 0
    list_page: bool = False      # a model list page (malformed faults apply)


def _error(status: int, message: str, code: str | None = None,
           headers: list[tuple[str, str]] | None = None) -> _Answer:
    # messages may quote the URL: keep the header one line of latin-1
    header = message.replace("\r", " ").replace("\n", " ").encode("latin-1", "replace")
    extra = [("X-Error-Message", header.decode("latin-1"))]
    extra += [("X-Error-Code", code)] if code else []
    return _Answer(status, orjson.dumps({"error": message}), JSON, extra + (headers or []))


def _redirect(location: str) -> _Answer:
    # the Hub's own answer to a renamed repo (recorded: relative Location, text body)
    return _Answer(307, f"Temporary Redirect. Redirecting to {location}".encode(), TEXT,
                   [("Location", location)])


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _encode_cursor(index: int) -> str:
    return urlsafe_b64encode(orjson.dumps({"i": index})).decode().rstrip("=")


def _decode_cursor(cursor: str, size: int) -> int | None:
    try:
        index = orjson.loads(urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["i"]
    except (ValueError, TypeError, KeyError):
        return None
    return index if isinstance(index, int) and 0 <= index <= size else None


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """[start, stop) of a single-range Range header; None when unsatisfiable or not one."""
    spec = header.strip()
    if not spec.startswith("bytes=") or "," in spec:
        return None
    first, dash, last = spec[len("bytes="):].strip().partition("-")
    try:
        if first:
            start, stop = int(first), (min(size, int(last) + 1) if last else size)
        else:
            start, stop = max(0, size - int(last)), size
    except ValueError:
        return None
    return (start, stop) if dash and 0 <= start < stop else None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes")


def base_models(tags: list | None) -> dict | None:
    """The Hub's `baseModels` expand from a model's tags: the relation of the first typed tag
    and its parents; untyped-only declarations read as finetune (one parent) or merge."""
    typed: list[tuple[str, str]] = []
    generic: list[str] = []
    for tag in tags or ():
        if not isinstance(tag, str) or not tag.startswith("base_model:"):
            continue
        parts = tag[len("base_model:"):].split(":")
        if len(parts) == 2 and parts[1]:
            typed.append((parts[0], parts[1]))
        elif len(parts) == 1 and parts[0]:
            generic.append(parts[0])
    if typed:
        relation = typed[0][0]
        models = list(dict.fromkeys(p for r, p in typed if r == relation))
    elif generic:
        models = list(dict.fromkeys(generic))
        relation = "merge" if len(models) > 1 else "finetune"
    else:
        return None
    return {"relation": relation, "models": [{"id": m} for m in models]}


# ------------------------------------------------------------------------------- datasets

@dataclass(frozen=True)
class _RepoFile:
    path: str
    local: Path
    size: int
    sha256: str
    blob: str          # git blob sha1
    lfs: bool

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob


class _DatasetRepo:
    """A directory served as a dataset repo with one commit: sha1 over sorted (path, sha256)."""

    def __init__(self, repo_id: str, root: str | Path):
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"dataset repo {repo_id}: {root} is not a directory")
        self.repo_id = repo_id
        files = []
        for local in sorted(p for p in root.rglob("*") if p.is_file()):
            size = local.stat().st_size
            sha256, blob = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
            with local.open("rb") as handle:   # archives can be large: hash in chunks
                while chunk := handle.read(CHUNK):
                    sha256.update(chunk)
                    blob.update(chunk)
            rel = local.relative_to(root).as_posix()
            files.append(_RepoFile(rel, local, size, sha256.hexdigest(), blob.hexdigest(),
                                   size >= LFS_MIN_BYTES or rel.endswith(LFS_SUFFIXES)))
        files.sort(key=lambda f: f.path)
        self.files = {f.path: f for f in files}
        self.commit = hashlib.sha1(
            "".join(f"{f.path}\0{f.sha256}\n" for f in files).encode()).hexdigest()
        mtime = max((f.local.stat().st_mtime for f in files), default=0.0)
        self.modified = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.tree = self._tree(files)

    @staticmethod
    def _tree(files: list[_RepoFile]) -> list[dict]:
        """Tree entries (folders and files) sorted by path, as GET .../tree returns them."""
        entries: dict[str, dict] = {}
        children: dict[str, list[str]] = {}
        for f in files:
            entry = {"type": "file", "oid": f.blob, "size": f.size, "path": f.path}
            if f.lfs:
                entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
            entries[f.path] = entry
            parts = f.path.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                children.setdefault(folder, [])
            children.setdefault("/".join(parts[:-1]), []).append(f.blob)
        for folder in sorted(children, key=len, reverse=True):
            if folder:
                oid = hashlib.sha1("".join(sorted(children[folder])).encode()).hexdigest()
                entries[folder] = {"type": "directory", "oid": oid, "size": 0, "path": folder}
                parent = folder.rpartition("/")[0]
                children.setdefault(parent, []).append(oid)
        return [entries[p] for p in sorted(entries)]

    def info(self, blobs: bool) -> bytes:
        siblings = []
        for f in self.files.values():
            sibling: dict = {"rfilename": f.path}
            if blobs:
                sibling.update(size=f.size, blobId=f.blob)
                if f.lfs:
                    sibling["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(sibling)
        author = self.repo_id.split("/")[0] if "/" in self.repo_id else None
        return orjson.dumps({
            "_id": hashlib.sha1(self.repo_id.encode()).hexdigest()[:24], "id": self.repo_id,
            "author": author, "sha": self.commit, "lastModified": self.modified,
            "private": False, "gated": False, "disabled": False, "tags": [], "downloads": 0,
            "likes": 0, "siblings": siblings, "createdAt": self.modified,
            "usedStorage": sum(f.size for f in self.files.values()),
        })


# ---------------------------------------------------------------------------------- server

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False   # keep-alive threads may idle forever; stop() closes their sockets
    request_queue_size = 256
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn) of the host
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hubanatomy-hub-emulator"
    sys_version = ""
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.emulator._track(self.connection, True)

    def finish(self):
        self.server.emulator._track(self.connection, False)
        super().finish()

    def do_GET(self):
        self.server.emulator._handle(self, "GET")

    def do_HEAD(self):
        self.server.emulator._handle(self, "HEAD")

    def _refuse(self):
        self.close_connection = True  # the request body (if any) is not read
        self.server.emulator._send(self, self.command, _error(405, "Method Not Allowed"))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format, *args):
        log.debug("%s - " + format, self.address_string(), *args)


@dataclass
class _BucketStats:
    limit: int | None
    served: int = 0
    limited: int = 0
    errors: int = 0
    truncated: int = 0
    malformed: int = 0
    slow: int = 0
    body_bytes: int = 0
    windows: dict[int, int] = field(default_factory=dict)


class HubEmulator:
    """Serve a raw directory like the Hub (see the module docstring).

    datasets: repo_id -> directory of files, served as dataset repos.
    arxiv: callable(params) -> (status, content_type, body) answering /arxiv/api/query.
    clock: seconds (monotonic) for the rate-limit windows; tests pass a fake one.
    wall_clock: seconds since the epoch, for windows on the epoch grid (Faults.epoch_windows).
    count_requests: count accepted requests per target (see requests_for).
    """

    def __init__(self, raw_root: str | Path, faults: Faults | None = None,
                 datasets: dict[str, str | Path] | None = None,
                 arxiv: Callable[[dict[str, str]], tuple[int, str, bytes]] | None = None,
                 host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.monotonic, count_requests: bool = False,
                 wall_clock: Callable[[], float] = time.time):
        self.raw_root = Path(raw_root)
        self.faults = faults or Faults()
        self.arxiv = arxiv
        self.host, self.port = host, port
        self.url = ""
        self._clock = wall_clock if self.faults.epoch_windows else clock
        # GET requests answered 200 in full (no fault injected), per target
        self._fetched: dict[str, int] = {}
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, str], int] = {}
        # accepted requests per "METHOD target", kept only when asked (tests of resumption)
        self._counted: dict[str, int] | None = {} if count_requests else None
        self._requests = 0
        self._buckets = {"api": _BucketStats(self.faults.api_limit),
                         "resolver": _BucketStats(self.faults.resolver_limit)}
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._start = 0.0
        self._lower: dict[str, str] | None = None
        self._children: dict[str, dict[str, int]] | None = None
        self._derived_lock = threading.Lock()

        self.renames = self._load_renames()
        self._load_models()
        self._load_cards()
        self.datasets = {repo: _DatasetRepo(repo, path) for repo, path in (datasets or {}).items()}
        log.info("hub emulator: %d models (%d listed), %d cards, %d renames, %d dataset repos",
                 len(self._ids), len(self._listed), len(self._cards), len(self.renames),
                 len(self.datasets))

    # -- loading ------------------------------------------------------------------------

    def _load_renames(self) -> dict[str, str]:
        path = raw.renames_file(self.raw_root)
        renames: dict[str, str] = {}
        if path is None:
            return renames
        for lineno, line in enumerate(path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                old, new = record["old_id"], record["new_id"]
            except (orjson.JSONDecodeError, TypeError, KeyError) as error:
                raise InputError(f"{path}, line {lineno}: expected "
                                 f'{{"old_id": ..., "new_id": ...}} ({error})') from None
            if isinstance(old, str) and isinstance(new, str) and old != new:
                renames.setdefault(old, new)   # the first mapping of an old id wins
        return renames

    def _load_models(self) -> None:
        """Keep each model's JSON line as it is (served verbatim); index ids and commit shas."""
        self._ids: list[str] = []
        self._lines: list[bytes] = []
        self._shas: list[str] = []
        self._index: dict[str, int] = {}
        skipped = duplicates = 0
        progress = Progress("loading raw models", total=None, unit="models")
        for path in raw.model_files(self.raw_root):
            before = len(self._ids)
            with path.open("rb") as handle:
                for lineno, line in enumerate(handle, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        obj = orjson.loads(line)
                        model_id = obj["id"]
                    except (orjson.JSONDecodeError, TypeError, KeyError):
                        obj = model_id = None
                    if not isinstance(model_id, str) or not model_id:
                        skipped += 1
                        if skipped <= 5:
                            log.warning("%s, line %d: not a model object with an id; skipped",
                                        path, lineno)
                        continue
                    if model_id in self._index:
                        duplicates += 1
                        continue
                    self._index[model_id] = len(self._ids)
                    self._ids.append(model_id)
                    self._lines.append(line)
                    sha = obj.get("sha")
                    self._shas.append(sha if isinstance(sha, str) and sha
                                      else hashlib.sha1(model_id.encode()).hexdigest())
            progress.update(len(self._ids) - before)
        progress.close()
        if skipped or duplicates:
            log.warning("raw models: %d unparseable lines skipped, %d duplicate ids "
                        "(first kept)", skipped, duplicates)
        self._listed = [line for model_id, line in zip(self._ids, self._lines, strict=True)
                        if model_id not in self.renames]

    def _load_cards(self) -> None:
        self._cards: dict[str, tuple[str, bytes | None]] = {}
        for path in raw.card_files(self.raw_root):
            with path.open("rb") as handle:
                for lineno, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        record = orjson.loads(line)
                        model_id, status = record["id"], record["status"]
                        card = record.get("card")
                    except (orjson.JSONDecodeError, TypeError, KeyError):
                        log.warning("%s, line %d: not a card record; skipped", path, lineno)
                        continue
                    text = card.encode() if isinstance(card, str) else None
                    self._cards.setdefault(model_id, (status, text))

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._server = _Server((self.host, self.port), _Handler)
        self._server.emulator = self
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._start = self._clock()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="hub-emulator")
        self._thread.start()
        log.info("hub emulator listening at %s", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> HubEmulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def stats(self) -> dict:
        """Counts so far: requests, and per bucket accepted (served), 429s (limited), injected
        faults, body bytes sent and accepted requests per window index."""
        with self._lock:
            return {
                "requests": self._requests,
                "window_seconds": self.faults.window_seconds,
                **{name: {"limit": b.limit, "served": b.served, "limited": b.limited,
                          "errors": b.errors, "truncated": b.truncated,
                          "malformed": b.malformed, "slow": b.slow,
                          "body_bytes": b.body_bytes, "windows": dict(b.windows)}
                   for name, b in self._buckets.items()},
            }

    def budget_use(self, bucket: str, since: float | None = None,
                   until: float | None = None) -> dict:
        """How much of `bucket`'s limit was used per window: the accepted requests of every
        window from the first to the last with any, and the share of the limit used over the
        windows lying wholly within [since, until] (seconds on the windows' clock: time.time()
        with epoch windows, else the emulator's clock). A bound not given leaves out the first
        (or last) window with requests: a crawl starts (or ends) within it."""
        with self._lock:
            b = self._buckets[bucket]
            windows = dict(b.windows)
            limit, w = b.limit, self.faults.window_seconds
            origin = 0.0 if self.faults.epoch_windows else self._start
        if limit is None:
            raise ValueError(f"the {bucket} bucket has no limit")
        if not windows:
            return {"limit": limit, "windows": [], "full": [], "use": None}
        first, last = min(windows), max(windows)
        # windows [k*w, (k+1)*w) within the bounds
        lo = first + 1 if since is None else math.ceil((since - origin) / w)
        hi = last if until is None else math.floor((until - origin) / w)
        full = list(range(lo, hi))
        used = sum(windows.get(k, 0) for k in full)
        return {"limit": limit, "first": first, "last": last,
                "windows": [windows.get(k, 0) for k in range(first, last + 1)],
                "full": [windows.get(k, 0) for k in full],
                "use": round(used / (limit * len(full)), 4) if full else None}

    def repeated_fetches(self) -> dict[str, int]:
        """GET targets answered 200 in full more than once, with how often."""
        with self._lock:
            return {t: n for t, n in self._fetched.items() if n > 1}

    def requests_for(self, target: str, method: str = "GET") -> int:
        """Accepted requests of one exact target (path and query); needs count_requests."""
        if self._counted is None:
            raise ValueError("HubEmulator(count_requests=True) is needed to count requests")
        with self._lock:
            return self._counted.get(f"{method} {target}", 0)

    # -- requests -----------------------------------------------------------------------

    def _uniforms(self, method: str, target: str) -> tuple[float, ...]:
        digest = hashlib.blake2b(f"{self.faults.seed}\0{method}\0{target}".encode(),
                                 digest_size=20).digest()
        return tuple(int.from_bytes(digest[i:i + 4], "big") / 2**32 for i in range(0, 20, 4))

    def _handle(self, h: _Handler, method: str) -> None:
        try:
            self._respond(h, method)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        except Exception:
            log.exception("hub emulator: %s %s failed", method, h.path)
            h.close_connection = True
            try:
                self._send(h, method, _error(500, "emulator error"))
            except OSError:
                pass

    def _respond(self, h: _Handler, method: str) -> None:
        target = h.path
        path, _, query = target.partition("?")
        bucket = "api" if path.startswith("/api/") else (
            "resolver" if "/resolve/" in path else None)
        if bucket is None:
            with self._lock:
                self._requests += 1
            answer = (self._arxiv(query) if path == "/arxiv/api/query"
                      else _error(404, "Not Found"))
            self._send(h, method, answer)
            return

        f = self.faults
        u = self._uniforms(method, target) if f.active else None
        flagged = u is not None and (u[0] < f.error_rate or u[1] < f.slow_rate
                                     or u[2] < f.truncate_rate or u[3] < f.malformed_rate)
        stats = self._buckets[bucket]
        with self._lock:
            self._requests += 1
            now = self._clock()
            origin = 0.0 if f.epoch_windows else self._start
            window = int((now - origin) // f.window_seconds)
            used = stats.windows.get(window, 0)
            limited = stats.limit is not None and used >= stats.limit
            if limited:
                stats.limited += 1
            else:
                stats.windows[window] = used = used + 1
                stats.served += 1
                if self._counted is not None:
                    key = f"{method} {target}"
                    self._counted[key] = self._counted.get(key, 0) + 1
                attempt = 0
                if flagged:   # only faulty requests need their attempts remembered
                    attempt = self._attempts.get((method, target), 0)
                    self._attempts[(method, target)] = attempt + 1
        headers: list[tuple[str, str]] = []
        if stats.limit is not None:
            reset = max(1, math.ceil(origin + (window + 1) * f.window_seconds - now))
            headers = [("RateLimit", f'"{bucket}";r={stats.limit - used};t={reset}'),
                       ("RateLimit-Policy", f'"fixed window";"{bucket}";q={stats.limit};'
                                            f"w={max(1, round(f.window_seconds))}")]
            if limited:
                answer = _error(429, f"Too Many Requests: more than {stats.limit} {bucket} "
                                     f"requests in {f.window_seconds:g} s",
                                headers=[("Retry-After", str(reset))] + headers)
                self._send(h, method, answer)
                return

        error = slow = truncate = malformed = False
        if flagged:
            error = u[0] < f.error_rate and attempt < f.error_burst
            slow = u[1] < f.slow_rate and attempt == 0
            truncate = u[2] < f.truncate_rate and attempt == 0 and not error
            malformed = u[3] < f.malformed_rate and attempt == 0 and not error
        if slow:
            time.sleep(f.slow_seconds)
        if error:
            status = SERVER_ERRORS[min(3, int(u[4] * 4))]
            answer = _error(status, "Internal Error - We're working hard to fix this as soon "
                                    "as possible!" if status == 500 else _PHRASES[status])
        else:
            answer = self._route(h, path, query)
        truncate = truncate and method == "GET" and (answer.length or len(answer.body)) >= 2
        malformed = (malformed and not truncate and answer.list_page
                     and answer.status == 200)
        if malformed:
            answer.body = answer.body[:-1] + b","   # same length, no longer JSON
        answer.headers.extend(headers)
        sent = self._send(h, method, answer, truncate)
        with self._lock:
            if (method == "GET" and answer.status == 200 and not error and not truncate
                    and not malformed):
                self._fetched[target] = self._fetched.get(target, 0) + 1
            stats.errors += error
            stats.slow += slow
            stats.truncated += truncate
            stats.malformed += malformed
            stats.body_bytes += sent

    def _send(self, h: _Handler, method: str, answer: _Answer, truncate: bool = False) -> int:
        """Write status, headers and body in one go (one send for small answers); returns the
        body bytes sent. A truncated answer promises the full length, sends half and closes."""
        length = answer.length if answer.file is not None else len(answer.body)
        lines = [f"HTTP/1.1 {answer.status} {_PHRASES.get(answer.status, '')}",
                 f"Content-Type: {answer.content_type}", f"Content-Length: {length}"]
        lines += [f"{k}: {v}" for k, v in answer.headers]
        if truncate or h.close_connection:
            h.close_connection = True
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if method == "HEAD":
            h.wfile.write(head)
            return 0
        todo = length // 2 if truncate else length
        if answer.file is None:
            h.wfile.write(head + answer.body[:todo])
            return todo
        h.wfile.write(head)
        with answer.file.open("rb") as handle:
            handle.seek(answer.start)
            left = todo
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    raise OSError(f"{answer.file} shrank while being served")
                h.wfile.write(chunk)
                left -= len(chunk)
        return todo

    def _arxiv(self, query: str) -> _Answer:
        if self.arxiv is None:
            return _error(404, "Not Found")
        status, content_type, body = self.arxiv(dict(parse_qsl(query, keep_blank_values=True)))
        return _Answer(status, body, content_type)

    def _route(self, h: _Handler, path: str, query: str) -> _Answer:
        params = parse_qsl(query, keep_blank_values=True)
        segments = [unquote(s) for s in path[1:].split("/")]
        if path == "/api/models":
            return self._list_models(h, params)
        if segments[:2] == ["api", "models"]:
            return self._model_info(segments[2:], params, query)
        if segments[:2] == ["api", "datasets"]:
            return self._dataset_api(h, segments[2:], params)
        if segments[0] == "datasets":
            return self._dataset_resolve(h, segments[1:])
        if len(segments) >= 4 and segments[2] == "resolve":
            return self._model_resolve(h, "/".join(segments[:2]), segments[3],
                                       "/".join(segments[4:]), query)
        if len(segments) >= 3 and segments[1] == "resolve":
            return self._model_resolve(h, segments[0], segments[2], "/".join(segments[3:]),
                                       query)
        return _error(404, "Not Found")

    # -- models -------------------------------------------------------------------------

    def _current(self, model_id: str) -> tuple[int | None, str | None]:
        """(index of the model, None) or (None, the id to redirect to) or (None, None)."""
        if model_id in self.renames:
            return None, self.renames[model_id]
        index = self._index.get(model_id)
        if index is not None:
            return index, None
        if self._lower is None:
            with self._derived_lock:
                if self._lower is None:
                    lower: dict[str, str] = {}
                    for i in self._ids:
                        lower.setdefault(i.lower(), i)
                    self._lower = lower
        return None, self._lower.get(model_id.lower())

    def _list_models(self, h: _Handler, params: list[tuple[str, str]]) -> _Answer:
        unknown = sorted({k for k, _ in params} - LIST_PARAMS)
        if unknown:
            return _error(400, f"the Hub emulator does not implement the list parameter(s) "
                               f"{', '.join(unknown)}")
        values = dict(params)
        expand = [v for k, v in params if k in ("expand", "expand[]")]
        refused = [e for e in expand if e in LIST_ONLY_EXPANDS]
        if refused:
            return _error(400, f'"expand" cannot contain {", ".join(refused)} when listing '
                               "models; ask for one model at a time")
        full = _truthy(values.get("full"))
        try:
            limit = int(values.get("limit", MAX_PAGE if full else 500))
        except ValueError:
            return _error(400, f"invalid limit {values['limit']!r}")
        if limit < 1:
            return _error(400, f"invalid limit {limit}")
        limit = min(limit, MAX_PAGE)
        start = 0
        if "cursor" in values:
            start = _decode_cursor(values["cursor"], len(self._listed))
            if start is None:
                return _error(400, "Invalid cursor")
        page = self._listed[start:start + limit]
        if full:
            body = b"[" + b",".join(page) + b"]"
        else:
            keep = (tuple(expand) if expand else REDUCED_FIELDS
                    + ("cardData",) * _truthy(values.get("cardData"))
                    + ("config",) * _truthy(values.get("config")))
            objects = [orjson.loads(line) for line in page]
            body = orjson.dumps([{k: o[k] for k in ("_id", "id", *keep) if k in o}
                                 for o in objects])
        answer = _Answer(200, body, JSON, list_page=True)
        if start + limit < len(self._listed):
            following = [(k, v) for k, v in params if k != "cursor"]
            following.append(("cursor", _encode_cursor(start + limit)))
            answer.headers.append(
                ("Link", f'<{self._base(h)}/api/models?{urlencode(following)}>; rel="next"'))
        return answer

    def _base(self, h: _Handler) -> str:
        host = h.headers.get("Host")
        return f"http://{host}" if host else self.url

    def _model_info(self, segments: list[str], params: list[tuple[str, str]],
                    query: str) -> _Answer:
        revision = None
        if len(segments) in (3, 4) and segments[-2] == "revision":
            segments, revision = segments[:-2], segments[-1]
        if len(segments) not in (1, 2) or not all(segments):
            return _error(404, "Not Found")
        model_id = "/".join(segments)
        index, moved = self._current(model_id)
        if index is None:
            if moved is None:
                return _error(404, "Repository not found", "RepoNotFound")
            location = f"/api/models/{quote(moved)}"
            if revision is not None:
                location += f"/revision/{quote(revision, safe='')}"
            return _redirect(location + (f"?{query}" if query else ""))
        if revision not in (None, "main", self._shas[index]):
            return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        expand = [v for k, v in params if k in ("expand", "expand[]")]
        if not expand:
            return _Answer(200, self._lines[index])
        obj = orjson.loads(self._lines[index])
        out = {"_id": obj.get("_id"), "id": obj["id"]}
        for name in expand:
            if name == "baseModels":
                parents = base_models(obj.get("tags"))
                if parents is not None:
                    out[name] = parents
            elif name == "childrenModelCount":
                out[name] = self._children_counts().get(obj["id"], {})
            elif name in obj:
                out[name] = obj[name]
        return _Answer(200, orjson.dumps(out))

    def _children_counts(self) -> dict[str, dict[str, int]]:
        """parent id -> {relation: children}, from every model's baseModels (built once)."""
        if self._children is None:
            with self._derived_lock:
                if self._children is None:
                    counts: dict[str, dict[str, int]] = {}
                    for line in self._lines:
                        parents = base_models(orjson.loads(line).get("tags"))
                        if parents is None:
                            continue
                        for model in parents["models"]:
                            index = self._index.get(model["id"])
                            parent = self._ids[index] if index is not None else model["id"]
                            per = counts.setdefault(parent, {})
                            per[parents["relation"]] = per.get(parents["relation"], 0) + 1
                    self._children = counts
        return self._children

    def _model_resolve(self, h: _Handler, model_id: str, revision: str, filename: str,
                       query: str) -> _Answer:
        index, moved = self._current(model_id)
        if index is None:
            if moved is None:
                return _error(404, "Repository not found", "RepoNotFound")
            location = (f"/{quote(moved)}/resolve/{quote(revision, safe='')}/"
                        f"{quote(filename)}" + (f"?{query}" if query else ""))
            return _redirect(location)
        sha = self._shas[index]
        commit = [("X-Repo-Commit", sha)]
        if revision not in ("main", sha):
            return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        if filename != "README.md":
            return _error(404, "Entry not found", "EntryNotFound", commit)
        status, text = self._cards.get(self._ids[index], ("missing", None))
        if status == "error":
            return _error(500, "Internal Error - the card could not be read")
        if status != "ok" or text is None:
            return _error(404, "Entry not found", "EntryNotFound", commit)
        return self._blob(h, text, None, 0, _git_blob_sha1(text), TEXT, commit, "README.md")

    @staticmethod
    def _blob(h: _Handler, data: bytes | None, local: Path | None, size: int, etag: str,
              content_type: str, headers: list[tuple[str, str]], name: str) -> _Answer:
        """A file answer with ETag and one byte range (`bytes=a-b`, `a-`, `-n`), so
        huggingface_hub can resume a cut download."""
        size = len(data) if data is not None else size
        headers = headers + [
            ("ETag", f'"{etag}"'), ("Accept-Ranges", "bytes"),
            ("Content-Disposition", f"inline; filename*=UTF-8''{quote(name.rpartition('/')[2])}")]
        status, start, stop = 200, 0, size
        wanted = h.headers.get("Range")
        if wanted:
            span = _byte_range(wanted, size)
            if span is None:
                return _Answer(416, b"", content_type,
                               headers + [("Content-Range", f"bytes */{size}")])
            status, (start, stop) = 206, span
            headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
        if data is not None:
            return _Answer(status, data[start:stop], content_type, headers)
        return _Answer(status, b"", content_type, headers, file=local, start=start,
                       length=stop - start)

    # -- datasets -----------------------------------------------------------------------

    def _dataset(self, segments: list[str]) -> tuple[_DatasetRepo | None, list[str]]:
        if len(segments) >= 2 and "/".join(segments[:2]) in self.datasets:
            return self.datasets["/".join(segments[:2])], segments[2:]
        if segments and segments[0] in self.datasets:
            return self.datasets[segments[0]], segments[1:]
        return None, []

    def _dataset_api(self, h: _Handler, segments: list[str],
                     params: list[tuple[str, str]]) -> _Answer:
        repo, tail = self._dataset(segments)
        if repo is None:
            return _error(404, "Repository not found", "RepoNotFound")
        values = dict(params)
        if not tail or (len(tail) == 2 and tail[0] == "revision"):
            revision = tail[1] if tail else "main"
            if revision not in ("main", repo.commit):
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return _Answer(200, repo.info(_truthy(values.get("blobs"))))
        if tail[0] != "tree" or len(tail) < 2:
            return _error(404, "Not Found")
        revision, folder = tail[1], "/".join(tail[2:]).strip("/")
        if revision not in ("main", repo.commit):
            return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        prefix = f"{folder}/" if folder else ""
        if folder and not any(e["path"] == folder and e["type"] == "directory"
                              for e in repo.tree):
            return _error(404, f"Entry not found: {folder}", "EntryNotFound",
                          [("X-Repo-Commit", repo.commit)])
        recursive = _truthy(values.get("recursive"))
        entries = [e for e in repo.tree if e["path"].startswith(prefix)
                   and (recursive or "/" not in e["path"][len(prefix):])]
        try:
            limit = min(MAX_PAGE, max(1, int(values.get("limit", TREE_PAGE))))
        except ValueError:
            return _error(400, f"invalid limit {values['limit']!r}")
        start = 0
        if "cursor" in values:
            start = _decode_cursor(values["cursor"], len(entries))
            if start is None:
                return _error(400, "Invalid cursor")
        answer = _Answer(200, orjson.dumps(entries[start:start + limit]),
                         headers=[("X-Repo-Commit", repo.commit)])
        if start + limit < len(entries):
            following = [(k, v) for k, v in params if k != "cursor"]
            following.append(("cursor", _encode_cursor(start + limit)))
            answer.headers.append(("Link", f"<{self._base(h)}{h.path.partition('?')[0]}"
                                           f'?{urlencode(following)}>; rel="next"'))
        return answer

    def _dataset_resolve(self, h: _Handler, segments: list[str]) -> _Answer:
        repo, tail = self._dataset(segments)
        if repo is None:
            return _error(404, "Repository not found", "RepoNotFound")
        if len(tail) < 3 or tail[0] != "resolve":
            return _error(404, "Not Found")
        revision, filename = tail[1], "/".join(tail[2:])
        commit = [("X-Repo-Commit", repo.commit)]
        if revision not in ("main", repo.commit):
            return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        f = repo.files.get(filename)
        if f is None:
            return _error(404, "Entry not found", "EntryNotFound", commit)
        if f.lfs:
            commit += [("X-Linked-Etag", f'"{f.sha256}"'), ("X-Linked-Size", str(f.size))]
        return self._blob(h, None, f.local, f.size, f.etag, "application/octet-stream", commit,
                          f.path)
