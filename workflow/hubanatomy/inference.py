"""Inference for lineage data. Edges of one family are not independent (siblings share a
parent, a parent's traits reach all its descendants), so every interval resamples whole
families and every test clusters by family.

* `FamilyBootstrap`: means of edge values (or of their differences) with percentile intervals
  from a bootstrap over families; all statistics of one graph share the same resamples, drawn
  once from the seed, and are computed in a single matrix product per chunk of resamples.
* `clustered_mean_test`, `clustered_regression`: OLS with cluster-robust (family) standard
  errors (statsmodels) and t tests on G - 1 degrees of freedom (G = number of families, the
  usual small-cluster correction), for paired differences and effects of the relation type.
  With fewer than MIN_FAMILIES families no test is run (p is NaN): cluster-robust errors from
  a handful of families are not to be trusted.
* `sign_flip_pvalues`: a family-level sign-flip permutation test for net flows.
* `benjamini_hochberg`: q-values across a whole table of tests.
"""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

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


def clustered_mean_test(values: np.ndarray, families: np.ndarray, null: float = 0.0) -> dict:
    """H0: mean(values) == null, with family-clustered standard errors."""
    result = _ols(values - null, np.ones((len(values), 1)), families)
    if result is None:
        return _empty_test(len(values), families)
    low, high = result.conf_int()[0]
    return {"statistic": float(result.tvalues[0]), "effect": float(result.params[0]),
            "low": float(low), "high": float(high), "p": float(result.pvalues[0]),
            "n_edges": len(values), "n_families": int(len(np.unique(families)))}


def clustered_regression(values: np.ndarray, groups: np.ndarray, baseline: str,
                         families: np.ndarray) -> dict[str, dict]:
    """values ~ group indicators (baseline omitted), family-clustered: per non-baseline group,
    its difference from the baseline group."""
    levels = [g for g in sorted(set(groups.tolist())) if g != baseline]
    if baseline not in set(groups.tolist()) or not levels:
        return {}
    design = np.column_stack([np.ones(len(values))] +
                             [(groups == g).astype(float) for g in levels])
    result = _ols(values, design, families)
    if result is None:
        return {}
    ci = result.conf_int()
    n_families = int(len(np.unique(families)))
    return {g: {"statistic": float(result.tvalues[i + 1]), "effect": float(result.params[i + 1]),
                "low": float(ci[i + 1][0]), "high": float(ci[i + 1][1]),
                "p": float(result.pvalues[i + 1]), "n_edges": int((groups == g).sum()),
                "n_families": n_families}
            for i, g in enumerate(levels)}


def _ols(y: np.ndarray, x: np.ndarray, families: np.ndarray):
    codes, n_clusters = factorize(families)
    if len(y) < 3 or n_clusters < MIN_FAMILIES or not np.isfinite(y).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns in tiny subsets
        return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)


def _empty_test(n: int, families: np.ndarray) -> dict:
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
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q
