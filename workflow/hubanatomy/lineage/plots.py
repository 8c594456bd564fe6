"""Figures of the family trees: tree drawings, family sizes, generations, growth over time."""

from __future__ import annotations

import heapq
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from matplotlib.lines import Line2D

from hubanatomy.plotting import label_data, new_figure, save_figure, shorten

RELATION_COLOURS = {"finetune": "#1f77b4", "adapter": "#2ca02c", "quantized": "#ff7f0e",
                    "merge": "#d62728", "unspecified": "#7f7f7f"}
MAX_CHILDREN_SHOWN = 40  # per node, when a family has to be cut
LABELLED_NODES = 150  # beyond this, only the biggest branches are named


def descendant_tree(nodes: pl.DataFrame, edges: pl.DataFrame, start: str,
                    max_nodes: int) -> dict:
    """The descendants of `start` (along the edges given), cut to max_nodes by keeping the biggest
    branches; omitted children of a kept node become one "+k more" leaf.

    Returns kept node indices, their depth and breadth-first parent, the omitted counts, and
    the total number of descendants."""
    n = nodes.height
    parent = edges["parent_node"].to_numpy()
    child = edges["child_node"].to_numpy()
    graph = sp.csr_matrix((np.ones(len(parent), dtype=np.int8), (parent, child)), shape=(n, n))
    root = int(nodes.filter(pl.col("model_id") == start)["node"][0])

    # breadth-first: first discovery gives depth and the parent used for the layout
    depth = {root: 0}
    tree_parent = {root: -1}
    order = [root]
    frontier = [root]
    while frontier:
        next_frontier = []
        for u in frontier:
            for v in graph.indices[graph.indptr[u]:graph.indptr[u + 1]]:
                v = int(v)
                if v not in depth:
                    depth[v] = depth[u] + 1
                    tree_parent[v] = u
                    order.append(v)
                    next_frontier.append(v)
        frontier = next_frontier
    size = dict.fromkeys(order, 1)
    tree_children: dict[int, list[int]] = {u: [] for u in order}
    for v in reversed(order[1:]):
        size[tree_parent[v]] += size[v]
        tree_children[tree_parent[v]].append(v)

    # keep the biggest branches first (everything, if the family fits)
    per_node = len(order) if len(order) <= max_nodes else MAX_CHILDREN_SHOWN
    kept = []
    heap = [(-size[root], 0, root)]
    while heap and len(kept) < max_nodes:
        _, _, u = heapq.heappop(heap)
        kept.append(u)
        for v in sorted(tree_children[u], key=lambda w: (-size[w], w))[:per_node]:
            heapq.heappush(heap, (-size[v], depth[v], v))
    kept_set = set(kept)
    omitted = {}
    for u in kept:
        hidden = [v for v in tree_children[u] if v not in kept_set]
        if hidden:
            omitted[u] = (len(hidden), sum(size[v] for v in hidden))
    return {"root": root, "kept": kept, "depth": depth, "tree_parent": tree_parent,
            "tree_children": tree_children, "omitted": omitted, "size": size,
            "descendants": len(order) - 1, "graph": graph}


def plot_family_tree(nodes: pl.DataFrame, edges: pl.DataFrame, start: str, manifest: dict,
                     png: str | Path, pdf: str | Path | None, max_nodes: int,
                     title: str, relations=tuple(RELATION_COLOURS)) -> dict:
    """Draw the descendants of `start` along the edges whose primary relation is in
    `relations` (the graph variant the title names); returns the tree drawn."""
    edges = edges.filter(pl.col("primary_relation").is_in(list(relations)))
    tree = descendant_tree(nodes, edges, start, max_nodes)
    positions = _positions(tree)
    kept = tree["kept"]
    kept_set = set(kept)
    width = min(40.0, 4 + 0.16 * len(positions["leaves"]))
    height = min(20.0, 2.5 + 1.3 * (max(tree["depth"][u] for u in kept) + 1))
    fig, ax = new_figure(figsize=(width, height))
    relation = _relation_lookup(edges)
    graph = tree["graph"]
    for u in kept:
        for v in graph.indices[graph.indptr[u]:graph.indptr[u + 1]]:
            v = int(v)
            if v not in kept_set:
                continue
            colour = RELATION_COLOURS.get(relation.get((u, v), "unspecified"), "#7f7f7f")
            style = "-" if tree["tree_parent"].get(v) == u else ":"
            ax.plot([positions["x"][u], positions["x"][v]],
                    [-tree["depth"][u], -tree["depth"][v]], style, color=colour, lw=0.8,
                    alpha=0.8, zorder=1)
    for u, (count, total) in tree["omitted"].items():
        mx = positions["more"][u]
        ax.plot([positions["x"][u], mx], [-tree["depth"][u], -tree["depth"][u] - 1], "-",
                color="#bbbbbb", lw=0.8, zorder=1)
        ax.text(mx, -tree["depth"][u] - 1.08, f"+{count:,} more ({total:,} models)",
                ha="center", va="top", fontsize=6, color="#555555", rotation=90)
    names = nodes["model_id"]
    virtual = nodes["virtual"].to_numpy()
    xs = [positions["x"][u] for u in kept]
    ys = [-tree["depth"][u] for u in kept]
    ax.scatter(xs, ys, s=14, c=["#ffffff" if virtual[u] else "#333333" for u in kept],
               edgecolors="#333333", linewidths=0.6, zorder=2)
    labelled = sorted(kept, key=lambda u: (-tree["size"][u], tree["depth"][u]))[:LABELLED_NODES]
    for u in labelled:
        label = shorten(names[u].split("/")[-1], 28)
        rotation = 0 if u == tree["root"] else 90
        ax.text(positions["x"][u], -tree["depth"][u] - 0.06, label, fontsize=6,
                rotation=rotation, ha="center", va="top", zorder=3)
    ax.set_axis_off()
    handles = [Line2D([0], [0], color=c, lw=2, label=r) for r, c in RELATION_COLOURS.items()
               if r in relations]
    ax.legend(handles=handles, loc="upper right", fontsize=7, frameon=False,
              title="edge = relation", title_fontsize=7)
    shown = len(kept) - 1
    note = (f"{tree['descendants']:,} descendants" +
            (f", {shown:,} shown, the rest folded into '+k more'"
             if shown < tree["descendants"] else ""))
    ax.set_title(f"{title}\n{note}; dotted: a second parent (merges)", loc="left")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    label_data(fig, manifest, "open circles: parents absent from the snapshot")
    save_figure(fig, png, pdf)
    return tree


def _positions(tree: dict) -> dict:
    """x of kept nodes and of "+k more" leaves: depth-first leaf order, parents centred."""
    kept = set(tree["kept"])
    x: dict = {}
    more: dict = {}
    leaves: list = []

    def place(u):
        # iterative post-order to stay clear of Python's recursion limit on deep trees
        stack = [(u, 0)]
        while stack:
            node, state = stack.pop()
            shown = sorted((v for v in tree["tree_children"][node] if v in kept),
                           key=lambda w: -tree["size"][w])
            if state == 0:
                stack.append((node, 1))
                for v in reversed(shown):
                    stack.append((v, 0))
                continue
            xs = [x[v] for v in shown]
            if node in tree["omitted"]:
                more[node] = float(len(leaves))
                leaves.append(("more", node))
                xs.append(more[node])
            if xs:
                x[node] = float(np.mean(xs))
            else:
                x[node] = float(len(leaves))
                leaves.append(node)

    place(tree["root"])
    return {"x": x, "more": more, "leaves": leaves}


def _relation_lookup(edges: pl.DataFrame) -> dict:
    return dict(zip(zip(edges["parent_node"].to_list(), edges["child_node"].to_list(),
                        strict=True), edges["primary_relation"].to_list(), strict=True))


def plot_family_size_ccdf(table: pl.DataFrame, manifest: dict, png, pdf=None) -> None:
    fig, ax = new_figure(figsize=(6, 4.5))
    # variants nest (fine-tune within fine-tune+adapter ...), so their curves can coincide:
    # each gets its own line style and marker, drawn hollow, for all to stay visible
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v")]
    for i, variant in enumerate(table["variant"].unique(maintain_order=True)):
        rows = table.filter(pl.col("variant") == variant)
        line, marker = styles[i % len(styles)]
        ax.loglog(rows["size"].to_list(), rows["ccdf"].to_list(), linestyle=line,
                  marker=marker, markersize=3.5, markerfacecolor="none", lw=1.2, alpha=0.85,
                  label=variant)
    ax.set_xlabel("family size s (models)")
    ax.set_ylabel("share of families with size ≥ s")
    ax.set_title("Family sizes (complementary CDF)", loc="left")
    ax.legend(title="graph", fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    total = table.group_by("variant").agg(pl.col("families").sum())["families"].max()
    label_data(fig, manifest, f"{total:,} families (largest variant)")
    save_figure(fig, png, pdf)


def plot_generation_depth(table: pl.DataFrame, manifest: dict, png, pdf=None) -> None:
    fig, ax = new_figure(figsize=(7, 4.5))
    variants = table["variant"].unique(maintain_order=True).to_list()
    width = 0.8 / max(1, len(variants))
    for i, variant in enumerate(variants):
        rows = table.filter(pl.col("variant") == variant)
        ax.bar(np.asarray(rows["generation"].to_list()) + (i - (len(variants) - 1) / 2) * width,
               rows["models"].to_list(), width=width, label=variant)
    ax.set_yscale("log")
    ax.set_xlabel("generation (distance from the family's roots)")
    ax.set_ylabel("models")
    ax.set_title("Generation depth", loc="left")
    ax.legend(title="graph", fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


def plot_largest_families_over_time(table: pl.DataFrame, variant: str, manifest: dict, png,
                                    pdf=None) -> None:
    fig, ax = new_figure(figsize=(8, 5))
    for rank in table["rank"].unique(maintain_order=True).to_list():
        rows = table.filter(pl.col("rank") == rank)
        ax.plot(rows["month"].to_list(), rows["cumulative"].to_list(), lw=1.5,
                label=f"{rank}. {shorten(rows['family_root'][0], 40)}")
    ax.set_yscale("log")
    ax.set_xlabel("createdAt (month)")
    ax.set_ylabel("models in the family (cumulative)")
    ax.set_title(f"The largest families over time ({variant} graph)", loc="left")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)

