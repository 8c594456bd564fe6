"""Transition graphs in the optimal order (the paper's Figure 7)."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from hubanatomy.plotting import label_data, new_figure, no_data_figure, save_figure, shorten

CLASS_COLOURS = {
    "commercial": "#d62728", "use-restricted": "#ff7f0e", "permissive": "#2ca02c",
    "copyleft": "#1f77b4", "other-unknown": "#7f7f7f",
    "embeddings & features": "#9467bd", "generative": "#d62728", "classification": "#2ca02c",
    "reinforcement learning": "#8c564b", "other": "#7f7f7f", "": "#4c72b0",
}


def plot_transition_graph(order: pl.DataFrame, transitions: pl.DataFrame, trait: str,
                          variant: str, manifest: dict, png, pdf=None) -> None:
    """order: the exact weighted ordering rows of one trait and variant (rank, value, models,
    class, rank_low, rank_high, metrics); transitions: that variant's oriented pairs."""
    title = f"{trait}: optimal order ({variant} graph)"
    if order.height == 0:
        no_data_figure(title, f"no {trait} transition between two values on the {variant} "
                       "graph (no edge whose parent and child both have a value and differ)",
                       manifest, png, pdf)
        return
    order = order.sort("rank")
    rank = dict(zip(order["value"], order["rank"], strict=True))
    n = order.height
    fig, ax = new_figure(figsize=(8, max(5.0, 0.42 * n + 1.5)))
    pairs = transitions.filter(pl.col("source").is_in(list(rank))
                               & pl.col("target").is_in(list(rank)) & (pl.col("net") > 0))
    widest = max(1, int(pairs["net"].max() or 1))
    for source, target, net in pairs.select("source", "target", "net").iter_rows():
        down = rank[source] < rank[target]
        span = abs(rank[source] - rank[target])
        arrow = FancyArrowPatch(
            (0, -rank[source]), (0, -rank[target]),
            connectionstyle=f"arc3,rad={(-1 if down else 1) * min(0.6, 0.15 + 0.03 * span)}",
            arrowstyle="-|>", mutation_scale=6 + 6 * net / widest,
            lw=0.4 + 5 * net / widest, color="#4c72b0" if down else "#d62728",
            alpha=0.35 if down else 0.6, zorder=1)
        ax.add_patch(arrow)
    sizes = 30 + 600 * np.sqrt(order["models"].to_numpy() / max(1, order["models"].max()))
    colours = [CLASS_COLOURS.get(c or "", "#4c72b0") for c in order["class"].fill_null("")]
    ax.scatter(np.zeros(n), -order["rank"].to_numpy(), s=sizes, c=colours, edgecolors="black",
               linewidths=0.5, zorder=3)
    low, high = order["rank_low"].to_numpy(), order["rank_high"].to_numpy()
    for y, value, lo, hi in zip(order["rank"], order["value"], low, high, strict=True):
        interval = f"  [{lo:.0f}–{hi:.0f}]" if np.isfinite(lo) else ""
        ax.text(-0.6, -y, f"{shorten(str(value), 28)}{interval}", ha="right", va="center",
                fontsize=7)
    ax.set_xlim(-4.0, 4.5)
    ax.set_ylim(-n - 1, 0)
    ax.set_axis_off()
    first = order.row(0, named=True)
    ax.set_title(
        f"{trait}: optimal order ({variant} graph, weighted by net traffic)\n"
        f"arcs consistent {first['arcs_consistent']}/{first['arcs_total']} "
        f"({first['arcs_share']:.1%}), mutations forward {first['mutations_share']:.1%}; "
        "blue: along the order, red: against it;\n[a–b] after a name: 95% family-bootstrap "
        "interval of its rank", loc="left", fontsize=8)
    classes = [c for c in order["class"].fill_null("").unique(maintain_order=True) if c]
    if classes:
        handles = [Line2D([0], [0], marker="o", ls="", label=c,
                          color=CLASS_COLOURS.get(c, "#4c72b0")) for c in classes]
        ax.legend(handles=handles, loc="lower right", fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    label_data(fig, manifest,
               f"node size: models with the value (largest {order['models'].max():,})")
    save_figure(fig, png, pdf)
