"""The license audit figure: verdicts of parent -> child license pairs by relation and by
quarter of the child's creation."""

from __future__ import annotations

import numpy as np
import polars as pl

from hubanatomy.licenses.audit import UNKNOWN_QUARTER
from hubanatomy.plotting import label_data, new_figure, no_data_figure, save_figure


def plot_license_audit(table: pl.DataFrame, manifest: dict, png, pdf=None,
                       top: int = 15) -> None:
    title = "License compatibility audit"
    if table.height == 0:
        no_data_figure(title, "no edge whose parent and child both declare a license",
                       manifest, png, pdf)
        return
    fig, (left, right) = new_figure(1, 2, figsize=(13, 5.5))
    by_parent = (table.filter(pl.col("by") == "parent_license")
                 .sort("edges", descending=True).head(top).sort("edges"))
    y = np.arange(by_parent.height)
    start = np.zeros(by_parent.height)
    for verdict, colour in (("compatible", "#2ca02c"), ("undetermined", "#bbbbbb"),
                            ("violation", "#d62728")):
        share = (by_parent[verdict] / by_parent["edges"]).to_numpy()
        left.barh(y, share, left=start, color=colour, label=verdict)
        start += share
    left.set_yticks(y, [f"{k} (n={e:,})" for k, e in zip(by_parent["key"], by_parent["edges"],
                                                        strict=True)])
    left.set_xlim(0, 1)
    left.set_xlabel("share of edges")
    left.set_title("Verdict by parent license (edges where both declare one)", loc="left")
    # above the bars, not on them
    left.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.06), ncol=3, frameon=False)
    quarters = table.filter(pl.col("by") == "quarter")
    undated = quarters.filter(pl.col("key") == UNKNOWN_QUARTER)
    over_time = quarters.filter(pl.col("key") != UNKNOWN_QUARTER).sort("key")
    x = np.arange(over_time.height)
    right.plot(x, over_time["violation_rate"].to_numpy(), marker="o", color="#d62728")
    right.fill_between(x, over_time["ci_low"].to_numpy(), over_time["ci_high"].to_numpy(),
                       color="#d62728", alpha=0.15)
    step = max(1, over_time.height // 8)
    right.set_xticks(x[::step], over_time["key"].to_list()[::step], rotation=45)
    right.set_ylabel("violation rate (family-bootstrap 95% band)")
    note = (f"; {undated['edges'][0]:,} edges whose child has no createdAt not shown"
            if undated.height else "")
    right.set_title(f"Violations over time (quarter the child was created{note})", loc="left")
    overall = table.filter(pl.col("by") == "all").row(0, named=True)
    fig.suptitle(f"{title}: {overall['violation']:,} of {overall['edges']:,} edges "
                 f"({overall['violation_rate']:.1%}) declare a child license that drops the "
                 "parent's terms", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    label_data(fig, manifest)
    save_figure(fig, png, pdf)
