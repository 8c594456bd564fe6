"""hubanatomy.stats.inference: family bootstrap, cluster-robust tests, sign flips, BH q-values.

Expected values come from hand computation on tiny inputs or from references computed here
independently (plain loops, an i.i.d. bootstrap, a leave-one-family-out refit loop, exhaustive
enumeration of sign flips, statsmodels and scipy called directly)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from hubanatomy.stats.inference import (
    MIN_FAMILIES,
    FamilyBootstrap,
    benjamini_hochberg,
    clustered_mean_test,
    clustered_regression,
    family_sign_flip_test,
    sign_flip_pvalues,
)


def _iid_bootstrap_width(values: np.ndarray, replicates: int, seed: int,
                         level: float = 0.95) -> float:
    """Percentile interval width of the mean from an ordinary (edge-level) bootstrap."""
    rng = np.random.default_rng(seed)
    n = len(values)
    means = np.array([values[rng.integers(0, n, n)].mean() for _ in range(replicates)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return high - low


def _width(stat: dict) -> float:
    return stat["high"] - stat["low"]


# --- FamilyBootstrap --------------------------------------------------------------------

def test_bootstrap_point_estimate_is_the_masked_mean_and_inside_its_interval():
    rng = np.random.default_rng(0)
    n = 500
    families = rng.integers(0, 60, n).astype(str)  # arbitrary labels, not codes
    values = rng.normal(3.0, 2.0, n)
    mask = rng.random(n) < 0.6
    other = rng.random(n) < 0.2
    boot = FamilyBootstrap(families, replicates=400, seed=1)
    boot.add("x", values, mask)
    boot.add("y", values ** 2, other)
    out = boot.compute()
    assert set(out) == {"x", "y"}
    expected_x = sum(v for v, m in zip(values, mask, strict=True) if m) / mask.sum()
    expected_y = sum(v * v for v, m in zip(values, other, strict=True) if m) / other.sum()
    assert out["x"]["mean"] == pytest.approx(expected_x, rel=1e-12)
    assert out["y"]["mean"] == pytest.approx(expected_y, rel=1e-12)
    for s in out.values():
        assert s["low"] < s["mean"] < s["high"]
    # values outside the mask do not influence anything
    poisoned = values.copy()
    poisoned[~mask] = 1e9
    boot2 = FamilyBootstrap(families, replicates=400, seed=1)
    boot2.add("x", poisoned, mask)
    alone = boot2.compute()["x"]
    for key in ("mean", "low", "high"):
        assert alone[key] == pytest.approx(out["x"][key], rel=1e-12)


def test_bootstrap_counts_edges_and_families():
    families = np.array(["a", "a", "b", "b", "b", "c", "d", "d"])
    values = np.arange(8, dtype=float)
    mask = np.array([True, False, False, True, True, False, True, True])
    boot = FamilyBootstrap(families, replicates=50, seed=3)
    boot.add("m", values, mask)
    boot.add("none", values, np.zeros(8, dtype=bool))
    out = boot.compute()
    assert out["m"]["n_edges"] == 5
    assert out["m"]["n_families"] == 3  # a, b, d
    assert out["m"]["mean"] == pytest.approx((0 + 3 + 4 + 6 + 7) / 5)
    # every resampled mean is a weighted mean of family means, so the interval stays
    # within the smallest and largest family mean (a: 0, b: 3.5, d: 6.5)
    assert 0.0 <= out["m"]["low"] <= out["m"]["high"] <= 6.5
    assert out["none"]["n_edges"] == 0 and out["none"]["n_families"] == 0
    assert np.isnan(out["none"]["mean"])
    assert FamilyBootstrap(families, 10, 0).compute() == {}


def test_bootstrap_with_one_family_per_edge_matches_an_iid_bootstrap():
    rng = np.random.default_rng(5)
    n = 400
    values = rng.exponential(2.0, n)
    boot = FamilyBootstrap(np.arange(n), replicates=2000, seed=11)
    boot.add("m", values, np.ones(n, dtype=bool))
    s = boot.compute()["m"]
    iid = _iid_bootstrap_width(values, 2000, seed=99)
    assert 0.85 < _width(s) / iid < 1.15
    # and both agree with the textbook normal-theory width 2 * 1.96 * sd / sqrt(n)
    normal = 2 * 1.959964 * values.std(ddof=1) / np.sqrt(n)
    assert 0.85 < _width(s) / normal < 1.15


def test_bootstrap_interval_widens_when_edges_cluster():
    rng = np.random.default_rng(8)
    big, singles = 300, 5
    values = rng.normal(0.0, 1.0, big + singles)
    families = np.array([0] * big + list(range(1, singles + 1)))
    boot = FamilyBootstrap(families, replicates=1000, seed=2)
    boot.add("m", values, np.ones(len(values), dtype=bool))
    s = boot.compute()["m"]
    iid = _iid_bootstrap_width(values, 1000, seed=2)
    assert s["n_families"] == singles + 1
    assert _width(s) > 4 * iid, (_width(s), iid)


def test_bootstrap_same_seed_same_output_other_seed_differs():
    rng = np.random.default_rng(1)
    families = rng.integers(0, 30, 200)
    values = rng.normal(size=200)
    mask = np.ones(200, dtype=bool)

    def run(seed, replicates=250):  # 250: not a multiple of the chunk size
        boot = FamilyBootstrap(families, replicates=replicates, seed=seed)
        boot.add("m", values, mask)
        boot.add("h", values, values > 0)
        return boot.compute()

    a, b, c = run(7), run(7), run(8)
    assert a == b
    assert a["m"]["mean"] == c["m"]["mean"]
    assert (a["m"]["low"], a["m"]["high"]) != (c["m"]["low"], c["m"]["high"])


# --- clustered_mean_test, clustered_regression (family jackknife) -----------------------

def _jackknife(estimate, values: np.ndarray, families: np.ndarray) -> float:
    """Leave-one-family-out (CR3) standard error of estimate(values subset), by a plain loop
    of refits."""
    labels = sorted(set(families.tolist()))
    g = len(labels)
    leave_out = [estimate(values[families != label], families != label) for label in labels]
    centre = sum(leave_out) / g
    return float(np.sqrt((g - 1) / g * sum((b - centre) ** 2 for b in leave_out)))


def test_clustered_mean_test_is_a_family_jackknife_t_test():
    rng = np.random.default_rng(4)
    families = np.repeat(np.arange(15), rng.integers(1, 8, 15))
    values = rng.normal(0.4, 1.0, len(families)) + rng.normal(0, 0.5, 15)[families]
    null = 0.1
    result = clustered_mean_test(values, families, null=null)

    mean = sum(values) / len(values) - null
    se = _jackknife(lambda v, _: v.mean() - null, values, families)
    t = mean / se
    assert result["effect"] == pytest.approx(mean, rel=1e-10)
    assert result["statistic"] == pytest.approx(t, rel=1e-8)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t), df=14), rel=1e-6)
    half = stats.t.ppf(0.975, 14) * se  # t quantiles on G - 1 degrees of freedom
    assert (result["low"], result["high"]) == pytest.approx((mean - half, mean + half),
                                                            rel=1e-8)
    assert result["n_edges"] == len(values) and result["n_families"] == 15
    # the same point estimate as statsmodels' OLS, with the same t reference distribution
    fit = sm.OLS(values - null, np.ones((len(values), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": families}, use_t=True)
    assert result["effect"] == pytest.approx(fit.params[0], rel=1e-10)
    assert fit.df_resid_inference == 14


def test_clustered_mean_test_needs_enough_families():
    rng = np.random.default_rng(2)
    few = np.repeat(np.arange(MIN_FAMILIES - 1), 5)
    result = clustered_mean_test(rng.normal(size=len(few)), few)
    assert np.isnan(result["p"]) and np.isnan(result["statistic"])
    assert np.isnan(result["effect"]) and np.isnan(result["low"])
    assert result["n_edges"] == len(few) and result["n_families"] == MIN_FAMILIES - 1
    enough = np.repeat(np.arange(MIN_FAMILIES), 5)
    assert np.isfinite(clustered_mean_test(rng.normal(size=len(enough)), enough)["p"])
    # a non-finite value makes the test refuse rather than propagate NaN silently
    bad = rng.normal(size=len(enough))
    bad[3] = np.nan
    assert np.isnan(clustered_mean_test(bad, enough)["p"])


def _null_rejections(rng, sizes, repetitions, tests) -> dict[str, float]:
    """Share of p < 0.05 under H0 (mean 0) with a family random effect as strong as the
    edge noise."""
    families = np.repeat(np.arange(len(sizes)), sizes)
    rejected = dict.fromkeys(tests, 0)
    for _ in range(repetitions):
        values = (rng.normal(0, 1.0, len(sizes))[families]
                  + rng.normal(0, 1.0, len(families)))
        for name, test in tests.items():
            rejected[name] += test(values, families) < 0.05
    return {name: count / repetitions for name, count in rejected.items()}


def _cr1_p(values, families) -> float:
    return sm.OLS(values, np.ones((len(values), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": families}, use_t=True).pvalues[0]


NULL_TESTS = {
    "jackknife": lambda v, f: clustered_mean_test(v, f)["p"],
    "sign_flip": lambda v, f: family_sign_flip_test(v, f, 0.0, 200, 1)["p"],
    "naive": lambda v, f: stats.ttest_1samp(v, 0.0).pvalue,
    "cr1": _cr1_p,
}


def test_family_tests_keep_their_size_where_a_naive_t_test_does_not():
    """40 families of 30 edges: the family-clustered tests reject about 5% of the time under
    H0; the i.i.d. t-test, blind to the clustering, far more often."""
    rates = _null_rejections(np.random.default_rng(20250809), np.full(40, 30), 200, NULL_TESTS)
    for name in ("jackknife", "sign_flip", "cr1"):
        assert 0.01 <= rates[name] < 0.10, rates
    assert rates["naive"] > 0.4 and rates["naive"] > 4 * rates["jackknife"], rates


def test_family_tests_keep_their_size_with_one_dominant_family():
    """One family of 1,500 edges and 39 of 1-5 (the Hub's shape): the sandwich (CR1) errors
    see almost no between-family variation and reject nearly always; the jackknife and the
    sign flips do not."""
    rng = np.random.default_rng(1)
    sizes = np.array([1500, *rng.integers(1, 6, 39)])
    rates = _null_rejections(rng, sizes, 200, NULL_TESTS)
    for name in ("jackknife", "sign_flip"):
        assert rates[name] < 0.10, rates
    assert rates["cr1"] > 0.5 and rates["naive"] > 0.5, rates


def test_clustered_regression_coefficients_are_differences_of_group_means():
    rng = np.random.default_rng(6)
    n = 240
    families = rng.integers(0, 24, n)
    groups = rng.choice(np.array(["finetune", "adapter", "merge"]), n)
    shift = {"finetune": 1.0, "adapter": -2.0, "merge": 0.5}
    values = np.array([shift[g] for g in groups]) + rng.normal(0, 1, n)
    out = clustered_regression(values, groups, "finetune", families)
    assert set(out) == {"adapter", "merge"}

    def difference(name):
        def estimate(v, keep):
            g = groups[keep]
            return v[g == name].mean() - v[g == "finetune"].mean()
        return estimate

    for g in ("adapter", "merge"):
        chosen = [v for v, x in zip(values, groups, strict=True) if x == g]
        base = [v for v, x in zip(values, groups, strict=True) if x == "finetune"]
        effect = sum(chosen) / len(chosen) - sum(base) / len(base)
        assert out[g]["effect"] == pytest.approx(effect, rel=1e-9)
        se = _jackknife(difference(g), values, families)
        assert out[g]["statistic"] == pytest.approx(effect / se, rel=1e-6)
        half = stats.t.ppf(0.975, 23) * se
        assert (out[g]["low"], out[g]["high"]) == pytest.approx((effect - half, effect + half),
                                                                rel=1e-6)
        assert out[g]["n_edges"] == int((groups == g).sum())
        assert out[g]["n_families"] == 24
    assert out["adapter"]["p"] < 1e-6  # a shift of -3 standard deviations


def test_clustered_regression_without_baseline_or_other_groups_or_families():
    rng = np.random.default_rng(0)
    families = np.arange(30) % 12
    values = rng.normal(size=30)
    assert clustered_regression(values, np.array(["adapter"] * 30), "finetune", families) == {}
    assert clustered_regression(values, np.array(["finetune"] * 30), "finetune", families) == {}
    groups = np.array(["finetune", "adapter"] * 15)
    few = clustered_regression(values, groups, "finetune", families % 5)  # 5 families
    assert set(few) == {"adapter"} and np.isnan(few["adapter"]["p"])  # reported, untested
    assert few["adapter"]["n_edges"] == 15


def test_clustered_regression_keeps_testable_groups_when_one_is_not():
    rng = np.random.default_rng(4)
    families = np.concatenate([np.arange(40), np.arange(40), np.full(25, 99)])
    groups = np.array(["finetune"] * 40 + ["adapter"] * 40 + ["merge"] * 25)
    values = rng.normal(size=len(groups)) + (groups == "adapter") * 1.0
    result = clustered_regression(values, groups, "finetune", families)
    assert np.isnan(result["merge"]["p"])  # all merges in one family: no evidence
    assert result["adapter"]["p"] < 0.05
    expected = values[groups == "adapter"].mean() - values[groups == "finetune"].mean()
    assert result["adapter"]["effect"] == pytest.approx(expected)


# --- family_sign_flip_test --------------------------------------------------------------

def test_family_sign_flip_test_by_hand_and_by_enumeration():
    rng = np.random.default_rng(13)
    families = np.repeat(np.arange(10), rng.integers(1, 6, 10))
    values = rng.normal(0.3, 1.0, len(families))
    null = 0.1
    result = family_sign_flip_test(values, families, null, 20_000, seed=2)
    deviation = [sum(v - null for v, f in zip(values, families, strict=True) if f == g)
                 for g in range(10)]
    assert result["statistic"] == pytest.approx(sum(deviation) / sum(map(abs, deviation)))
    assert result["effect"] == pytest.approx(values.mean(), rel=1e-12)  # the mean itself
    assert result["low"] < result["effect"] < result["high"]
    assert result["n_edges"] == len(values) and result["n_families"] == 10
    # exact two-sided p: share of the 2^10 sign vectors with |sum| >= the observed |sum|
    observed = abs(sum(deviation))
    exact = np.mean([abs(np.dot(s, deviation)) >= observed - 1e-9
                     for s in itertools.product([-1, 1], repeat=10)])
    assert result["p"] == pytest.approx(exact, abs=0.01)


def test_family_sign_flip_test_extremes():
    n = 25
    families = np.repeat(np.arange(n), 3)
    same_way = np.full(len(families), 0.8)
    result = family_sign_flip_test(same_way, families, 0.5, 300, seed=1)
    assert result["p"] == 1 / 301 and result["statistic"] == pytest.approx(1.0)
    assert result["effect"] == pytest.approx(0.8)
    few = family_sign_flip_test(same_way[:9], families[:9], 0.5, 300, seed=1)  # 3 families
    assert np.isnan(few["p"]) and few["n_families"] == 3 and few["n_edges"] == 9
    at_null = family_sign_flip_test(np.full(len(families), 0.5), families, 0.5, 300, seed=1)
    assert at_null["p"] == 1.0 and at_null["statistic"] == 0.0


# --- sign_flip_pvalues ------------------------------------------------------------------

def test_sign_flip_directedness_by_hand():
    # families x pairs of n(i->j) - n(j->i):
    #   pair 0: family 0 3 up / 0 down, family 1 2 up / 1 down, family 2 0 up / 2 down
    #   pair 1: family 0 0 up / 1 down, family 2 3 up / 1 down
    contributions = sp.csr_matrix(np.array([[3.0, -1.0], [1.0, 0.0], [-2.0, 2.0]]))
    totals = np.array([3 + 3 + 2, 1 + 4], dtype=float)
    statistic, p, pair_p = sign_flip_pvalues(contributions, totals, 20_000, seed=1)
    assert statistic == pytest.approx((abs(3 + 1 - 2) + abs(-1 + 2)) / 13)

    # exact permutation p-values by enumerating all 2^3 sign vectors
    dense = contributions.toarray()
    observed = np.abs(dense.sum(axis=0))
    flips = [np.abs(np.array(s) @ dense) for s in itertools.product([-1, 1], repeat=3)]
    exact = np.mean([f.sum() >= observed.sum() - 1e-9 for f in flips])
    exact_pair = np.mean([f >= observed - 1e-9 for f in flips], axis=0)
    assert p == pytest.approx(exact, abs=0.015)
    assert pair_p == pytest.approx(exact_pair, abs=0.015)


def test_sign_flip_single_family_is_never_significant():
    contributions = sp.csr_matrix(np.array([[5.0, -3.0, 7.0]]))
    statistic, p, pair_p = sign_flip_pvalues(contributions, np.array([5.0, 3.0, 9.0]), 300, 4)
    assert statistic == pytest.approx(15 / 17)
    assert p == 1.0
    assert np.all(pair_p == 1.0)


def test_sign_flip_many_families_one_way_gives_the_minimum_p():
    replicates = 300
    n_families = 25
    contributions = sp.csr_matrix(np.column_stack([np.ones(n_families),
                                                   np.full(n_families, 2.0)]))
    totals = np.array([n_families, 2.0 * n_families])
    statistic, p, pair_p = sign_flip_pvalues(contributions, totals, replicates, seed=9)
    assert statistic == 1.0
    assert p == 1 / (replicates + 1)
    assert np.all(pair_p == 1 / (replicates + 1))


def test_sign_flip_same_seed_same_result():
    rng = np.random.default_rng(3)
    contributions = sp.csr_matrix(rng.integers(-3, 4, size=(15, 6)).astype(float))
    totals = np.abs(contributions.toarray()).sum(axis=0) + 1
    a = sign_flip_pvalues(contributions, totals, 250, seed=5)
    b = sign_flip_pvalues(contributions, totals, 250, seed=5)
    assert a[0] == b[0] and a[1] == b[1] and np.array_equal(a[2], b[2])


# --- benjamini_hochberg -----------------------------------------------------------------

def _bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def test_benjamini_hochberg_by_hand_and_against_statsmodels():
    assert benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005])) == pytest.approx(
        [0.02, 0.04, 0.04, 0.02])
    rng = np.random.default_rng(12)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, size=10)])
    p[[3, 17, 44]] = np.nan
    q = benjamini_hochberg(p)
    finite = np.isfinite(p)
    assert np.isnan(q[~finite]).all() and np.isfinite(q[finite]).all()
    assert q[finite] == pytest.approx(multipletests(p[finite], method="fdr_bh")[1], rel=1e-12)
    assert q[finite] == pytest.approx(_bh_by_hand(p[finite].tolist()), rel=1e-12)
    assert np.isnan(benjamini_hochberg(np.array([np.nan, np.nan]))).all()
    assert len(benjamini_hochberg(np.array([]))) == 0
