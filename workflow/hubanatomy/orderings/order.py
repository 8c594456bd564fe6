"""Optimal evolutionary orderings of trait values (docs/method.md#orderings), with their
uncertainty.

The linear ordering problem: order the top-n values of a trait so that as much transition
traffic as possible flows forward (weighted: an oriented arc u -> v, oriented by net flow,
earns its net traffic when u comes before v; unweighted: it earns 1). Solved exactly as an
integer program (x_uv = u before v, for u < v; transitivity on every triple) with HiGHS through
scipy.optimize.milp; optimality is checked, not assumed. The paper's two metrics: the share of
oriented arcs consistent with the order, and the share of all transitions among the values
that flow forward.

Uncertainty: the order is re-solved on family-level bootstrap resamples of the transitions
(families are drawn with replacement, their transition counts summed), giving each value a
distribution of ranks and each resample a Kendall tau with the point order. A fast heuristic
(sort by net out-flow) is solved alongside, to show what exactness buys.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.stats import kendalltau

from hubanatomy.drift.measures import top_values, transition_counts

log = logging.getLogger(__name__)


class NotSolvedError(RuntimeError):
    """The solver stopped without a proven optimum."""


def _triples_matrix(n: int) -> tuple[sp.csr_matrix, np.ndarray, dict]:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    index = {p: k for k, p in enumerate(pairs)}
    rows, cols, vals, upper = [], [], [], []
    r = 0
    for i, j, k in itertools.combinations(range(n), 3):
        a, b, c = index[(i, j)], index[(j, k)], index[(i, k)]
        # i<j and j<k imply i<k ; i>j and j>k imply i>k
        rows += [r, r, r, r + 1, r + 1, r + 1]
        cols += [a, b, c, a, b, c]
        vals += [1, 1, -1, -1, -1, 1]
        upper += [1, 0]
        r += 2
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(r, len(pairs)))
    return matrix, np.asarray(upper, dtype=float), index


def solve_ordering(gain: np.ndarray) -> tuple[list[int], float]:
    """An order (indices, first = most upstream) maximising sum of gain[u, v] over u before v,
    and that maximum. Gains are integers (counts); among optimal orders the one closest to the
    net out-flow heuristic is returned (a tie-break worth less than one unit in total, so it
    never changes the optimum). Raises NotSolvedError unless HiGHS proves optimality."""
    n = gain.shape[0]
    if n <= 1:
        return list(range(n)), 0.0
    matrix, upper, index = _triples_matrix(n)
    pairs = list(index)
    hint = np.empty(n, dtype=int)
    hint[np.asarray(heuristic_ordering(gain), dtype=int)] = np.arange(n)
    epsilon = 0.5 / len(pairs)
    tie_break = np.array([epsilon if hint[i] < hint[j] else -epsilon for i, j in pairs])
    # x_uv = 1: u before v (u < v); gain[u,v] x + gain[v,u] (1 - x)
    cost = -(np.array([gain[i, j] - gain[j, i] for i, j in pairs], dtype=float) + tie_break)
    constraints = [LinearConstraint(matrix, -np.inf, upper)] if matrix.shape[0] else []
    result = milp(cost, constraints=constraints, integrality=np.ones(len(pairs)),
                  bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if result.status != 0 or result.x is None:
        raise NotSolvedError(f"linear ordering not solved to optimality: {result.message}")
    x = np.round(result.x).astype(int)
    before = np.zeros((n, n), dtype=int)
    for (i, j), v in zip(pairs, x, strict=True):
        before[i, j], before[j, i] = v, 1 - v
    order = sorted(range(n), key=lambda u: -before[u].sum())
    position = np.empty(n, dtype=int)
    position[np.asarray(order)] = np.arange(n)
    objective = float(gain[position[:, None] < position[None, :]].sum())
    return order, objective


def heuristic_ordering(flows: np.ndarray) -> list[int]:
    """Sort by net out-flow (out minus in), most upstream first; ties by index."""
    net_out = flows.sum(axis=1) - flows.sum(axis=0)
    return sorted(range(flows.shape[0]), key=lambda u: (-net_out[u], u))


def gains(flows: np.ndarray, weighting: str) -> np.ndarray:
    """weighted: net traffic of each oriented arc; unweighted: 1 per oriented arc."""
    net = np.maximum(flows - flows.T, 0).astype(float)
    return net if weighting == "weighted" else (net > 0).astype(float)


def order_metrics(order: list[int], flows: np.ndarray) -> dict:
    """The paper's metrics of an order: oriented arcs consistent with it, transitions forward."""
    position = np.empty(len(order), dtype=int)
    position[np.asarray(order, dtype=int)] = np.arange(len(order))
    forward = position[:, None] < position[None, :]
    net = flows - flows.T
    oriented = net > 0
    consistent = int((oriented & forward).sum())
    total_arcs = int(oriented.sum())
    moving = float(flows.sum())
    return {"arcs_consistent": consistent, "arcs_total": total_arcs,
            "arcs_share": consistent / total_arcs if total_arcs else np.nan,
            "mutations_forward": float(flows[forward].sum()), "mutations_total": moving,
            "mutations_share": float(flows[forward].sum()) / moving if moving else np.nan}


def flow_matrices(counts: pl.DataFrame, values: list[str]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Total flows (n x n) among values, and per family (families x n*n, sparse)."""
    n = len(values)
    index = {v: i for i, v in enumerate(values)}
    c = counts.filter(pl.col("source").is_in(values) & pl.col("target").is_in(values)
                      & (pl.col("source") != pl.col("target")))
    cell = (c["source"].replace_strict(index).to_numpy() * n
            + c["target"].replace_strict(index).to_numpy())
    families, family_row = np.unique(c["family"].to_numpy(), return_inverse=True)
    per_family = sp.csr_matrix((c["count"].to_numpy().astype(float), (family_row, cell)),
                               shape=(len(families), n * n))
    total = np.asarray(per_family.sum(axis=0)).reshape(n, n)
    return total, per_family


def bootstrap_orders(per_family: sp.csr_matrix, n: int, replicates: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranks (replicates x n, 1 = upstream) of the exact weighted order and of the heuristic,
    re-solved on family resamples."""
    rng = np.random.default_rng(seed)
    n_families = per_family.shape[0]
    exact = np.zeros((replicates, n), dtype=int)
    heuristic = np.zeros((replicates, n), dtype=int)
    for b in range(replicates):
        weights = np.bincount(rng.integers(0, max(n_families, 1), n_families),
                              minlength=n_families).astype(float)
        flows = np.asarray(per_family.T @ weights).reshape(n, n)
        for ranks, order in ((exact, solve_ordering(gains(flows, "weighted"))[0]),
                             (heuristic, heuristic_ordering(flows))):
            ranks[b, np.asarray(order, dtype=int)] = np.arange(1, n + 1)
    return exact, heuristic


ORDERING_SCHEMA = {
    "trait": pl.String, "variant": pl.String, "weighting": pl.String, "method": pl.String,
    "rank": pl.Int64, "value": pl.String, "models": pl.Int64, "class": pl.String,
    "rank_median": pl.Float64, "rank_low": pl.Float64, "rank_high": pl.Float64,
    "objective": pl.Float64, "arcs_consistent": pl.Int64, "arcs_total": pl.Int64,
    "arcs_share": pl.Float64, "mutations_forward": pl.Float64, "mutations_total": pl.Float64,
    "mutations_share": pl.Float64}
AGREEMENT_SCHEMA = {
    "trait": pl.String, "variant": pl.String, "method": pl.String, "values": pl.Int64,
    "resamples": pl.Int64, "tau_mean": pl.Float64, "tau_low": pl.Float64,
    "tau_high": pl.Float64, "tau_exact_vs_heuristic": pl.Float64, "families": pl.Int64}
# the concatenated tables of all traits (results/tables/orderings.csv, ordering_agreement.csv)
TABLE_SCHEMAS = {"orderings": ORDERING_SCHEMA, "ordering_agreement": AGREEMENT_SCHEMA}
# which values compete for the top n: those taking part in a transition of the variant (the
# paper's code), or all values by number of models (a value without transitions then has no
# place in an order and is left out of it)
VALUES_FROM = ("transitions", "models")


def values_to_order(counts: pl.DataFrame, traits: pl.DataFrame, trait: str, top_n: int,
                    values_from: str) -> pl.DataFrame:
    """The values to order (value, models): the top_n by number of models, among the values in
    at least one transition (values_from='transitions') or among all; either way only values
    that take part in a transition among the chosen ones are kept."""
    if values_from not in VALUES_FROM:
        raise ValueError(f"orderings.values_from must be one of {VALUES_FROM}")
    moving = pl.concat([counts["source"], counts["target"]]).unique().implode()
    if values_from == "transitions":
        ranked = top_values(traits.select(pl.col(trait).list.eval(
            pl.element().filter(pl.element().is_in(moving)))), trait, top_n)
    else:
        ranked = top_values(traits, trait, top_n)
    chosen = ranked["value"].implode()
    among = counts.filter(pl.col("source").is_in(chosen) & pl.col("target").is_in(chosen)
                          & (pl.col("source") != pl.col("target")))
    taking_part = pl.concat([among["source"], among["target"]]).unique().implode()
    return ranked.filter(pl.col("value").is_in(taking_part)).select("value", "models")


def ordering_analysis(frames: dict[str, pl.DataFrame], traits: pl.DataFrame, trait: str,
                      top_n: int, replicates: int, seed: int,
                      value_class: dict | None = None,
                      values_from: str = "transitions") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(orderings rows, agreement rows) of one trait on every variant; a variant whose values
    have no transition among them gives no rows (the log says so)."""
    rows, agreement = [], []
    for variant, frame in frames.items():
        counts = transition_counts(frame, trait)
        top = values_to_order(counts, traits, trait, top_n, values_from)
        values = top["value"].to_list()
        models = dict(zip(values, top["models"].to_list(), strict=True))
        n = len(values)
        if n < 2:
            log.warning("%s, %s graph: no transition among its values (%d edges): no order",
                        trait, variant, frame.height)
            continue
        flows, per_family = flow_matrices(counts, values)
        boot_exact, boot_heuristic = bootstrap_orders(per_family, n, replicates, seed)
        point = {}
        for weighting in ("weighted", "unweighted"):
            order, objective = solve_ordering(gains(flows, weighting))
            point[(weighting, "exact")] = (order, objective)
        point[("weighted", "heuristic")] = (heuristic_ordering(flows), np.nan)
        for (weighting, method), (order, objective) in point.items():
            metrics = order_metrics(order, flows)
            boot = {("weighted", "exact"): boot_exact,
                    ("weighted", "heuristic"): boot_heuristic}.get((weighting, method))
            for rank, u in enumerate(order, start=1):
                row = {"trait": trait, "variant": variant, "weighting": weighting,
                       "method": method, "rank": rank, "value": values[u],
                       "models": models[values[u]],
                       "class": (value_class or {}).get(values[u], ""),
                       "rank_median": np.nan, "rank_low": np.nan, "rank_high": np.nan,
                       "objective": objective, **metrics}
                if boot is not None:
                    row.update(rank_median=float(np.median(boot[:, u])),
                               rank_low=float(np.percentile(boot[:, u], 2.5)),
                               rank_high=float(np.percentile(boot[:, u], 97.5)))
                rows.append(row)
        exact_ranks = np.empty(n, dtype=int)
        exact_ranks[np.asarray(point[("weighted", "exact")][0], dtype=int)] = np.arange(1, n + 1)
        for method, boot in (("exact", boot_exact), ("heuristic", boot_heuristic)):
            taus = np.array([kendalltau(exact_ranks, r)[0] for r in boot]) if n > 1 else []
            heuristic_point = np.empty(n, dtype=int)
            heuristic_point[np.asarray(point[("weighted", "heuristic")][0], dtype=int)] = (
                np.arange(1, n + 1))
            agreement.append({
                "trait": trait, "variant": variant, "method": method, "values": n,
                "resamples": replicates,
                "tau_mean": float(np.nanmean(taus)) if len(taus) else np.nan,
                "tau_low": float(np.nanpercentile(taus, 2.5)) if len(taus) else np.nan,
                "tau_high": float(np.nanpercentile(taus, 97.5)) if len(taus) else np.nan,
                "tau_exact_vs_heuristic": float(kendalltau(exact_ranks, heuristic_point)[0])
                if n > 1 else np.nan,
                "families": per_family.shape[0],
            })
    return (pl.DataFrame(rows, schema=ORDERING_SCHEMA),
            pl.DataFrame(agreement, schema=AGREEMENT_SCHEMA))
