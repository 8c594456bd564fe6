"""arXiv categories of the papers models link (their `arxiv:` tags), from the arXiv API.

The API is asked politely: batched `id_list` queries (GET), at most one request per
`delay_seconds` (arXiv's terms ask for 3 s), a User-Agent naming hubanatomy, and retries with
backoff on 5xx/429 answers and broken connections, honouring Retry-After. Answers are cached
append-only in a JSON-lines file, one write per batch, so a rerun asks only for ids not yet
answered and a killed run loses at most the batch in flight.

How the API answers (its user manual and public clients agree):
* an unknown but well-formed id is simply absent from the feed -> status `not_found`;
* a malformed id fails the whole request: HTTP 400 (200 in older versions) with a single entry
  titled "Error" whose summary reads "incorrect id format for <id>". Ids are therefore checked
  before asking (`invalid`, never sent); an Error entry naming an id marks it `invalid` and the
  rest of the batch is asked again;
* `max_results` defaults to 10, so it is always set to the batch size;
* old-style ids are answered under archive/number (`math/0309136`), without a subject class.

`emulated_response` answers `id_list` queries in the same shape, offline: the Hub emulator
mounts it at /arxiv/api/query, the tests call it directly.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import time
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

import orjson
import polars as pl

from hubanatomy.errors import InputError
from hubanatomy.progress import Progress

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://export.arxiv.org/api/query"
ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NS = {"atom": ATOM, "arxiv": ARXIV, "opensearch": OPENSEARCH}
STATUSES = ("ok", "not_found", "error", "invalid")
# answers that stay true: cached. `error` is not (a rerun asks again).
CACHED_STATUSES = ("ok", "not_found", "invalid")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
MAX_BACKOFF_SECONDS = 120.0
MAX_RETRY_AFTER_SECONDS = 900.0
# this many whole batches failing in a row means the API is down: stop (the cache keeps the rest)
MAX_FAILED_BATCHES_IN_A_ROW = 3
# the API's own limit per request is 2000 results, but its request line (GET) is capped near
# 4 KB, about 300 new-style ids
MAX_BATCH_SIZE = 300

# new-style ids: YYMM.NNNN (April 2007 - December 2014), YYMM.NNNNN (from January 2015)
NEW_ID = re.compile(r"(?P<yymm>\d{4})\.(?P<number>\d{4,5})(?:[vV](?P<version>[1-9]\d*))?")
# old-style ids (until March 2007): archive[.SUBJECT-CLASS]/YYMMNNN
OLD_ID = re.compile(r"(?P<archive>[A-Za-z]+(?:-[A-Za-z]+)?)(?:\.[A-Za-z][A-Za-z-]*)?/"
                    r"(?P<yymm>\d{4})(?P<number>\d{3})(?:[vV](?P<version>[1-9]\d*))?")
ENTRY_ID = re.compile(r"/abs/(?P<id>.+?)/?$")
ERROR_ID = re.compile(r"incorrect id format for (?P<id>\S+)")


def _user_agent() -> str:
    try:
        from importlib.metadata import version
        ours = version("hubanatomy")
    except Exception:  # not installed (e.g. run from a source tree): the name is what matters
        ours = "dev"
    return (f"hubanatomy/{ours} (arXiv categories of Hugging Face models' linked papers; "
            "polite batched id_list queries)")


# ---------------------------------------------------------------------------------------------
# ids


def _split_id(raw: str) -> re.Match | None:
    text = raw.strip()
    if text[:6].lower() == "arxiv:":
        text = text[6:].strip()
    new = NEW_ID.fullmatch(text)
    if new:
        yymm, digits = new["yymm"], len(new["number"])
        if not 1 <= int(yymm[2:]) <= 12 or yymm < "0704":
            return None
        return new if (digits == 5) == (yymm >= "1501") else None
    old = OLD_ID.fullmatch(text)
    if old:
        year, month = int(old["yymm"][:2]), int(old["yymm"][2:])
        if 1 <= month <= 12 and (year >= 91 or old["yymm"] <= "0703"):
            return old
    return None


def normalise_id(raw: str | None) -> str | None:
    """The version-less id arXiv answers under ('2106.09685v2' -> '2106.09685',
    'math.GT/0309136' -> 'math/0309136', 'CS/0501001' -> 'cs/0501001'), or None when `raw`
    is not an arXiv id."""
    if raw is None:
        return None
    match = _split_id(str(raw))
    if match is None:
        return None
    if "archive" in match.re.groupindex:
        return f"{match['archive'].lower()}/{match['yymm']}{match['number']}"
    return f"{match['yymm']}.{match['number']}"


def _version(raw: str) -> int | None:
    match = _split_id(raw)
    return int(match["version"]) if match and match["version"] else None


# ---------------------------------------------------------------------------------------------
# the Atom feed


def parse_feed(body: bytes | str) -> tuple[dict[str, dict], list[str]]:
    """Entries of an arXiv Atom feed by version-less id ({"primary_category", "categories"}),
    and the summaries of its Error entries. Raises ET.ParseError on a body that is not XML."""
    root = ET.fromstring(body)
    if root.tag != f"{{{ATOM}}}feed":
        raise ET.ParseError(f"not an Atom feed (root element {root.tag!r})")
    entries: dict[str, dict] = {}
    errors: list[str] = []
    for entry in root.findall("atom:entry", NS):
        entry_id = (entry.findtext("atom:id", "", NS) or "").strip()
        title = " ".join((entry.findtext("atom:title", "", NS) or "").split())
        if "/api/errors" in entry_id or (title == "Error" and "/abs/" not in entry_id):
            errors.append(" ".join((entry.findtext("atom:summary", "", NS) or title).split()))
            continue
        match = ENTRY_ID.search(entry_id)
        paper = normalise_id(match["id"]) if match else None
        if paper is None:
            log.warning("arXiv feed: entry with an unreadable id %r skipped", entry_id)
            continue
        categories = [c.get("term") for c in entry.findall("atom:category", NS) if c.get("term")]
        primary = entry.find("arxiv:primary_category", NS)
        primary_term = primary.get("term") if primary is not None else None
        primary_term = primary_term or (categories[0] if categories else None)
        if primary_term and primary_term not in categories:
            categories.insert(0, primary_term)
        entries[paper] = {"primary_category": primary_term,
                          "categories": list(dict.fromkeys(categories))}
    return entries, errors


# ---------------------------------------------------------------------------------------------
# the cache


def _cache_source(endpoint: str) -> str:
    """Cache records are kept per API host (an emulator's made-up categories never answer for
    arXiv's); the scheme and port do not matter."""
    return (urlsplit(endpoint).hostname or endpoint).lower()


def _read_cache(path: Path, source: str) -> dict[str, dict]:
    """Cached answers of `source` by id (the last line of an id wins). A torn last line (a run
    killed mid-write) is cut off so the next append starts on a line of its own."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("arXiv cache %s: a torn last line (%d bytes) was cut off", path,
                    len(data) - keep)
        with path.open("r+b") as handle:
            handle.truncate(keep)
        data = data[:keep]
    records: dict[str, dict] = {}
    unreadable = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            unreadable += 1
            continue
        if (isinstance(record, dict) and record.get("source") == source
                and record.get("status") in CACHED_STATUSES and record.get("arxiv_id")):
            records[record["arxiv_id"]] = record
    if unreadable:
        log.warning("arXiv cache %s: %d unreadable lines ignored", path, unreadable)
    return records


def _append_cache(path: Path, records: list[dict]) -> None:
    """One write of whole lines per batch, then fsync: a kill loses at most this batch."""
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = b"".join(orjson.dumps(r) + b"\n" for r in records)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# the client

_sleep = time.sleep  # tests replace it to record waits instead of waiting


class _Unavailable(Exception):
    """A batch could not be answered after every retry."""


class _Client:
    """GET id_list queries: paced, retried, parsed."""

    def __init__(self, endpoint: str, delay_seconds: float, timeout: float):
        import httpx2  # huggingface_hub's HTTP client; imported here so the emulator needs none

        self.httpx = httpx2
        self.endpoint, self.delay = endpoint, delay_seconds
        self.http = httpx2.Client(timeout=timeout, follow_redirects=True,
                                  headers={"User-Agent": _user_agent(),
                                           "Accept": "application/atom+xml"})
        self.last_request: float | None = None
        self.answered = False  # has the endpoint answered anything yet?
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def _pace(self) -> None:
        if self.last_request is not None:
            wait = self.last_request + self.delay - time.monotonic()
            if wait > 0:
                _sleep(wait)
        self.last_request = time.monotonic()

    def fetch(self, ids: list[str]) -> tuple[dict[str, dict], list[str]]:
        """Entries and Error summaries for one id_list query."""
        query = urlencode({"id_list": ",".join(ids), "max_results": len(ids)}, safe=",/")
        url = f"{self.endpoint}?{query}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            backoff = min(MAX_BACKOFF_SECONDS, max(self.delay, 0.001) * 2 ** (attempt - 1))
            self._pace()
            self.requests += 1
            try:
                response = self.http.get(url)
            except self.httpx.TransportError as error:
                unreachable = isinstance(error, self.httpx.ConnectError
                                         | self.httpx.ConnectTimeout)
                if unreachable and not self.answered and attempt >= 2:
                    # nothing answered yet: a wrong endpoint or no network, not a hiccup
                    raise InputError(
                        f"the arXiv API at {self.endpoint} is unreachable ({error}). Check "
                        "arxiv.endpoint, or run without it: --config arxiv='{enabled: false}' "
                        "(the summary figure then shows the most linked arXiv papers)") from error
                wait, reason = backoff, f"{type(error).__name__}: {error}"
            else:
                status = response.status_code
                if status in RETRY_STATUSES or status >= 500:
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    wait = max(backoff, retry_after or 0.0)
                    reason = f"HTTP {status}" + (f", Retry-After {retry_after:.0f} s"
                                                 if retry_after is not None else "")
                elif status in (200, 400):
                    try:
                        answer = parse_feed(response.content)
                    except ET.ParseError as error:
                        wait, reason = backoff, f"HTTP {status} with an unreadable feed ({error})"
                    else:
                        self.answered = True
                        if status == 400 and not answer[1]:
                            raise InputError(f"the arXiv API at {self.endpoint} refused a query "
                                             f"(HTTP 400) without saying why: {url}")
                        return answer
                else:
                    raise InputError(
                        f"the arXiv API at {self.endpoint} answered HTTP {status} "
                        f"({response.text[:200]!r}); check arxiv.endpoint")
            if attempt == MAX_ATTEMPTS:
                raise _Unavailable(reason)
            log.warning("arXiv API: %s for %d ids (attempt %d of %d); retrying in %.1f s",
                        reason, len(ids), attempt, MAX_ATTEMPTS, wait)
            _sleep(wait)
        raise AssertionError("unreachable")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _record(paper: str, status: str, source: str, found: dict | None = None,
            note: str | None = None) -> dict:
    record = {"arxiv_id": paper, "source": source, "status": status,
              "primary_category": found["primary_category"] if found else None,
              "categories": found["categories"] if found else [],
              "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if note:
        record["note"] = note
    return record


def _resolve(client: _Client, ids: list[str], source: str) -> dict[str, dict]:
    """Answers for a batch. An Error entry naming an id marks it invalid and the rest is asked
    again; one naming no id of the batch is narrowed down by halving the batch."""
    entries, errors = client.fetch(ids)
    if not errors:
        return {i: _record(i, "ok", source, entries[i]) if i in entries
                else _record(i, "not_found", source) for i in ids}
    named = {m["id"].rstrip(".,;") for e in errors if (m := ERROR_ID.search(e))}
    bad = [i for i in ids if i in named]
    out = {i: _record(i, "invalid", source, note="; ".join(errors)) for i in bad}
    rest = [i for i in ids if i not in named]
    if not bad:
        if len(ids) == 1:
            log.warning("arXiv API: %s for %s", "; ".join(errors), ids[0])
            return {ids[0]: _record(ids[0], "error", source, note="; ".join(errors))}
        half = len(ids) // 2
        return _resolve(client, ids[:half], source) | _resolve(client, ids[half:], source)
    if rest:
        out |= _resolve(client, rest, source)
    return out


# ---------------------------------------------------------------------------------------------
# the lookup

RESULT_SCHEMA = {"arxiv_id": pl.String, "paper_id": pl.String, "primary_category": pl.String,
                 "categories": pl.List(pl.String), "status": pl.String}


def lookup_categories(arxiv_ids: Iterable[str], cache_path: str | Path,
                      endpoint: str = DEFAULT_ENDPOINT, batch_size: int = 100,
                      delay_seconds: float = 3.0, timeout: float = 30.0) -> pl.DataFrame:
    """One row per distinct given id (first-seen order): arxiv_id (as given), paper_id (the
    version-less id asked for, null when not an arXiv id), primary_category, categories
    (primary first, then cross-lists), status ok | not_found | error | invalid.

    Only ids missing from the cache (for this API host) are asked for, `batch_size` per request,
    sorted so that the same ids always make the same requests."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"arxiv.batch_size must be between 1 and {MAX_BATCH_SIZE}, "
                         f"not {batch_size}")
    if delay_seconds < 0 or timeout <= 0:
        raise InputError("arxiv.delay_seconds must be >= 0 and the timeout > 0")
    cache_path = Path(cache_path)
    given = list(dict.fromkeys(str(i) for i in arxiv_ids if i is not None))
    papers = {raw: normalise_id(raw) for raw in given}
    source = _cache_source(endpoint)
    cached = _read_cache(cache_path, source)
    wanted = sorted({p for p in papers.values() if p is not None})
    missing = [p for p in wanted if p not in cached]
    log.info("arXiv lookup: %d ids given, %d not arXiv ids, %d distinct papers, %d cached "
             "(%s), %d to ask %s for", len(given), sum(p is None for p in papers.values()),
             len(wanted), len(wanted) - len(missing), cache_path, len(missing), endpoint)
    answers = dict(cached)
    if missing:
        answers |= _fetch_missing(missing, cache_path, source, endpoint, batch_size,
                                  delay_seconds, timeout)
    rows = []
    for raw, paper in papers.items():
        record = answers.get(paper) if paper else None
        rows.append({"arxiv_id": raw, "paper_id": paper,
                     "primary_category": record["primary_category"] if record else None,
                     "categories": record["categories"] if record else [],
                     "status": record["status"] if record else "invalid"})
    result = pl.DataFrame(rows, schema=RESULT_SCHEMA)
    counts = dict(result.group_by("status").len().iter_rows())
    log.info("arXiv lookup: %s", ", ".join(f"{counts.get(s, 0):,} {s}" for s in STATUSES))
    return result


def _fetch_missing(missing: list[str], cache_path: Path, source: str, endpoint: str,
                   batch_size: int, delay_seconds: float, timeout: float) -> dict[str, dict]:
    answers: dict[str, dict] = {}
    progress = Progress("arXiv lookup", len(missing), unit="ids")
    client = _Client(endpoint, delay_seconds, timeout)
    failed_in_a_row = 0
    try:
        for start in range(0, len(missing), batch_size):
            batch = missing[start:start + batch_size]
            try:
                records = _resolve(client, batch, source)
                failed_in_a_row = 0
            except _Unavailable as error:
                failed_in_a_row += 1
                log.warning("arXiv API: %d ids left unanswered after %d attempts (%s)",
                            len(batch), MAX_ATTEMPTS, error)
                if failed_in_a_row >= MAX_FAILED_BATCHES_IN_A_ROW:
                    raise InputError(
                        f"the arXiv API at {endpoint} failed {failed_in_a_row} batches in a row "
                        f"(last: {error}); {len(answers):,} answers of this run are kept in "
                        f"{cache_path}, a rerun asks only for the rest. Or run without it: "
                        "--config arxiv='{enabled: false}'") from error
                records = {i: _record(i, "error", source, note=str(error)) for i in batch}
            _append_cache(cache_path, [r for r in records.values()
                                       if r["status"] in CACHED_STATUSES])
            answers |= records
            progress.update(len(batch))
    finally:
        client.close()
        progress.close()
    log.info("arXiv lookup: %d requests for %d ids", client.requests, len(missing))
    return answers


# ---------------------------------------------------------------------------------------------
# the workflow's table

LOOPBACK_HOSTS = ("localhost", "::1")


def lookup_enabled(config: dict) -> bool:
    """The workflow's config arxiv.enabled: true, false, or auto = on for real Hub data fetched
    online (source archive or crawl, not from an emulator on loopback: its arXiv ids are
    simulated). Text "true"/"false" count too (--config passes nested values as text)."""
    enabled = str(config["arxiv"]["enabled"]).lower()
    if enabled != "auto":
        return enabled == "true"
    source = config["source"]
    if source not in ("archive", "crawl"):
        return False
    endpoint = (config.get(source, {}).get("endpoint") or os.environ.get("HF_ENDPOINT")
                or "https://huggingface.co")
    host = (urlsplit(endpoint).hostname or "").lower()
    return not (host in LOOPBACK_HOSTS or host.startswith("127."))


def linked_arxiv_ids(models_path: str | Path) -> pl.DataFrame:
    """arxiv_id (as tagged), models: how many models of the snapshot link each id."""
    models = pl.read_parquet(models_path, columns=["model_id", "arxiv"])
    return (models.explode("arxiv").drop_nulls("arxiv")
            .group_by("arxiv").agg(pl.col("model_id").n_unique().alias("models"))
            .rename({"arxiv": "arxiv_id"})
            .with_columns(pl.col("models").cast(pl.Int64))
            .sort(["models", "arxiv_id"], descending=[True, False]))


def categories_table(links: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The table results/tables/arxiv_categories.csv: one row per linked arXiv id with the
    number of models linking it, its status and its categories (space-separated, primary
    first)."""
    return (links.join(found, on="arxiv_id", how="left", maintain_order="left")
            .select("arxiv_id", "paper_id", "models", pl.col("status").fill_null("invalid"),
                    "primary_category",
                    pl.col("categories").list.join(" ").alias("categories")))


# ---------------------------------------------------------------------------------------------
# the emulated API

# primary categories of papers linked from the Hub: machine learning first (weights ~ shares)
EMULATED_PRIMARY = (
    ("cs.LG", 30.0), ("cs.CL", 24.0), ("cs.CV", 18.0), ("cs.AI", 6.0), ("stat.ML", 4.0),
    ("cs.SD", 2.0), ("eess.AS", 1.5), ("cs.IR", 1.5), ("cs.RO", 1.2), ("eess.IV", 1.0),
    ("cs.CR", 0.8), ("cs.SE", 0.8), ("cs.NE", 0.6), ("cs.HC", 0.5), ("q-bio.BM", 0.5),
    ("cs.GR", 0.4), ("q-bio.QM", 0.4), ("math.OC", 0.4), ("eess.SP", 0.4), ("cs.DC", 0.4),
    ("cs.CY", 0.4), ("physics.chem-ph", 0.3), ("cs.MM", 0.2), ("cs.MA", 0.2), ("quant-ph", 0.2),
    ("math.NA", 0.15), ("math.ST", 0.15), ("stat.ME", 0.15), ("econ.GN", 0.1),
    ("astro-ph.IM", 0.1), ("physics.ao-ph", 0.1), ("cond-mat.mtrl-sci", 0.1),
)
# cross-lists: mostly the machine-learning categories
EMULATED_CROSS = (
    ("cs.LG", 30.0), ("cs.AI", 25.0), ("stat.ML", 12.0), ("cs.CL", 12.0), ("cs.CV", 10.0),
    ("cs.NE", 3.0), ("eess.AS", 2.0), ("cs.IR", 2.0), ("eess.IV", 2.0), ("cs.SD", 2.0),
    ("cs.HC", 1.0), ("cs.CY", 1.0), ("cs.RO", 1.0), ("math.OC", 1.0),
)
# how many cross-lists (0, 1, 2, 3): cumulative shares
EMULATED_CROSS_COUNTS = (0.35, 0.75, 0.93, 1.0)
# share of well-formed ids the emulated arXiv has no paper for (typos in tags)
EMULATED_NOT_FOUND = 0.02
EMULATED_MAX_RESULTS = 2000
EMULATED_UPDATED = "2025-07-12T00:00:00Z"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def _uniform(key: str, salt: str) -> float:
    """A stable uniform in [0, 1) from a key (unlike hash(), the same in every process)."""
    digest = hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def _weighted(options: tuple[tuple[str, float], ...], u: float) -> str:
    bounds = list(accumulate(w for _, w in options))
    return options[min(bisect_right(bounds, u * bounds[-1]), len(options) - 1)][0]


def emulated_exists(paper: str) -> bool:
    """Does the emulated arXiv have this (version-less) paper?"""
    return _uniform(paper, "exists") >= EMULATED_NOT_FOUND


def emulated_categories(paper: str) -> list[str]:
    """The emulated categories of a version-less id: primary first, then cross-lists."""
    if "/" in paper:  # old-style: its archive decides (a subject class of it where it has them)
        archive = paper.split("/", 1)[0]
        within = tuple(o for o in EMULATED_PRIMARY if o[0].startswith(archive + "."))
        primary = _weighted(within, _uniform(paper, "primary")) if within else archive
    else:
        primary = _weighted(EMULATED_PRIMARY, _uniform(paper, "primary"))
    n_cross = bisect_right(EMULATED_CROSS_COUNTS, _uniform(paper, "cross-count"))
    categories = [primary]
    for k in range(8 * n_cross):
        if len(categories) > n_cross:
            break
        category = _weighted(EMULATED_CROSS, _uniform(paper, f"cross-{k}"))
        if category not in categories:
            categories.append(category)
    return categories


def _emulated_entry(requested: str, paper: str) -> str:
    split = _split_id(requested)
    version = _version(requested) or 1 + int(3 * _uniform(paper, "versions"))
    yymm = split["yymm"] if split else "2501"
    century = "19" if int(yymm[:2]) >= 91 else "20"
    day = 1 + int(28 * _uniform(paper, "day"))
    published = f"{century}{yymm[:2]}-{yymm[2:]}-{day:02d}T12:00:00Z"
    categories = emulated_categories(paper)
    versioned = f"{paper}v{version}"
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{escape(versioned)}</id>",
        f"    <title>Emulated paper {escape(paper)}</title>",
        f"    <updated>{published}</updated>",
        f"    <link href={quoteattr('https://arxiv.org/abs/' + versioned)} rel=\"alternate\" "
        "type=\"text/html\"/>",
        f"    <link href={quoteattr('https://arxiv.org/pdf/' + versioned)} rel=\"related\" "
        "type=\"application/pdf\" title=\"pdf\"/>",
        "    <summary>A synthetic entry of the hubanatomy arXiv emulator; not arXiv's "
        "metadata.</summary>",
        *(f"    <category term={quoteattr(c)} scheme=\"http://arxiv.org/schemas/atom\"/>"
          for c in categories),
        f"    <published>{published}</published>",
        f"    <arxiv:primary_category term={quoteattr(categories[0])}/>",
        "    <author>",
        "      <name>Emulated Author</name>",
        "    </author>",
        "  </entry>",
    ]
    return "\n".join(lines)


def _feed(params: dict[str, str], entries: list[str], total: int, start: int,
          per_page: int) -> bytes:
    search = params.get("search_query", "")
    id_list = params.get("id_list", "")
    title = f"arXiv Query: search_query={search}&id_list={id_list}&start={start}" \
            f"&max_results={per_page}"
    link = "https://arxiv.org/api/query?" + urlencode(
        {"search_query": search, "start": start, "max_results": per_page, "id_list": id_list})
    feed_id = base64.urlsafe_b64encode(hashlib.sha1(title.encode()).digest()).decode().rstrip("=")
    head = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<feed xmlns:opensearch=\"{OPENSEARCH}\" xmlns:arxiv=\"{ARXIV}\" xmlns=\"{ATOM}\">",
        f"  <id>https://arxiv.org/api/{feed_id}</id>",
        f"  <title>{escape(title)}</title>",
        f"  <updated>{EMULATED_UPDATED}</updated>",
        f"  <link href={quoteattr(link)} type=\"application/atom+xml\"/>",
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
    ]
    return ("\n".join([*head, *entries, "</feed>"]) + "\n").encode()


def _error(params: dict[str, str], message: str) -> tuple[int, str, bytes]:
    anchor = message.replace(" ", "_")
    entry = "\n".join([
        "  <entry>",
        f"    <id>http://arxiv.org/api/errors#{escape(anchor)}</id>",
        "    <title>Error</title>",
        f"    <summary>{escape(message)}</summary>",
        f"    <updated>{EMULATED_UPDATED}</updated>",
        f"    <link href={quoteattr('http://arxiv.org/api/errors#' + anchor)} rel=\"alternate\" "
        "type=\"text/html\"/>",
        "    <author>",
        "      <name>arXiv api core</name>",
        "    </author>",
        "  </entry>",
    ])
    return 400, ATOM_CONTENT_TYPE, _feed(params, [entry], 1, 0, 1)


def emulated_response(params: dict[str, str]) -> tuple[int, str, bytes]:
    """(HTTP status, content type, body) of the arXiv API for a query, emulated: `id_list`
    queries are answered like arXiv answers them (unknown ids absent, a malformed id fails the
    whole query with HTTP 400 and an Error entry, max_results defaulting to 10, start paging),
    with categories drawn from a stable hash of each id. Deterministic bytes."""
    if params.get("search_query", "").strip():
        return _error(params, "search_query is not supported by the hubanatomy arXiv emulator")
    numbers = {}
    for name, default in (("start", 0), ("max_results", 10)):
        try:
            numbers[name] = int(params.get(name, default) or default)
        except ValueError:
            return _error(params, f"{name} must be an integer")
        if numbers[name] < 0:
            return _error(params, f"{name} must be non-negative")
    if numbers["max_results"] > EMULATED_MAX_RESULTS:
        return _error(params, f"max_results must be less than or equal to "
                              f"{EMULATED_MAX_RESULTS}")
    requested = [i.strip() for i in params.get("id_list", "").split(",") if i.strip()]
    for raw in requested:
        if normalise_id(raw) is None:
            return _error(params, f"incorrect id format for {raw}")
    entries, seen = [], set()
    for raw in requested:
        paper = normalise_id(raw)
        # arXiv matches nothing for a prefixed "arXiv:..." id (no error either)
        if raw.lower().startswith("arxiv:") or paper in seen or not emulated_exists(paper):
            continue
        seen.add(paper)
        entries.append(_emulated_entry(raw, paper))
    start, per_page = numbers["start"], numbers["max_results"]
    page = entries[start:start + per_page]
    return 200, ATOM_CONTENT_TYPE, _feed(params, page, len(entries), start, per_page)
