"""arXiv categories: id normalisation, Atom parsing, the polite cached batched lookup against a
loopback server answering with the emulated API (faults injected), and the summary panel."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson
import polars as pl
import pytest

from hubanatomy.acquire import arxiv
from hubanatomy.errors import InputError

# an id_list answer as export.arxiv.org gives it (abridged: two entries, one old-style)
REAL_FEED = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/4cXxYtw8kVyW3hJW4G8mZdT1D1E</id>
  <title>arXiv Query: search_query=&amp;id_list=1706.03762,hep-th/9711200v3&amp;start=0&amp;
max_results=2</title>
  <updated>2025-11-11T18:34:08Z</updated>
  <link href="https://arxiv.org/api/query?search_query=&amp;start=0&amp;max_results=2&amp;id_list=1706.03762,hep-th/9711200v3"
        type="application/atom+xml"/>
  <opensearch:itemsPerPage>2</opensearch:itemsPerPage>
  <opensearch:totalResults>2</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <entry>
    <id>http://arxiv.org/abs/1706.03762v7</id>
    <title>Attention Is All You
  Need</title>
    <updated>2023-08-02T00:41:18Z</updated>
    <link href="https://arxiv.org/abs/1706.03762v7" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/1706.03762v7" rel="related" type="application/pdf"
          title="pdf"/>
    <summary>  The dominant sequence transduction models are based on complex recurrent or
convolutional neural networks ...</summary>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <published>2017-06-12T17:57:34Z</published>
    <arxiv:comment>15 pages, 5 figures</arxiv:comment>
    <arxiv:primary_category term="cs.CL"/>
    <author><name>Ashish Vaswani</name></author>
    <author><name>Noam Shazeer</name></author>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/hep-th/9711200v3</id>
    <title>The Large N Limit of Superconformal Field Theories and Supergravity</title>
    <updated>1998-01-22T19:58:28Z</updated>
    <summary>We show that the large N limit of certain conformal field theories ...</summary>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <published>1997-11-27T21:36:35Z</published>
    <arxiv:journal_ref>Adv.Theor.Math.Phys.2:231-252,1998</arxiv:journal_ref>
    <arxiv:primary_category term="hep-th"/>
    <author><name>Juan M. Maldacena</name></author>
  </entry>
</feed>
"""

ERROR_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query=&amp;id_list=1309.119" rel="self"
        type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list=1309.119</title>
  <id>http://arxiv.org/api/errors</id>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1309.119</id>
    <title>Error</title>
    <summary>incorrect id format for 1309.119</summary>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""

# a snapshot without declared parents, for the panels that do not depend on the lineage
NO_LINEAGE = pl.DataFrame(schema={"model_id": pl.String, "children": pl.Int64})


class FakeArxiv:
    """A loopback server answering /api/query with arxiv.emulated_response. `faults` is a
    queue of (status, headers) answered (in order) before the emulator answers again;
    `refuse` holds ids the server reports as malformed (like arXiv does for bad ids)."""

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.faults: list[tuple[int, dict[str, str]]] = []
        self.refuse: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                fake.requests.append(params)
                fake.headers.append(dict(self.headers))
                if fake.faults:
                    status, headers = fake.faults.pop(0)
                    self._answer(status, "text/plain", b"Rate exceeded.", headers)
                    return
                refused = [i for i in params.get("id_list", "").split(",") if i in fake.refuse]
                if refused:
                    status, ctype, body = arxiv._error(params,
                                                       f"incorrect id format for {refused[0]}")
                else:
                    status, ctype, body = arxiv.emulated_response(params)
                self._answer(status, ctype, body, {})

            def _answer(self, status, ctype, body, headers):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/api/query"

    def asked(self) -> list[str]:
        return [i for r in self.requests for i in r.get("id_list", "").split(",") if i]


@pytest.fixture
def fake():
    server = FakeArxiv()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def waits(monkeypatch):
    """Record the client's sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(arxiv, "_sleep", recorded.append)
    return recorded


def _lookup(ids, cache, fake, **kwargs):
    kwargs = {"batch_size": 100, "delay_seconds": 0.001, "timeout": 5.0, **kwargs}
    return arxiv.lookup_categories(ids, cache, endpoint=fake.endpoint, **kwargs)


def _ids(n: int, month: int = 3) -> list[str]:
    return [f"23{month:02d}.{k:05d}" for k in range(1, n + 1)]


@pytest.mark.parametrize(("raw", "expected"), [
    ("2106.09685", "2106.09685"), ("2106.09685v2", "2106.09685"), ("2106.09685V12", "2106.09685"),
    (" arXiv:2106.09685 ", "2106.09685"), ("0704.0001", "0704.0001"),
    ("1412.6980", "1412.6980"), ("hep-th/9901001", "hep-th/9901001"),
    ("math.GT/0309136v1", "math/0309136"), ("CS/0501001", "cs/0501001"),
    ("cond-mat.stat-mech/0603313", "cond-mat/0603313"),
    ("", None), ("junk", None), ("2106.0968", None), ("1412.00001", None),
    ("2113.00001", None), ("0703.1234", None), ("cs/0705001", None), ("1309.119", None),
    ("2106.09685.pdf", None), ("2106.09685v0", None), ("10.1000/xyz", None), (None, None),
])
def test_ids_are_normalised_to_what_arxiv_answers_under(raw, expected):
    assert arxiv.normalise_id(raw) == expected


def test_a_real_feed_is_parsed():
    entries, errors = arxiv.parse_feed(REAL_FEED)
    assert errors == []
    assert entries == {
        "1706.03762": {"primary_category": "cs.CL", "categories": ["cs.CL", "cs.LG"]},
        "hep-th/9711200": {"primary_category": "hep-th", "categories": ["hep-th"]},
    }
    entries, errors = arxiv.parse_feed(ERROR_FEED)
    assert entries == {} and errors == ["incorrect id format for 1309.119"]
    with pytest.raises(arxiv.ET.ParseError):
        arxiv.parse_feed(b"Rate exceeded.")


def test_emulated_feed_is_deterministic_and_shaped_like_arxiv():
    ids = _ids(400)
    params = {"id_list": ",".join(ids), "max_results": "400"}
    status, ctype, body = arxiv.emulated_response(params)
    assert status == 200 and ctype.startswith("application/atom+xml")
    assert arxiv.emulated_response(dict(params)) == (status, ctype, body)
    entries, errors = arxiv.parse_feed(body)
    assert errors == []
    missing = [i for i in ids if i not in entries]
    assert missing == [i for i in ids if not arxiv.emulated_exists(i)]
    assert 0 < len(missing) < 30  # a few unknown ids, absent from the feed
    primaries = Counter(e["primary_category"] for e in entries.values())
    assert {c for c, _ in primaries.most_common(3)} == {"cs.LG", "cs.CL", "cs.CV"}
    assert all(e["categories"][0] == e["primary_category"] for e in entries.values())
    assert sum(len(e["categories"]) > 1 for e in entries.values()) > len(entries) / 2
    assert all(len(set(e["categories"])) == len(e["categories"]) for e in entries.values())
    # the same paper asked with a version has the same categories
    versioned = arxiv.parse_feed(arxiv.emulated_response({"id_list": f"{ids[0]}v2"})[2])[0]
    assert versioned.get(ids[0]) == entries.get(ids[0])


def test_emulated_api_pages_and_rejects_like_arxiv():
    ids = [i for i in _ids(40) if arxiv.emulated_exists(i)][:25]
    first = arxiv.parse_feed(arxiv.emulated_response({"id_list": ",".join(ids)})[2])[0]
    assert list(first) == ids[:10]  # max_results defaults to 10
    page = arxiv.emulated_response({"id_list": ",".join(ids), "start": "20", "max_results": "10"})
    assert list(arxiv.parse_feed(page[2])[0]) == ids[20:]
    assert b"<opensearch:totalResults>25</opensearch:totalResults>" in page[2]
    status, _, body = arxiv.emulated_response({"id_list": f"{ids[0]},1309.119"})
    assert status == 400
    assert arxiv.parse_feed(body) == ({}, ["incorrect id format for 1309.119"])
    assert arxiv.emulated_response({"id_list": f"arXiv:{ids[0]}"})[0] == 200
    assert arxiv.parse_feed(arxiv.emulated_response({"id_list": f"arXiv:{ids[0]}"})[2]) == ({}, [])
    assert arxiv.emulated_response({"id_list": ids[0], "max_results": "x"})[0] == 400
    # old-style ids: the archive decides the primary category
    old = arxiv.parse_feed(arxiv.emulated_response({"id_list": "hep-th/9901001,cs/0301001"})[2])[0]
    assert {k: v["primary_category"].split(".")[0] for k, v in old.items()} == {
        k: k.split("/")[0] for k in old}


def test_lookup_batches_politely_and_skips_junk(tmp_path, fake, waits):
    ids = _ids(250) + ["2303.00001v3", "junk", "1309.119", "arXiv:2303.00002"]
    # a long delay: the recorded waits show the pacing (nothing sleeps, see `waits`)
    result = _lookup(ids, tmp_path / "cache.jsonl", fake, delay_seconds=60.0)
    assert len(fake.requests) == 3  # 250 distinct papers in batches of 100
    assert [int(r["max_results"]) for r in fake.requests] == [100, 100, 50]
    assert [len(r["id_list"].split(",")) for r in fake.requests] == [100, 100, 50]
    assert sorted(fake.asked()) == sorted(_ids(250))  # junk never sent, versions dropped
    assert all("hubanatomy" in h.get("User-Agent", "") for h in fake.headers)
    assert result.columns == ["arxiv_id", "paper_id", "primary_category", "categories", "status"]
    assert result["arxiv_id"].to_list() == ids  # one row per given id, in order
    by_id = {r["arxiv_id"]: r for r in result.to_dicts()}
    assert by_id["junk"]["status"] == "invalid" and by_id["1309.119"]["status"] == "invalid"
    assert by_id["2303.00001v3"]["paper_id"] == "2303.00001"
    assert by_id["arXiv:2303.00002"]["status"] == by_id["2303.00002"]["status"]
    for paper in _ids(250):
        row = by_id[paper]
        if arxiv.emulated_exists(paper):
            assert row["status"] == "ok"
            assert row["categories"] == arxiv.emulated_categories(paper)
            assert row["primary_category"] == row["categories"][0]
        else:
            assert row["status"] == "not_found" and row["categories"] == []
    # paced: one wait of about the delay before each request after the first
    assert len(waits) == 2 and all(50 < w <= 60 for w in waits)


def test_cache_answers_repeats_and_only_the_rest_is_asked(tmp_path, fake, waits):
    cache = tmp_path / "cache.jsonl"
    first = _lookup(_ids(30), cache, fake, batch_size=10)
    assert len(fake.requests) == 3
    again = _lookup(_ids(30), cache, fake, batch_size=10)
    assert len(fake.requests) == 3  # everything from the cache
    assert again.equals(first)
    more = _ids(45)
    result = _lookup(more, cache, fake, batch_size=10)
    assert sorted(fake.asked()[30:]) == more[30:]  # only the 15 new ids: 2 more requests
    assert len(fake.requests) == 5
    assert result.filter(pl.col("arxiv_id").is_in(_ids(30))).equals(first)
    lines = [orjson.loads(line) for line in cache.read_bytes().splitlines()]
    assert len(lines) == 45 and {r["source"] for r in lines} == {"127.0.0.1"}
    # answers of another API host never answer for this one
    assert arxiv._read_cache(cache, "export.arxiv.org") == {}


def test_a_torn_cache_line_loses_only_that_batch(tmp_path, fake, waits):
    cache = tmp_path / "cache.jsonl"
    _lookup(_ids(20), cache, fake, batch_size=10)
    data = cache.read_bytes()
    cache.write_bytes(data + data.splitlines()[0][:25])  # killed mid-write
    _lookup(_ids(20), cache, fake, batch_size=10)
    assert len(fake.requests) == 2  # the 20 complete lines answered everything
    assert cache.read_bytes() == data  # the torn tail was cut off


def test_503_with_retry_after_is_retried_after_waiting(tmp_path, fake, waits):
    fake.faults = [(503, {"Retry-After": "7"}), (503, {"Retry-After": "7"}), (502, {})]
    result = _lookup(_ids(5), tmp_path / "cache.jsonl", fake)
    assert len(fake.requests) == 4
    assert set(result["status"]) <= {"ok", "not_found"}
    assert sum(w >= 7 for w in waits) == 2  # Retry-After honoured, twice
    assert len(waits) == 3  # and a backoff after the 502


def test_errors_after_every_retry_are_reported_not_cached(tmp_path, fake, waits):
    cache = tmp_path / "cache.jsonl"
    fake.faults = [(500, {})] * arxiv.MAX_ATTEMPTS
    result = _lookup(_ids(20), cache, fake, batch_size=10)
    first, second = result.head(10), result.tail(10)
    assert set(first["status"]) == {"error"}
    assert set(second["status"]) <= {"ok", "not_found"}
    assert len(fake.requests) == arxiv.MAX_ATTEMPTS + 1
    again = _lookup(_ids(20), cache, fake, batch_size=10)
    assert sorted(fake.asked()[-10:]) == _ids(10)  # only the failed batch is asked again
    assert set(again["status"]) <= {"ok", "not_found"}


def test_an_id_arxiv_calls_malformed_is_marked_and_the_rest_asked_again(tmp_path, fake, waits):
    ids = _ids(10)
    fake.refuse = {ids[3]}
    result = _lookup(ids, tmp_path / "cache.jsonl", fake)
    assert len(fake.requests) == 2
    statuses = dict(zip(result["arxiv_id"], result["status"], strict=True))
    assert statuses.pop(ids[3]) == "invalid"
    assert set(statuses.values()) <= {"ok", "not_found"}


def test_an_unreachable_endpoint_stops_with_a_clear_message(tmp_path, waits):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    with pytest.raises(InputError, match="unreachable.*enabled: false"):
        arxiv.lookup_categories(_ids(3), tmp_path / "cache.jsonl",
                                endpoint=f"http://127.0.0.1:{port}/api/query",
                                delay_seconds=0.001, timeout=2.0)
    assert not (tmp_path / "cache.jsonl").exists()


@pytest.mark.parametrize(("source", "enabled", "endpoint", "expected"), [
    ("archive", "auto", None, True), ("crawl", "auto", "https://huggingface.co", True),
    ("crawl", "auto", "http://127.0.0.1:8123", False), ("archive", "auto", "http://localhost:1",
                                                         False),
    ("simulated", "auto", None, False), ("snapshot", "auto", None, False),
    ("simulated", True, None, True), ("simulated", "true", None, True),
    ("archive", False, None, False), ("archive", "false", None, False),
])
def test_lookup_is_on_for_real_hub_data_fetched_online(source, enabled, endpoint, expected,
                                                       monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    config = {"source": source, "arxiv": {"enabled": enabled},
              "archive": {"endpoint": endpoint}, "crawl": {"endpoint": endpoint}}
    assert arxiv.lookup_enabled(config) is expected


def test_bad_settings_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="batch_size"):
        arxiv.lookup_categories(_ids(3), tmp_path / "c.jsonl", batch_size=0)


def _snapshot(tmp_path):
    """A tiny snapshot: models linking arXiv papers (what top_tens reads)."""
    strings = pl.List(pl.String)
    links = [["2301.00001"], ["2301.00001", "2301.00002"], ["2301.00001v2"], ["2301.00003"],
             ["junk"], []]
    models = pl.DataFrame({
        "model_id": [f"org/m{i}" for i in range(len(links))],
        "downloads": [10, 20, 30, 40, 50, 60], "pipeline_tag": ["text-generation"] * 6,
        "library_name": ["transformers"] * 6, "licenses": [["mit"]] * 6,
        "languages": [["en"]] * 6, "datasets": [[]] * 6, "arxiv": links,
    }, schema_overrides={"licenses": strings, "languages": strings, "datasets": strings,
                         "arxiv": strings})
    models.write_parquet(tmp_path / "models.parquet")
    pl.DataFrame({"child_id": ["org/m1"], "parent_id": ["org/m0"]}).write_parquet(
        tmp_path / "parents.parquet")
    return tmp_path


def test_summary_panel_counts_linked_papers_by_primary_category(tmp_path):
    from hubanatomy.summary.tables import read_arxiv_categories, summary_panels, top_tens

    snap = _snapshot(tmp_path)
    links = arxiv.linked_arxiv_ids(snap / "models.parquet")
    assert dict(links.iter_rows()) == {"2301.00001": 2, "2301.00001v2": 1, "2301.00002": 1,
                                       "2301.00003": 1, "junk": 1}
    found = pl.DataFrame({
        "arxiv_id": ["2301.00001", "2301.00001v2", "2301.00002", "2301.00003", "junk"],
        "paper_id": ["2301.00001", "2301.00001", "2301.00002", "2301.00003", None],
        "primary_category": ["cs.CL", "cs.CL", "cs.CL", None, None],
        "categories": [["cs.CL", "cs.LG"], ["cs.CL", "cs.LG"], ["cs.CL"], [], []],
        "status": ["ok", "ok", "ok", "not_found", "invalid"],
    }, schema=arxiv.RESULT_SCHEMA)
    table = arxiv.categories_table(links, found)
    table.write_csv(tmp_path / "arxiv_categories.csv")
    categories = read_arxiv_categories(tmp_path / "arxiv_categories.csv")
    assert categories.filter(pl.col("arxiv_id") == "2301.00001")["categories"].to_list() == [
        "cs.CL cs.LG"]

    tens = top_tens(snap / "models.parquet", NO_LINEAGE, n=10, arxiv_categories=categories)
    panel = tens.filter(pl.col("panel") == "arxiv_categories")
    # two distinct papers found (2301.00001 in two spellings counts once), both cs.CL
    assert panel.select("value", "count", "share", "denominator").rows() == [
        ("cs.CL", 2, 1.0, 2)]
    assert panel["denominator_of"][0].startswith("distinct linked arXiv papers found")
    assert "arxiv" not in tens["panel"].to_list()
    plain = top_tens(snap / "models.parquet", NO_LINEAGE, n=10)
    assert "arxiv_categories" not in plain["panel"].to_list()
    assert plain.filter(pl.col("panel") == "arxiv")["value"][0] == "2301.00001"
    assert summary_panels(True)[-1] == "arxiv_categories" and summary_panels()[-1] == "arxiv"


def test_summary_figure_draws_the_categories_panel(tmp_path):
    from hubanatomy.summary.plots import plot_top_tens
    from hubanatomy.summary.tables import summary_panels, top_tens

    snap = _snapshot(tmp_path)
    categories = pl.DataFrame({"arxiv_id": ["2301.00001", "2301.00002"],
                               "paper_id": ["2301.00001", "2301.00002"], "models": [3, 1],
                               "status": ["ok", "ok"], "primary_category": ["cs.LG", "cs.CV"],
                               "categories": ["cs.LG", "cs.CV cs.LG"]})
    tens = top_tens(snap / "models.parquet", NO_LINEAGE, n=5, arxiv_categories=categories)
    png = tmp_path / "top_tens.png"
    plot_top_tens(tens, {"source": {"kind": "simulated"}}, png,
                  panels=summary_panels(arxiv_categories=True))
    assert png.stat().st_size > 0
