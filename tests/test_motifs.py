"""Motif counts and sampling (hubanatomy.similarity.motifs) against brute-force enumeration."""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations, permutations, product

import numpy as np
import polars as pl
import pytest
from scipy.stats import chisquare

from hubanatomy.similarity.motifs import (
    MOTIFS,
    MotifGraph,
    motif_counts,
    sample_motif,
    sample_pairs,
)

# ---------------------------------------------------------------------------------------------
# helpers: random DAGs and brute-force enumeration (plain loops and itertools only)


def random_dag(n: int, seed: int, hub_children: int = 12, isolated: int = 5,
               p: float = 0.04) -> tuple[int, list[tuple[int, int]]]:
    """A DAG over n shuffled node ids: a hub with many children, multi-parent nodes, a
    few isolated nodes, and sparse random edges along a hidden topological order."""
    rng = np.random.default_rng(seed)
    label = rng.permutation(n)  # topological position -> node id (ids are not sorted)
    connected = n - isolated  # the last `isolated` positions get no edge at all
    edges = set()
    for i in range(connected):
        for j in range(i + 1, connected):
            if rng.random() < p:
                edges.add((i, j))
    hub = 1
    for j in rng.choice(np.arange(hub + 1, connected), hub_children, replace=False):
        edges.add((hub, int(j)))
    # a second, deeper fan-out below one of the hub's children, and multi-parent nodes
    below = min(j for i, j in edges if i == hub)
    for j in rng.choice(np.arange(below + 1, connected), 5, replace=False):
        edges.add((below, int(j)))
    for j in rng.choice(np.arange(connected // 2, connected), 6, replace=False):
        for i in rng.choice(np.arange(0, connected // 2), 3, replace=False):
            edges.add((int(i), int(j)))
    return n, sorted((int(label[i]), int(label[j])) for i, j in edges)


def graph_of(n: int, edges: list[tuple[int, int]]) -> MotifGraph:
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    return MotifGraph.from_edges(n, e[:, 0], e[:, 1])


def brute_force(n: int, edges: list[tuple[int, int]]) -> dict[str, list[tuple]]:
    """Every occurrence of every motif, enumerated from the edge list (module docstring).
    Symmetric positions are listed once (unordered), as sorted tuples."""
    edge_set = set(edges)
    nodes = range(n)
    children = {u: sorted(v for (a, v) in edges if a == u) for u in nodes}
    out: dict[str, list[tuple]] = {}
    out["edge"] = sorted(edge_set)
    out["two_children"] = [(u, v, w) for u in nodes
                           for v, w in combinations(children[u], 2)]
    out["chain"] = [(u, v, w) for (u, v), (v2, w) in product(edges, edges) if v == v2]
    out["three_children"] = [(u, *c) for u in nodes for c in combinations(children[u], 3)]
    out["fork_below"] = [(u, v, w1, w2) for (u, v) in edges
                         for w1, w2 in combinations(children[v], 2)]
    out["uncle"] = [(u, v, w, x) for (u, v), (v2, w) in product(edges, edges) if v2 == v
                    for (u2, x) in edges if u2 == u and x not in (v, w)]
    out["long_chain"] = [(t, u, v, w) for (t, u), (u2, v) in product(edges, edges) if u2 == u
                         for (v2, w) in edges if v2 == v]
    return out


def anchors_of(motif: str, occurrences: list[tuple]) -> set:
    """What an occurrence is anchored on: the parent (node motifs) or one edge."""
    if motif in ("two_children", "three_children"):
        return {o[0] for o in occurrences}
    if motif == "long_chain":
        return {(o[1], o[2]) for o in occurrences}
    return {(o[0], o[1]) for o in occurrences}


# which positions of an occurrence are interchangeable (an unordered set in the definition)
SYMMETRIC = {"two_children": (1, 3), "three_children": (1, 4), "fork_below": (2, 4)}


EXPECTED_CONFIGURATIONS = {"random": 1, "edge": 1, "two_children": 2, "chain": 3,
                           "three_children": 2, "fork_below": 4, "uncle": 6, "long_chain": 6}

DAGS = [random_dag(30, 1), random_dag(45, 2, hub_children=15, p=0.03),
        random_dag(60, 3, hub_children=20, isolated=8, p=0.02)]


# ---------------------------------------------------------------------------------------------
# 1. exact counts


@pytest.mark.parametrize("dag", DAGS, ids=["n30", "n45", "n60"])
def test_motif_counts_equal_brute_force(dag):
    n, edges = dag
    g = graph_of(n, edges)
    truth = brute_force(n, edges)
    # the random DAGs have what the test is about
    indegree = Counter(v for _, v in edges)
    touched = {x for e in edges for x in e}
    assert max(Counter(u for u, _ in edges).values()) >= 12
    assert sum(d >= 2 for d in indegree.values()) >= 3
    assert len(set(range(n)) - touched) >= 5
    assert all(len(truth[m]) > 0 for m in truth)

    counts = motif_counts(g, n)
    assert counts.columns == ["motif", "occurrences", "anchors", "configurations"]
    assert counts["motif"].to_list() == list(EXPECTED_CONFIGURATIONS)
    got = {r["motif"]: r for r in counts.iter_rows(named=True)}
    assert got["random"]["occurrences"] == len(list(combinations(range(n), 2)))
    assert got["random"]["anchors"] == n
    for motif, occurrences in truth.items():
        assert len(set(occurrences)) == len(occurrences)
        assert got[motif]["occurrences"] == len(occurrences), motif
        assert got[motif]["anchors"] == len(anchors_of(motif, occurrences)), motif
    for motif, k in EXPECTED_CONFIGURATIONS.items():
        assert got[motif]["configurations"] == k
    assert counts["configurations"].sum() == 25


def test_motif_counts_hand_example():
    # 0 -> 1, 0 -> 2, 1 -> 3, 1 -> 4, 3 -> 5 ; node 6 isolated
    g = graph_of(7, [(0, 1), (0, 2), (1, 3), (1, 4), (3, 5)])
    got = dict(motif_counts(g, 7).select("motif", "occurrences").iter_rows())
    assert got == {"random": 21, "edge": 5, "two_children": 2, "chain": 3,
                   "three_children": 0, "fork_below": 1,
                   # u=0,v=1 (w=3 or 4, x=2): 2 ; u=1,v=3 (w=5, x=4): 1
                   "uncle": 3,
                   # 0-1-3-5
                   "long_chain": 1}


def test_motif_graph_csr():
    n, edges = DAGS[0]
    g = graph_of(n, edges)
    for u in range(n):
        assert sorted(g.child[g.child_ptr[u]:g.child_ptr[u + 1]].tolist()) == sorted(
            v for a, v in edges if a == u)
        assert sorted(g.parent_by_child[g.parent_ptr[u]:g.parent_ptr[u + 1]].tolist()) == sorted(
            a for a, v in edges if v == u)


# ---------------------------------------------------------------------------------------------
# 2. sampling: valid and uniform


def small_dag() -> tuple[int, list[tuple[int, int]]]:
    """Nine nodes (ids not in topological order), a multi-parent node, one isolated node."""
    edges = [(5, 2), (5, 7), (5, 0), (5, 8),   # 5 has four children
             (2, 1), (2, 3), (2, 6),           # 2 has three
             (7, 3),                           # 3 has two parents (2 and 7)
             (0, 6), (3, 1)]                   # 4 isolated
    return 9, edges


def assert_valid(motif: str, row, edge_set: set) -> None:
    r = [int(x) for x in row]
    if motif == "edge":
        assert (r[0], r[1]) in edge_set
    elif motif in ("two_children", "three_children"):
        assert all((r[0], c) in edge_set for c in r[1:])
        assert len(set(r[1:])) == len(r) - 1
    elif motif == "chain":
        assert (r[0], r[1]) in edge_set and (r[1], r[2]) in edge_set
    elif motif == "fork_below":
        assert {(r[0], r[1]), (r[1], r[2]), (r[1], r[3])} <= edge_set and r[2] != r[3]
    elif motif == "uncle":
        assert {(r[0], r[1]), (r[1], r[2]), (r[0], r[3])} <= edge_set
        assert r[3] not in (r[1], r[2])  # the uncle is neither the parent nor the nephew
    elif motif == "long_chain":
        assert {(r[0], r[1]), (r[1], r[2]), (r[2], r[3])} <= edge_set
    else:
        raise AssertionError(motif)


MOTIF_NAMES = ["edge", "two_children", "chain", "three_children", "fork_below", "uncle",
               "long_chain"]


@pytest.mark.parametrize("motif", MOTIF_NAMES)
def test_sample_motif_valid_and_uniform(motif):
    n, edges = small_dag()
    g = graph_of(n, edges)
    truth = brute_force(n, edges)[motif]
    assert len(truth) >= 2
    draws = sample_motif(g, motif, 200_000, np.random.default_rng(7), np.arange(n))
    assert draws.shape == (200_000, len(truth[0]))
    edge_set = set(edges)
    for row in tally(draws):
        assert_valid(motif, row, edge_set)
    # uniform over occurrences (symmetric positions unordered)
    unordered = draws.copy()
    if motif in SYMMETRIC:
        lo, hi = SYMMETRIC[motif]
        unordered[:, lo:hi] = np.sort(unordered[:, lo:hi], axis=1)
    freq = tally(unordered)
    assert set(freq) == set(truth)
    observed = np.array([freq[o] for o in truth])
    assert chisquare(observed).pvalue > 0.001
    # and over the orders of interchangeable positions too
    if motif in SYMMETRIC:
        ordered = [o[:lo] + p + o[hi:] for o in truth for p in permutations(o[lo:hi])]
        freq = tally(draws)
        assert set(freq) == set(ordered)
        assert chisquare(np.array([freq[o] for o in ordered])).pvalue > 0.001


def tally(rows: np.ndarray) -> dict[tuple, int]:
    """How often each distinct row occurs (rows of small node ids, encoded in base 1000)."""
    assert rows.max() < 1000
    codes = rows.astype(np.int64) @ (1000 ** np.arange(rows.shape[1], dtype=np.int64))
    values, counts = np.unique(codes, return_counts=True)
    return {tuple(int(v) // 1000**i % 1000 for i in range(rows.shape[1])): int(c)
            for v, c in zip(values, counts, strict=True)}


def test_sample_motif_uncle_has_no_self_pair():
    """In u -> v -> w, x another child of u, x must not be w itself: with a triangle u -> v,
    v -> w, u -> w, such an occurrence would compare w with itself as uncle-nephew (similarity
    1) and call a node its parent's sibling."""
    edges = [(0, 1), (1, 2), (0, 2), (0, 3)]  # triangle 0 -> 1 -> 2, 0 -> 2; 3 a real uncle
    g = graph_of(4, edges)
    draws = sample_motif(g, "uncle", 2000, np.random.default_rng(0), np.arange(4))
    for row in draws.tolist():
        assert len(set(row)) == 4, row
    pairs = sample_pairs(g, 2000, 0, np.arange(4), np.zeros(4, dtype=np.int64))
    assert (pairs["a"] != pairs["b"]).all()


def test_sample_motif_absent_is_none():
    # a single fan-out: no chain, no fork below, no uncle, no long chain
    g = graph_of(5, [(0, 1), (0, 2), (0, 3)])
    rng = np.random.default_rng(0)
    for motif in ("chain", "fork_below", "uncle", "long_chain"):
        assert sample_motif(g, motif, 10, rng, np.arange(5)) is None
    assert sample_motif(g, "three_children", 10, rng, np.arange(5)) is not None
    empty = graph_of(4, [])
    for motif in MOTIF_NAMES:
        assert sample_motif(empty, motif, 10, rng, np.arange(4)) is None


def test_sample_random_pairs_distinct_and_uniform():
    candidates = np.array([3, 8, 11, 20, 42, 57])
    g = graph_of(60, [(3, 8)])
    draws = sample_motif(g, "random", 120_000, np.random.default_rng(3), candidates)
    assert draws.shape == (120_000, 2)
    assert (draws[:, 0] != draws[:, 1]).all()
    assert set(np.unique(draws).tolist()) == set(candidates.tolist())
    freq = tally(draws)
    ordered = list(permutations(candidates.tolist(), 2))
    assert set(freq) == set(ordered)
    assert chisquare(np.array([freq[o] for o in ordered])).pvalue > 0.001


# ---------------------------------------------------------------------------------------------
# 3. sample_pairs

GENERATIONS = {"random": -1, "siblings": 0, "parent-child": 1, "grandparent-grandchild": 2,
               "uncle-nephew": 2, "great-grandparent": 3}


def related(kind: str, a: int, b: int, edge_set: set, nodes: range) -> bool:
    """Whether (a, b) is a pair of that kind, from the edge list."""
    parents_b = {p for p, c in edge_set if c == b}
    if kind == "random":
        return a != b
    if kind == "parent-child":
        return (a, b) in edge_set
    if kind == "siblings":
        return a != b and any((p, a) in edge_set and (p, b) in edge_set for p in nodes)
    if kind == "grandparent-grandchild":
        return any((a, m) in edge_set for m in parents_b)
    if kind == "uncle-nephew":
        return any(a != m and any((p, a) in edge_set and (p, m) in edge_set for p in nodes)
                   for m in parents_b)
    if kind == "great-grandparent":
        return any((a, m1) in edge_set and (m1, m2) in edge_set
                   for m2 in parents_b for m1 in nodes)
    raise AssertionError(kind)


def test_sample_pairs_rows_and_configurations():
    n, edges = small_dag()
    g = graph_of(n, edges)
    family = np.array([100 + i for i in range(n)])  # distinct so the first node is readable
    size = 300
    pairs = sample_pairs(g, size, 5, np.arange(n), family)
    assert set(pairs.columns) == {"motif", "configuration", "pair_kind", "generations_apart",
                                  "occurrence", "a", "b", "family"}
    assert pairs.schema["generations_apart"] == pl.Int64
    assert pairs.height == size * 25
    edge_set = set(edges)
    for motif, configurations in MOTIFS.items():
        rows = pairs.filter(pl.col("motif") == motif)
        assert rows.height == size * len(configurations)
        # one row per (occurrence, configuration), in MOTIFS order
        assert (rows.group_by("occurrence").len()["len"] == len(configurations)).all()
        assert rows.unique(["occurrence", "configuration"]).height == rows.height
        for configuration, *_ in configurations:
            part = rows.filter(pl.col("configuration") == configuration).sort("occurrence")
            assert part["occurrence"].to_list() == list(range(size))
        for r in rows.iter_rows(named=True):
            assert r["generations_apart"] == GENERATIONS[r["pair_kind"]]
            assert related(r["pair_kind"], r["a"], r["b"], edge_set, range(n)), r
        # positions of every occurrence, rebuilt from its rows, make a valid occurrence with
        # the family of its first node
        if motif == "random":
            assert (rows["family"] >= 10**12).all()
            assert rows["family"].n_unique() == size
            continue
        width = 1 + max(max(p) for *_, p in configurations)
        positions = {}
        for r in rows.iter_rows(named=True):
            config = next(c for c in configurations if c[0] == r["configuration"])
            pa, pb = config[3]
            slot = positions.setdefault(r["occurrence"], [None] * width)
            for p, node in ((pa, r["a"]), (pb, r["b"])):
                assert slot[p] in (None, node)
                slot[p] = node
        for slot in positions.values():
            assert None not in slot
            assert_valid(motif, slot, edge_set)
        first = {o: s[0] for o, s in positions.items()}
        for r in rows.iter_rows(named=True):
            assert r["family"] == family[first[r["occurrence"]]]


def test_sample_pairs_deterministic_and_skips_absent():
    n, edges = small_dag()
    g = graph_of(n, edges)
    family = np.zeros(n, dtype=np.int64)
    one = sample_pairs(g, 50, 11, np.arange(n), family)
    two = sample_pairs(g, 50, 11, np.arange(n), family)
    other = sample_pairs(g, 50, 12, np.arange(n), family)
    assert one.equals(two)
    assert not one.equals(other)
    fan = graph_of(5, [(0, 1), (0, 2), (0, 3)])
    pairs = sample_pairs(fan, 20, 0, np.arange(5), np.zeros(5, dtype=np.int64))
    assert set(pairs["motif"].unique().to_list()) == {"random", "edge", "two_children",
                                                       "three_children"}
    assert pairs.height == 20 * (1 + 1 + 2 + 2)


# ---------------------------------------------------------------------------------------------
# 4. the real SmolLM2 family


def test_motif_counts_real_smollm2_finetune(real_data):
    graph = json.loads((real_data / "smollm2-family" / "graph.json").read_text())
    ids = sorted({node["id"] for node in graph["nodes"]})
    index = {m: i for i, m in enumerate(ids)}
    edges = sorted({(index[e["source"]], index[e["target"]]) for e in graph["edges"]
                    if e["type"] == "finetune"})
    assert len(edges) == 282
    n = len(ids)
    truth = brute_force(n, edges)
    counts = {r["motif"]: r for r in motif_counts(graph_of(n, edges), n).iter_rows(named=True)}
    assert counts["random"]["occurrences"] == n * (n - 1) // 2
    for motif, occurrences in truth.items():
        assert counts[motif]["occurrences"] == len(occurrences), motif
        assert counts[motif]["anchors"] == len(anchors_of(motif, occurrences)), motif
    assert counts["edge"]["occurrences"] == 282
    assert counts["three_children"]["occurrences"] > 100_000  # a root with ~100 fine-tunes
