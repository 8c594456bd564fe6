"""Local family motifs (docs/method.md#motifs): exact occurrence counts and uniform sampling.

A motif occurrence is a small set of related models; sampling an occurrence uniformly means
weighting each anchor by how many occurrences it anchors (k = number of children):

  random         two distinct models                                  C(n, 2)
  edge           u -> v                                               1 per edge
  two_children   u with children v, w                                 C(k(u), 2)
  chain          u -> v -> w                                          k(v) per edge u -> v
  three_children u with children v, w, x                              C(k(u), 3)
  fork_below     u -> v, v with children w1, w2                       C(k(v), 2) per edge
  uncle          u -> v -> w and x another child of u, x not w        k(v) (k(u) - 1) - shared
                                                                      children of u, v per edge
  long_chain     t -> u -> v -> w                                     parents(u) k(v) per edge

Each motif yields several pair configurations (parent-child, siblings, grandparent-
grandchild, uncle-nephew, ...), 25 in all; pairs of one occurrence are compared with each
other, which is what makes the siblings-vs-parent test paired. Sampling is vectorised:
anchors by cumulative weights, children by offsets into the graph's CSR arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# motif -> [(configuration, pair kind, generations apart, (position a, position b))]
MOTIFS = {
    "random": [("random pair", "random", -1, (0, 1))],
    "edge": [("parent-child", "parent-child", 1, (0, 1))],
    "two_children": [("parent-child", "parent-child", 1, (0, 1)),
                     ("siblings", "siblings", 0, (1, 2))],
    "chain": [("parent-child (upper)", "parent-child", 1, (0, 1)),
              ("parent-child (lower)", "parent-child", 1, (1, 2)),
              ("grandparent-grandchild", "grandparent-grandchild", 2, (0, 2))],
    "three_children": [("parent-child", "parent-child", 1, (0, 1)),
                       ("siblings", "siblings", 0, (1, 2))],
    "fork_below": [("parent-child (upper)", "parent-child", 1, (0, 1)),
                   ("parent-child (lower)", "parent-child", 1, (1, 2)),
                   ("siblings", "siblings", 0, (2, 3)),
                   ("grandparent-grandchild", "grandparent-grandchild", 2, (0, 2))],
    "uncle": [("parent-child (upper)", "parent-child", 1, (0, 1)),
              ("parent-child (lower)", "parent-child", 1, (1, 2)),
              ("parent-child (uncle)", "parent-child", 1, (0, 3)),
              ("siblings (parent and uncle)", "siblings", 0, (1, 3)),
              ("grandparent-grandchild", "grandparent-grandchild", 2, (0, 2)),
              ("uncle-nephew", "uncle-nephew", 2, (3, 2))],
    "long_chain": [("parent-child (top)", "parent-child", 1, (0, 1)),
                   ("parent-child (middle)", "parent-child", 1, (1, 2)),
                   ("parent-child (bottom)", "parent-child", 1, (2, 3)),
                   ("grandparent-grandchild (upper)", "grandparent-grandchild", 2, (0, 2)),
                   ("grandparent-grandchild (lower)", "grandparent-grandchild", 2, (1, 3)),
                   ("great-grandparent", "great-grandparent", 3, (0, 3))],
}


@dataclass
class MotifGraph:
    """A DAG over n nodes in CSR form: children of u, parents of v."""
    n: int
    parent: np.ndarray  # edge arrays, sorted by parent then child
    child: np.ndarray
    child_ptr: np.ndarray  # children of u: child[child_ptr[u]:child_ptr[u+1]]
    parent_ptr: np.ndarray  # parents of v: parent_by_child[parent_ptr[v]:parent_ptr[v+1]]
    parent_by_child: np.ndarray

    @classmethod
    def from_edges(cls, n: int, parent: np.ndarray, child: np.ndarray) -> MotifGraph:
        order = np.lexsort((child, parent))
        parent, child = parent[order].astype(np.int64), child[order].astype(np.int64)
        child_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(parent, minlength=n), out=child_ptr[1:])
        by_child = np.lexsort((parent, child))
        parent_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(child, minlength=n), out=parent_ptr[1:])
        return cls(n, parent, child, child_ptr, parent_ptr, parent[by_child])

    @property
    def k(self) -> np.ndarray:
        return np.diff(self.child_ptr)

    @property
    def indegree(self) -> np.ndarray:
        return np.diff(self.parent_ptr)


def _choose2(k):
    k = k.astype(np.int64)
    return k * (k - 1) // 2


def _choose3(k):
    k = k.astype(np.int64)
    return k * (k - 1) * (k - 2) // 6


def shared_children(g: MotifGraph) -> np.ndarray:
    """Per edge u -> v: the number of models that are children of both u and v (the
    triangles u -> v -> w, u -> w, where the uncle motif's x would be w itself)."""
    edges = pl.DataFrame({"parent": g.parent, "child": g.child, "edge": np.arange(len(g.parent))})
    # pairs of parents of the same model, one of them a parent of the other
    co = (edges.select("parent", "child")
          .join(edges.select(pl.col("parent").alias("other"), "child"), on="child")
          .filter(pl.col("parent") != pl.col("other")))
    hits = (co.join(edges.select(pl.col("parent"), pl.col("child").alias("other"), "edge"),
                    on=["parent", "other"])
            .group_by("edge").len())
    out = np.zeros(len(g.parent), dtype=np.int64)
    out[hits["edge"].to_numpy()] = hits["len"].to_numpy()
    return out


def motif_weights(g: MotifGraph) -> dict[str, tuple[str, np.ndarray]]:
    """motif -> (what the weights index: 'node' or 'edge', weight per anchor)."""
    k, indeg = g.k, g.indegree
    kv = k[g.child]
    return {
        "edge": ("edge", np.ones(len(g.parent), dtype=np.int64)),
        "two_children": ("node", _choose2(k)),
        "chain": ("edge", kv.astype(np.int64)),
        "three_children": ("node", _choose3(k)),
        "fork_below": ("edge", _choose2(kv)),
        "uncle": ("edge", kv.astype(np.int64) * (k[g.parent] - 1) - shared_children(g)),
        "long_chain": ("edge", indeg[g.parent].astype(np.int64) * kv),
    }


def motif_counts(g: MotifGraph, n_models: int) -> pl.DataFrame:
    """The exact number of occurrences of every motif (the table the paper never printed)."""
    rows = [{"motif": "random", "occurrences": n_models * (n_models - 1) // 2,
             "anchors": n_models}]
    for name, (_, weights) in motif_weights(g).items():
        rows.append({"motif": name, "occurrences": int(weights.sum()),
                     "anchors": int((weights > 0).sum())})
    out = pl.DataFrame(rows, schema={"motif": pl.String, "occurrences": pl.Int64,
                                     "anchors": pl.Int64})
    configurations = {m: len(c) for m, c in MOTIFS.items()}
    return out.with_columns(configurations=pl.col("motif").replace_strict(configurations))


def _draw(rng, weights: np.ndarray, size: int) -> np.ndarray:
    cumulative = np.cumsum(weights, dtype=np.float64)
    return np.minimum(np.searchsorted(cumulative, rng.random(size) * cumulative[-1],
                                      side="right"), len(weights) - 1)


def _nth_child(g, u, i):
    return g.child[g.child_ptr[u] + i]


def _distinct(rng, k, taken: list[np.ndarray]) -> np.ndarray:
    """Uniform index in [0, k) avoiding the (distinct) indices in taken."""
    x = (rng.random(len(k)) * (k - len(taken))).astype(np.int64)
    for t in np.sort(np.column_stack(taken), axis=1).T if taken else []:
        x = x + (x >= t)
    return x


def sample_motif(g: MotifGraph, motif: str, size: int, rng,
                 candidates: np.ndarray) -> np.ndarray | None:
    """size occurrences (rows of node ids in the motif's positions), or None if the motif does
    not occur. candidates: the models the random motif draws from."""
    if motif == "random":
        a = rng.integers(0, len(candidates), size)
        b = _distinct(rng, np.full(size, len(candidates)), [a])
        return np.column_stack([candidates[a], candidates[b]])
    kind, weights = motif_weights(g)[motif]
    if weights.sum() == 0:
        return None
    anchor = _draw(rng, weights, size)
    k = g.k
    if kind == "node":
        u = anchor
        i = _distinct(rng, k[u], [])
        j = _distinct(rng, k[u], [i])
        nodes = [u, _nth_child(g, u, i), _nth_child(g, u, j)]
        if motif == "three_children":
            nodes.append(_nth_child(g, u, _distinct(rng, k[u], [i, j])))
        return np.column_stack(nodes)
    u, v = g.parent[anchor], g.child[anchor]
    if motif == "edge":
        return np.column_stack([u, v])
    if motif == "chain":
        return np.column_stack([u, v, _nth_child(g, v, _distinct(rng, k[v], []))])
    if motif == "fork_below":
        i = _distinct(rng, k[v], [])
        j = _distinct(rng, k[v], [i])
        return np.column_stack([u, v, _nth_child(g, v, i), _nth_child(g, v, j)])
    if motif == "uncle":
        return _sample_uncles(g, size, rng)
    if motif == "long_chain":
        t = g.parent_by_child[g.parent_ptr[u]
                              + (rng.random(size) * g.indegree[u]).astype(np.int64)]
        w = _nth_child(g, v, _distinct(rng, k[v], []))
        return np.column_stack([t, u, v, w])
    raise ValueError(f"unknown motif {motif!r}")


def _sample_uncles(g: MotifGraph, size: int, rng) -> np.ndarray:
    """u -> v -> w and x another child of u with x not w, uniformly: propose from the larger
    set where only x != v is required (edge weighted by k(v)(k(u) - 1), w and x uniform) and
    redraw the proposals with x == w, which leaves the valid ones equally likely."""
    k = g.k
    proposal = k[g.child].astype(np.float64) * (k[g.parent] - 1)
    out = np.empty((size, 4), dtype=np.int64)
    todo = np.arange(size)
    while len(todo):
        anchor = _draw(rng, proposal, len(todo))
        u, v = g.parent[anchor], g.child[anchor]
        w = _nth_child(g, v, _distinct(rng, k[v], []))
        x = _nth_child(g, u, _distinct(rng, k[u], [anchor - g.child_ptr[u]]))
        out[todo] = np.column_stack([u, v, w, x])
        todo = todo[x == w]
    return out


def sample_pairs(g: MotifGraph, size: int, seed: int, candidates: np.ndarray,
                 family: np.ndarray) -> pl.DataFrame:
    """`size` occurrences of every motif, as one row per (occurrence, configuration): motif,
    configuration, pair kind, generations apart, the two nodes, the occurrence id, and the
    family of the motif's first node (random pairs: their own cluster)."""
    rng = np.random.default_rng(seed)
    frames = []
    for motif, configurations in MOTIFS.items():
        occurrences = sample_motif(g, motif, size, rng, candidates)
        if occurrences is None:
            continue
        cluster = (np.arange(size) + 10**12 if motif == "random"
                   else family[occurrences[:, 0]])
        for configuration, kind, apart, (a, b) in configurations:
            frames.append(pl.DataFrame({
                "motif": motif, "configuration": configuration, "pair_kind": kind,
                "generations_apart": apart, "occurrence": np.arange(size),
                "a": occurrences[:, a], "b": occurrences[:, b], "family": cluster,
            }, schema_overrides={"generations_apart": pl.Int64}))
    return pl.concat(frames)


def variant_graph(nodes: pl.DataFrame, edges: pl.DataFrame,
                  relations: list[str]) -> tuple[MotifGraph, int]:
    """The motif graph of a variant over the snapshot's models (virtual parents have no DNA
    and are left out), and the number of models."""
    n_models = int((~nodes["virtual"]).sum())
    e = edges.filter(~pl.col("parent_virtual") & pl.col("primary_relation").is_in(relations))
    return (MotifGraph.from_edges(n_models, e["parent_node"].to_numpy(),
                                  e["child_node"].to_numpy()), n_models)


def motif_table(nodes: pl.DataFrame, edges: pl.DataFrame,
                variants: dict[str, list[str]]) -> pl.DataFrame:
    """Exact occurrence counts of every motif in every variant."""
    return pl.concat([motif_counts(*variant_graph(nodes, edges, relations))
                      .select(pl.lit(variant).alias("variant"), pl.all())
                      for variant, relations in variants.items()])


def sample_all_pairs(nodes: pl.DataFrame, edges: pl.DataFrame, variants: dict[str, list[str]],
                     size: int, seed: int) -> pl.DataFrame:
    """sample_pairs of every variant, stacked with a `variant` column."""
    frames = []
    for i, (variant, relations) in enumerate(variants.items()):
        graph, n_models = variant_graph(nodes, edges, relations)
        family = nodes[f"family_{variant}"].to_numpy()
        pairs = sample_pairs(graph, size, seed + i, np.arange(n_models), family)
        frames.append(pairs.select(pl.lit(variant).alias("variant"), pl.all()))
    return pl.concat(frames)
