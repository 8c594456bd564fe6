"""Figures of genetic similarity: the 8-panel motif figures (the paper's Figure 5), the
metadata diff of a parent and its fine-tune (Figure 4), and the directionality sweep (the
drift schematic, Figure 6, made quantitative)."""

from __future__ import annotations

import difflib

import numpy as np
import polars as pl
from matplotlib.patches import Patch

from hubanatomy.plotting import label_data, new_figure, no_data_figure, save_figure
from hubanatomy.similarity.motifs import MOTIFS

APART_COLOURS = {-1: "#999999", 0: "#2ca02c", 1: "#1f77b4", 2: "#6a51a3", 3: "#3f007d"}
MOTIF_TITLES = {
    "random": "random pair", "edge": "u → v", "two_children": "u → v, w",
    "chain": "u → v → w", "three_children": "u → v, w, x", "fork_below": "u → v → w1, w2",
    "uncle": "u → v → w, u → x (uncle)", "long_chain": "t → u → v → w",
}


def plot_similarity(table: pl.DataFrame, text: str, measure: str, variant: str,
                    manifest: dict, png, pdf=None) -> None:
    rows = table.filter((pl.col("text") == text) & (pl.col("measure") == measure)
                        & (pl.col("variant") == variant))
    if rows.filter(pl.col("motif") != "random").height == 0:
        no_data_figure(f"Genetic similarity of relatives: {text} DNA, {measure} ({variant} "
                       "graph)", f"no pair of relatives with {text} DNA on the {variant} graph "
                       f"(no {variant} edge whose parent and child both have "
                       f"{'a card kept as DNA' if text == 'cards' else 'metadata'})",
                       manifest, png, pdf)
        return
    fig, axes = new_figure(2, 4, figsize=(17, 7.5), sharex=True)
    random = rows.filter(pl.col("motif") == "random")["mean"]
    baseline = float(random[0]) if len(random) else None
    for ax, (motif, configurations) in zip(axes.ravel(), MOTIFS.items(), strict=True):
        ax.set_title(MOTIF_TITLES[motif], loc="left")
        present = rows.filter(pl.col("motif") == motif)
        order = [c for c, *_ in configurations]
        y = np.arange(len(order))[::-1]
        for yi, (configuration, _, apart, _) in zip(y, configurations, strict=True):
            hit = present.filter(pl.col("configuration") == configuration)
            if hit.height == 0 or hit["mean"][0] is None:
                continue
            mean, low, high = hit["mean"][0], hit["ci_low"][0], hit["ci_high"][0]
            ax.errorbar([mean], [yi], xerr=[[max(mean - low, 0)], [max(high - mean, 0)]],
                        fmt="o", color=APART_COLOURS.get(apart, "#333333"), capsize=3)
            ax.text(1.0, yi, f" n={hit['n'][0]:,}", fontsize=6, va="center",
                    transform=ax.get_yaxis_transform())
        ax.set_yticks(y, order, fontsize=7)
        if baseline is not None:
            ax.axvline(baseline, color="#999999", ls="--", lw=0.8)
        ax.set_xlim(0, 1)
        if present.height == 0:
            ax.text(0.5, 0.5, "motif absent", transform=ax.transAxes, ha="center",
                    color="#777777")
    for ax in axes[-1]:
        ax.set_xlabel(f"{measure} similarity")
    legend = [Patch(color=c, label=label) for c, label in (
        (APART_COLOURS[0], "siblings (0 generations apart)"), (APART_COLOURS[1], "1 apart"),
        (APART_COLOURS[2], "2 apart"), (APART_COLOURS[3], "3 apart"),
        (APART_COLOURS[-1], "random pair (dashed line)"))]
    fig.legend(handles=legend, loc="upper right", fontsize=7, ncol=5, frameon=False)
    fig.suptitle(f"Genetic similarity of relatives: {text} DNA, {measure} ({variant} graph; "
                 "95% family-bootstrap intervals)", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


DIFF_COLOURS = {"equal": "#bbbbbb", "substituted": "#ff7f0e", "deleted": "#d62728",
                "inserted": "#2ca02c"}


def diff_segments(parent: str, child: str) -> tuple[list, list]:
    """(parent segments, child segments) as (text, kind) lists from a character-level diff."""
    ours, theirs = [], []
    matcher = difflib.SequenceMatcher(None, parent, child, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            ours.append((parent[i1:i2], "equal"))
            theirs.append((child[j1:j2], "equal"))
        elif op == "replace":
            ours.append((parent[i1:i2], "substituted"))
            theirs.append((child[j1:j2], "substituted"))
        elif op == "delete":
            ours.append((parent[i1:i2], "deleted"))
        else:
            theirs.append((child[j1:j2], "inserted"))
    return ours, theirs


def _lines_needed(segments, width: int, max_lines: int) -> int:
    return min(max_lines, max(1, -(-sum(len(t) for t, _ in segments) // width)))


def _draw_text(ax, segments, width: int, max_lines: int) -> int:
    """Monospaced, wrapped, each run in its colour; returns lines drawn."""
    line, column = 0, 0
    for text, kind in segments:
        for start in range(0, len(text), 1):
            if line >= max_lines:
                return line
            char = text[start]
            if char == "\n":
                char = "⏎"
            ax.text(column, -line, char, fontsize=5.5, family="monospace",
                    color=DIFF_COLOURS[kind], va="top", ha="left")
            column += 1
            if column >= width:
                line, column = line + 1, 0
    return line + 1


def plot_metadata_diff(parent_id: str, parent: str, child_id: str, child: str, manifest: dict,
                       png, pdf=None, width: int = 110, max_lines: int = 40) -> None:
    ours, theirs = diff_segments(parent, child)
    share = difflib.SequenceMatcher(None, parent, child, autojunk=False).ratio()
    # the canvas fits the lines drawn: two short strings get a short figure
    heights = [_lines_needed(segments, width, max_lines) for segments in (ours, theirs)]
    fig, (top, bottom) = new_figure(2, 1, figsize=(12, 1.6 + 0.11 * sum(heights) + 0.8),
                                    gridspec_kw={"height_ratios": [h + 2 for h in heights]})
    for ax, segments, title in ((top, ours, f"parent: {parent_id}"),
                                (bottom, theirs, f"child (fine-tune): {child_id}")):
        lines = _draw_text(ax, segments, width, max_lines)
        ax.set_xlim(-1, width + 1)
        ax.set_ylim(-max(lines, 1) - 0.5, 1)
        ax.set_axis_off()
        ax.set_title(title, loc="left", fontsize=9)
    legend = [Patch(color=c, label=k) for k, c in DIFF_COLOURS.items()]
    fig.legend(handles=legend, loc="upper right", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"Character-level diff of the metadata DNA (similarity ratio {share:.3f}; "
                 f"first {max_lines} lines of {width} characters)", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


def plot_directionality_sweep(table: pl.DataFrame, manifest_note: str, png, pdf=None) -> None:
    fig, axes = new_figure(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, text in zip(axes, ("metadata", "cards"), strict=True):
        rows = table.filter(pl.col("text") == text)
        directed = rows.filter(pl.col("scenario") == "directed").sort("sibling_shared")
        neutral = rows.filter(pl.col("scenario") == "neutral")
        for kind, colour in (("siblings", "#2ca02c"), ("parent-child", "#1f77b4")):
            d = directed.filter(pl.col("pair_kind") == kind)
            x = d["sibling_shared"].to_numpy()
            ax.plot(x, d["tfidf_mean"].to_numpy(), marker="o", color=colour, label=kind)
            ax.fill_between(x, d["ci_low"].to_numpy(), d["ci_high"].to_numpy(), color=colour,
                            alpha=0.15)
            nt = neutral.filter(pl.col("pair_kind") == kind)
            if nt.height:
                ax.errorbar([1.15], nt["tfidf_mean"].to_list(),
                            yerr=[[nt["tfidf_mean"][0] - nt["ci_low"][0]],
                                  [nt["ci_high"][0] - nt["tfidf_mean"][0]]],
                            fmt="s", color=colour, capsize=3)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0, 1.15], ["0", ".25", ".5", ".75", "1", "null"])
        ax.set_xlabel("share of changes siblings share (directed scenario); null model")
        ax.set_title(f"{text} DNA, TF-IDF, two-children motifs", loc="left")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("mean similarity (95% family-bootstrap band)")
    fig.suptitle("Directed mutation makes siblings more alike than parent and child",
                 x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    fig.text(0.01, 0.005, manifest_note, fontsize=7, color="#b00020")
    save_figure(fig, png, pdf)
