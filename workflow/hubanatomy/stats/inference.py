"""Inference for lineage data. Edges of one family are not independent (siblings share a
parent, a parent's traits reach all its descendants), so every interval resamples whole
families and every test clusters by family.

* `FamilyBootstrap`: means of edge values (or of their differences) with percentile intervals
  from a bootstrap over families; all statistics of one graph share the same resamples, drawn
  once from the seed, and are computed in a single matrix product per chunk of resamples.
* `family_sign_flip_test`: is the edge mean of some values (a parent/child difference, a
  direction indicator) different from a null value? Each family's summed deviation from the
  null is sign-flipped at random (valid when, under H0, a family's parent and child values are
  exchangeable). Its reference distribution is driven by the largest families, so one base
  model with thousands of edges counts as one unit of evidence, not thousands: with the Hub's
  extremely unequal family sizes, t tests (even with cluster-robust errors) reject far too
  often on the simulator's null model, this test does not.
* `clustered_mean_test`, `clustered_regression`: OLS (statsmodels) with family-jackknife
  standard errors (the CR3 cluster-robust variance: leave one family out, refit) and t tests on
  G - 1 degrees of freedom (G = number of families). Family sizes on the Hub are extremely
  unequal (one base model can have 30,000 descendants); the usual sandwich (CR1) errors then
  understate the variance because the largest family drags the fit toward itself, and the
  simulator's null model rejects far too often with them. The jackknife does not.
  With fewer than MIN_FAMILIES families no test is run (p is NaN).
* `sign_flip_pvalues`: a family-level sign-flip permutation test for net flows.
* `benjamini_hochberg`: q-values across a whole table of tests.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CHUNK = 100  # resamples per matrix product
MIN_FAMILIES = 10


def factorize(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense 0..C-1 codes of arbitrary cluster labels, and C."""
    uniques, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64), len(uniques)


class FamilyBootstrap:
    """Register statistics (`add`), then `compute` all of them at once."""

    def __init__(self, families: np.ndarray, replicates: int, seed: int, level: float = 0.95):
        self.codes, self.n_families = factorize(families)
        self.replicates, self.seed, self.level = replicates, seed, level
        self._names: list[str] = []
        self._sums: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._edges: list[int] = []
        self._families: list[int] = []

    def add(self, name: str, values: np.ndarray, mask: np.ndarray) -> None:
        """The mean of values[mask] over edges (values aligned with the families array)."""
        codes = self.codes[mask]
        self._names.append(name)
        self._sums.append(np.bincount(codes, weights=values[mask].astype(float),
                                      minlength=self.n_families))
        self._counts.append(np.bincount(codes, minlength=self.n_families).astype(float))
        self._edges.append(int(mask.sum()))
        self._families.append(int(len(np.unique(codes))))

    def compute(self) -> dict[str, dict]:
        """name -> {mean, low, high, n_edges, n_families}."""
        if not self._names:
            return {}
        sums = np.column_stack(self._sums)
        counts = np.column_stack(self._counts)
        rng = np.random.default_rng(self.seed)
        boot_sums, boot_counts = [], []
        for start in range(0, self.replicates, CHUNK):
            size = min(CHUNK, self.replicates - start)
            # how often each family is drawn in each resample
            weights = np.zeros((size, self.n_families), dtype=np.float64)
            draws = rng.integers(0, self.n_families, size=(size, self.n_families))
            for row in range(size):
                weights[row] = np.bincount(draws[row], minlength=self.n_families)
            boot_sums.append(weights @ sums)
            boot_counts.append(weights @ counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.vstack(boot_sums) / np.vstack(boot_counts)
        tail = (1 - self.level) / 2 * 100
        out = {}
        for k, name in enumerate(self._names):
            total = counts[:, k].sum()
            column = means[:, k][np.isfinite(means[:, k])]
            low, high = (np.percentile(column, [tail, 100 - tail]) if len(column)
                         else (np.nan, np.nan))
            out[name] = {"mean": sums[:, k].sum() / total if total else np.nan,
                         "low": float(low), "high": float(high),
                         "n_edges": self._edges[k], "n_families": self._families[k]}
        return out


def family_sign_flip_test(values: np.ndarray, families: np.ndarray, null: float,
                          replicates: int, seed: int) -> dict:
    """Edge mean of values vs null: family-bootstrap interval, family sign-flip p-value."""
    codes, n_families = factorize(families)
    if n_families < MIN_FAMILIES:
        return empty_test(len(values), families)
    deviation = np.bincount(codes, weights=values - null, minlength=n_families)
    per_family = sp.csr_matrix(deviation[:, None])
    _, p, _ = sign_flip_pvalues(per_family, np.array([np.abs(deviation).sum()]), replicates, seed)
    boot = FamilyBootstrap(families, replicates, seed)
    boot.add("mean", values, np.ones(len(values), dtype=bool))
    s = boot.compute()["mean"]
    return {"statistic": float(deviation.sum() / np.abs(deviation).sum())
            if np.abs(deviation).sum() else 0.0,
            "effect": s["mean"], "low": s["low"], "high": s["high"], "p": p,
            "n_edges": len(values), "n_families": n_families}


def clustered_mean_test(values: np.ndarray, families: np.ndarray, null: float = 0.0) -> dict:
    """H0: mean(values) == null, with family-jackknife (CR3) standard errors."""
    design = np.ones((len(values), 1))
    fit = _jackknife_ols(values - null, design, families)
    if fit is None:
        return empty_test(len(values), families)
    return _coefficient(fit, 0, len(values))


def clustered_slope_test(values: np.ndarray, x: np.ndarray, families: np.ndarray) -> dict:
    """The slope of values on x (with an intercept), family-jackknife errors."""
    if len(values) < 3 or len(np.unique(x)) < 2:
        return empty_test(len(values), families)
    fit = _jackknife_ols(values, np.column_stack([np.ones(len(x)), x]), families)
    return empty_test(len(values), families) if fit is None else _coefficient(
        fit, 1, len(values))


def clustered_regression(values: np.ndarray, groups: np.ndarray, baseline: str,
                         families: np.ndarray) -> dict[str, dict]:
    """Per non-baseline group g: values ~ 1 + [group == g] on the edges of g and the baseline,
    family-jackknife errors; the coefficient is g's mean minus the baseline's. A group found
    in fewer than MIN_FAMILIES families is reported untested (NaN), the others still are."""
    levels = [g for g in sorted(set(groups.tolist())) if g != baseline]
    if baseline not in set(groups.tolist()):
        return {}
    out = {}
    for g in levels:
        rows = (groups == g) | (groups == baseline)
        design = np.column_stack([np.ones(int(rows.sum())), (groups[rows] == g).astype(float)])
        enough = len(np.unique(families[groups == g])) >= MIN_FAMILIES
        fit = _jackknife_ols(values[rows], design, families[rows]) if enough else None
        out[g] = (_coefficient(fit, 1, int((groups == g).sum())) if fit is not None
                  else empty_test(int((groups == g).sum()), families[groups == g]))
    return out


def _jackknife_ols(y: np.ndarray, x: np.ndarray, families: np.ndarray) -> dict | None:
    """OLS fit and the leave-one-family-out covariance of its coefficients, from per-family
    sufficient statistics (no refit loop over edges)."""
    codes, n_families = factorize(families)
    if len(y) < 3 or n_families < MIN_FAMILIES or not np.isfinite(y).all():
        return None
    # statsmodels is imported where it is used: it takes 2 s, paid by every workflow job
    # that imports this module otherwise
    from statsmodels.regression.linear_model import OLS

    fit = OLS(y, x).fit()
    k = x.shape[1]
    # per-family X'X and X'y
    xx = np.zeros((n_families, k, k))
    xy = np.zeros((n_families, k))
    for i in range(k):
        xy[:, i] = np.bincount(codes, weights=x[:, i] * y, minlength=n_families)
        for j in range(i, k):
            xx[:, i, j] = xx[:, j, i] = np.bincount(codes, weights=x[:, i] * x[:, j],
                                                    minlength=n_families)
    rest_xx = xx.sum(axis=0) - xx
    rest_xy = xy.sum(axis=0) - xy
    with np.errstate(all="ignore"):
        # a family without which a coefficient is not identified leaves it undefined
        ok = np.abs(np.linalg.det(rest_xx)) > 1e-9
        if not ok.all():
            return None
        leave_out = np.linalg.solve(rest_xx, rest_xy[..., None])[..., 0]
    centred = leave_out - leave_out.mean(axis=0)
    covariance = (n_families - 1) / n_families * centred.T @ centred
    return {"params": fit.params, "se": np.sqrt(np.diag(covariance)), "families": n_families}


def _coefficient(fit: dict, i: int, n_edges: int) -> dict:
    from scipy import stats

    estimate, se, df = float(fit["params"][i]), float(fit["se"][i]), fit["families"] - 1
    t = estimate / se if se > 0 else (np.inf if estimate != 0 else 0.0)
    half = stats.t.ppf(0.975, df) * se
    return {"statistic": float(t), "effect": estimate, "low": estimate - half,
            "high": estimate + half, "p": float(2 * stats.t.sf(abs(t), df)),
            "n_edges": n_edges, "n_families": int(fit["families"])}


def empty_test(n: int, families: np.ndarray) -> dict:
    return {"statistic": np.nan, "effect": np.nan, "low": np.nan, "high": np.nan, "p": np.nan,
            "n_edges": n, "n_families": int(len(np.unique(families)))}


def sign_flip_pvalues(contributions, totals: np.ndarray, replicates: int,
                      seed: int) -> tuple[float, float, np.ndarray]:
    """Directedness of net flows and its family-level sign-flip test.

    contributions: sparse (families x pairs) matrix of n(i->j) - n(j->i) per family;
    totals: n(i->j) + n(j->i) per pair. Under H0 the direction of all of a family's flows could
    be reversed, so each family's contributions are flipped with probability 1/2.
    Returns (directedness = sum|net| / sum totals, p of that, p per pair)."""
    net = np.asarray(contributions.sum(axis=0)).ravel()
    observed = np.abs(net)
    statistic = observed.sum() / totals.sum() if totals.sum() else np.nan
    rng = np.random.default_rng(seed)
    exceed_total = 0
    exceed_pair = np.zeros(len(net))
    transposed = contributions.T.tocsr()
    n_families = contributions.shape[0]
    for start in range(0, replicates, CHUNK):
        size = min(CHUNK, replicates - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n_families, size))
        flipped = np.abs(transposed @ signs)  # pairs x size
        exceed_total += int((flipped.sum(axis=0) >= observed.sum() - 1e-9).sum())
        exceed_pair += (flipped >= observed[:, None] - 1e-9).sum(axis=1)
    # the observed arrangement counts as one of the permutations
    return (float(statistic), (exceed_total + 1) / (replicates + 1),
            (exceed_pair + 1) / (replicates + 1))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values; NaN p-values stay NaN and do not count as tests."""
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        from statsmodels.stats.multitest import multipletests  # slow import: see _jackknife_ols

        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q
