"""Shared figure helpers: one style, deterministic files, and the data label on every figure."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hubanatomy.snapshot import files as snap  # noqa: E402

log = logging.getLogger(__name__)

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "hubanatomy",
}


def new_figure(*args, **kwargs):
    plt.rcParams.update(STYLE)
    return plt.subplots(*args, **kwargs)


def label_data(fig, manifest: dict, n_text: str = "") -> None:
    """A footer saying which data this is (SIMULATED in capitals when it is) and its n."""
    text = snap.describe(manifest) + (f"; {n_text}" if n_text else "")
    color = "#b00020" if snap.is_simulated(manifest) else "#444444"
    fig.text(0.01, 0.005, text, fontsize=7, color=color, ha="left", va="bottom")


def save_figure(fig, png_path: str | Path, pdf_path: str | Path | None = None) -> None:
    """PNG (and PDF) without timestamps, so the same data gives the same bytes."""
    fig.savefig(png_path, metadata={"Software": None}, bbox_inches="tight")
    if pdf_path is not None:
        fig.savefig(pdf_path, metadata={"CreationDate": None, "ModDate": None,
                                        "Producer": None, "Creator": None},
                    bbox_inches="tight")
    plt.close(fig)


def no_data_figure(title: str, reason: str, manifest: dict, png, pdf=None,
                   figsize=(8, 3)) -> None:
    """A figure that says on its canvas why it has nothing to show (and logs it)."""
    log.warning("%s: nothing to draw: %s", Path(png).name, reason)
    fig, ax = new_figure(figsize=figsize)
    ax.set_axis_off()
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, f"No data to show: {reason}", ha="center", va="center", wrap=True,
            fontsize=10, color="#444444", transform=ax.transAxes)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)


def shorten(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
