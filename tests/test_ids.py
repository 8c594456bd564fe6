"""hubanatomy.snapshot.ids.IdIndex: exact id -> position lookups."""

from __future__ import annotations

import random

import numpy as np
import polars as pl

from hubanatomy.snapshot.ids import IdIndex


def random_ids(rng: random.Random, n: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < n:
        org = "".join(rng.choices("abcdefghij-", k=rng.randrange(1, 6)))
        name = "".join(rng.choices("ABCxyz0123._-", k=rng.randrange(1, 10)))
        ids.add(f"{org}/{name}")
    return sorted(ids, key=lambda _: rng.random())


def check(index: IdIndex, ids: list, query: list) -> np.ndarray:
    """positions() against a dict reference (first position of each id; absent/null -> -1)."""
    first: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x is not None:
            first.setdefault(x, i)
    got = index.positions(pl.Series(query, dtype=pl.String))
    assert isinstance(got, np.ndarray) and got.dtype == np.int64
    assert got.shape == (len(query),)
    for q, p in zip(query, got, strict=True):
        if q is None or q not in first:
            assert p == -1, q
        else:
            assert ids[p] == q, (q, p)  # exact: the position really holds that id
    assert index.contains(pl.Series(query, dtype=pl.String)).tolist() == [
        q is not None and q in first for q in query]
    return got


def test_positions_exact_and_absent():
    rng = random.Random(1)
    ids = random_ids(rng, 2000)
    index = IdIndex(pl.Series(ids))
    assert len(index) == 2000
    query = rng.sample(ids, 500) + [f"absent/{i}" for i in range(200)] + ["", "a", "A/B"]
    rng.shuffle(query)
    got = check(index, ids, query)
    position = {x: i for i, x in enumerate(ids)}
    assert [int(p) for p in got] == [position.get(q, -1) for q in query]


def test_all_ids_map_to_themselves():
    ids = random_ids(random.Random(2), 777)
    got = IdIndex(pl.Series(ids)).positions(pl.Series(ids))
    assert got.tolist() == list(range(777))


def test_nulls_give_minus_one():
    ids = ["a/b", None, "c/d"]
    index = IdIndex(pl.Series(ids, dtype=pl.String))
    got = check(index, ids, [None, "c/d", None, "a/b", "x/y"])
    assert got.tolist() == [-1, 2, -1, 0, -1]


def test_duplicates_in_query():
    ids = ["x/1", "x/2", "x/3"]
    index = IdIndex(pl.Series(ids))
    got = check(index, ids, ["x/2", "x/2", "x/3", "x/2", "nope/0", "nope/0", "x/1"])
    assert got.tolist() == [1, 1, 2, 1, -1, -1, 0]


def test_duplicates_in_index_resolve_to_a_holder_of_the_id():
    ids = ["d/1", "d/2", "d/1", "d/3", "d/2"]
    check(IdIndex(pl.Series(ids)), ids, ["d/1", "d/2", "d/3", "d/4"])


def test_empty_index():
    index = IdIndex(pl.Series([], dtype=pl.String))
    assert len(index) == 0
    got = index.positions(pl.Series(["a/b", None, "c/d"]))
    assert got.dtype == np.int64 and got.tolist() == [-1, -1, -1]
    assert index.positions(pl.Series([], dtype=pl.String)).tolist() == []
    assert index.contains(pl.Series(["a/b"])).tolist() == [False]


def test_empty_query():
    index = IdIndex(pl.Series(["a/b"]))
    got = index.positions(pl.Series([], dtype=pl.String))
    assert got.dtype == np.int64 and got.shape == (0,)


def test_single_id_index():
    index = IdIndex(pl.Series(["only/one"]))
    assert index.positions(pl.Series(["only/one", "other/one", None])).tolist() == [0, -1, -1]


def test_case_and_whitespace_sensitive():
    ids = ["Org/Model", "org/model"]
    index = IdIndex(pl.Series(ids))
    assert index.positions(pl.Series(["org/model", "Org/Model", "ORG/MODEL", " org/model"])
                           ).tolist() == [1, 0, -1, -1]


def test_exact_under_hash_collisions(monkeypatch):
    """Every id hashing to the same value still gives exact positions (the fallback scan)."""
    ids = ["c/a", "c/b", None, "c/c", "c/d"]

    def constant_hash(self, *args, **kwargs):
        return pl.Series(self.name, np.zeros(len(self), dtype=np.uint64))

    monkeypatch.setattr(pl.Series, "hash", constant_hash)
    index = IdIndex(pl.Series(ids, dtype=pl.String))
    got = check(index, ids, ["c/d", "c/a", "c/c", "c/x", None, "c/b", "c/d"])
    assert got.tolist() == [4, 0, 3, -1, -1, 1, 4]


def test_positions_do_not_depend_on_query_order():
    rng = random.Random(3)
    ids = random_ids(rng, 300)
    index = IdIndex(pl.Series(ids))
    query = rng.sample(ids, 100) + ["zz/absent"]
    forward = index.positions(pl.Series(query))
    backward = index.positions(pl.Series(query[::-1]))
    assert forward.tolist() == backward[::-1].tolist()
