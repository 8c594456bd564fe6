"""The summary "top tens" figure (2 x 4 bar panels) and the createdAt histogram."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from hubanatomy.plotting import label_data, new_figure, save_figure, shorten
from hubanatomy.summary.tables import ARXIV_CATEGORIES, PANEL_TITLES, PANELS

# panels drawn as shares, and of what
SHARE_UNITS = {"licenses": "models", "tasks": "models", "languages": "models",
               "libraries": "models", ARXIV_CATEGORIES: "papers"}


def plot_top_tens(table: pl.DataFrame, manifest: dict, png: str | Path,
                  pdf: str | Path | None = None, panels: tuple[str, ...] = PANELS) -> None:
    fig, axes = new_figure(2, 4, figsize=(17, 7.5))
    for ax, panel in zip(axes.ravel(), panels, strict=True):
        rows = table.filter(pl.col("panel") == panel).sort("rank")
        ax.set_title(PANEL_TITLES[panel], loc="left")
        if rows.height == 0:
            ax.text(0.5, 0.5, "none in this snapshot", ha="center", va="center",
                    transform=ax.transAxes, color="#777777")
            ax.set_axis_off()
            continue
        use_share = rows["share"].null_count() == 0 and panel in SHARE_UNITS
        values = (rows["share"] * 100) if use_share else rows["count"]
        labels = [shorten(v) for v in rows["value"].to_list()]
        positions = list(range(rows.height))[::-1]
        ax.barh(positions, values.to_list(), color="#4c72b0")
        ax.set_yticks(positions, labels)
        ax.set_xlabel(f"% of {SHARE_UNITS[panel]}" if use_share else "models"
                      if panel != "downloads" else "downloads")
        if panel == "downloads":
            _log_count_axis(ax, values.to_list())
        for y, v in zip(positions, values.to_list(), strict=True):
            ax.text(v, y, f" {v:.1f}%" if use_share else f" {v:,.0f}", va="center",
                    fontsize=7)
    fig.suptitle("The Hub at a glance: top values of each trait", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


def _compact(x: float, _pos=None) -> str:
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if x >= factor:
            return f"{x / factor:g}{suffix}"
    return f"{x:g}"


def _log_count_axis(ax, values: list[float]) -> None:
    """A log axis for counts with a few compact labels (1k, 10M): the default labels of the
    minor ticks overlap when the counts span less than a decade or two."""
    ax.set_xscale("log")
    positive = [v for v in values if v > 0]
    if positive:
        ax.set_xlim(min(positive) / 2, max(positive) * 4)  # room for the value labels
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=5))
    ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_created_histogram(months: pl.DataFrame, manifest: dict, png: str | Path,
                           pdf: str | Path | None = None) -> None:
    fig, ax = new_figure(figsize=(9, 4))
    dates = months["month"].to_list()
    ax.bar(dates, months["models"].to_list(), width=25, color="#4c72b0", label="created per month")
    ax.set_ylabel("models created per month")
    ax.set_xlabel("createdAt (month, UTC)")
    twin = ax.twinx()
    twin.plot(dates, months["cumulative"].to_list(), color="#dd8452", label="cumulative")
    twin.set_ylabel("cumulative models", color="#dd8452")
    ax.set_title("Models created per month", loc="left")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    total = int(months["models"].sum()) if months.height else 0
    label_data(fig, manifest, f"n = {total:,} models with a createdAt")
    save_figure(fig, png, pdf)
