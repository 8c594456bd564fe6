"""Figures of the numeric drifts: card length with P(auto-generated), number of languages."""

from __future__ import annotations

import numpy as np
import polars as pl

from hubanatomy.plotting import label_data, new_figure, no_data_figure, save_figure

PARENT, CHILD = "#4c72b0", "#dd8452"


def _rows(table: pl.DataFrame, measure: str, variant: str) -> pl.DataFrame:
    rows = table.filter((pl.col("measure") == measure) & (pl.col("variant") == variant))
    order = {"all": 0, "finetune": 1, "adapter": 2, "quantized": 3, "merge": 4, "unspecified": 5}
    return rows.with_columns(o=pl.col("relation").replace_strict(order, default=9)).sort("o")


def _bars(ax, rows: pl.DataFrame, offset: float, width: float) -> np.ndarray:
    x = np.arange(rows.height)
    for side, colour, shift in (("parent", PARENT, -width / 2), ("child", CHILD, width / 2)):
        mean = rows[side].to_numpy()
        err = np.vstack([mean - rows[f"{side}_low"].to_numpy(),
                         rows[f"{side}_high"].to_numpy() - mean])
        ax.bar(x + shift + offset, mean, width, color=colour, label=side,
               yerr=np.nan_to_num(np.abs(err)), capsize=2, error_kw={"lw": 0.8})
    return x


def _labels(rows: pl.DataFrame) -> list[str]:
    return [f"{r}\n(n={n:,})" for r, n in zip(rows["relation"], rows["n_edges"], strict=True)]


def plot_card_length_drift(table: pl.DataFrame, variant: str, manifest: dict, png,
                           pdf=None) -> None:
    length = _rows(table, "card_length_chars", variant).filter(pl.col("n_edges") > 0)
    auto = _rows(table, "auto_generated", variant)
    title = f"Card length and P(auto-generated), parent vs child ({variant} graph)"
    if length.height == 0:
        no_data_figure(title, f"no edge of the {variant} graph where parent and child both have "
                       "a card (longer than 3 characters)", manifest, png, pdf)
        return
    fig, ax = new_figure(figsize=(9, 4.8))
    x = _bars(ax, length, 0.0, 0.35)
    ax.set_xticks(x, _labels(length))
    ax.set_ylabel("mean card length (characters)")
    twin = ax.twinx()
    for side, colour, shift in (("parent", PARENT, -0.175), ("child", CHILD, 0.175)):
        rows = auto.join(length.select("relation"), on="relation", how="right")
        mean = rows[side].to_numpy()
        err = np.vstack([mean - rows[f"{side}_low"].to_numpy(),
                         rows[f"{side}_high"].to_numpy() - mean])
        twin.errorbar(x + shift, mean, yerr=np.nan_to_num(np.abs(err)), fmt="D", color="black",
                      markerfacecolor=colour, markersize=5, capsize=2, lw=0.8,
                      label=f"P(auto-generated), {side}")
    twin.set_ylabel("P(card auto-generated)")
    twin.set_ylim(0, 1)
    ax.set_title(f"{title}\nedges where parent and child both have a card; 95% "
                 "family-bootstrap intervals", loc="left")
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], fontsize=7,
              loc="upper right")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


def plot_language_drift(table: pl.DataFrame, variant: str, manifest: dict, png,
                        pdf=None) -> None:
    rows = _rows(table, "n_languages_listed", variant).filter(pl.col("n_edges") > 0)
    title = f"Number of languages, parent vs child ({variant} graph)"
    if rows.height == 0:
        no_data_figure(title, f"no edge of the {variant} graph where parent and child both list "
                       "languages", manifest, png, pdf)
        return
    fig, ax = new_figure(figsize=(8, 4.5))
    x = _bars(ax, rows, 0.0, 0.35)
    ax.set_xticks(x, _labels(rows))
    ax.set_ylabel("mean number of languages")
    ax.set_title(f"{title}\nedges where parent and child both list languages; 95% "
                 "family-bootstrap intervals", loc="left")
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)
