"""hubanatomy.licenses.audit: pair verdicts by the rule table, edge verdicts, rate tables.

Pair verdicts are written out by hand from the license terms the rule table cites; every rule
is checked to be documented and reachable from the license taxonomy; edge verdicts (worst over
the parent's licenses of the best over the child's) against hand cases and a plain-loop
reference; the rate tables against counts done by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import polars as pl
import pytest

from hubanatomy.drift.labels import license_taxonomy, value_classes
from hubanatomy.licenses.audit import (
    VERDICTS,
    audit_edges,
    audit_table,
    compatibility_rules,
    judge,
    top_violations,
)

STRINGS = pl.List(pl.String)
SEVERITY = {"compatible": 0, "undetermined": 1, "violation": 2}


@pytest.fixture(scope="module")
def rules() -> pl.DataFrame:
    return compatibility_rules()


@pytest.fixture(scope="module")
def classes() -> dict:
    return value_classes("licenses")


@pytest.fixture(scope="module")
def taxonomy_licenses() -> list[str]:
    return license_taxonomy()["license"].to_list()


# --- 6. pair verdicts -------------------------------------------------------------------

PAIRS = [
    ("llama3", "apache-2.0", "violation", "llama_terms_dropped"),
    ("llama3", "llama3", "compatible", "same_license"),
    ("llama3", "llama3.1", "undetermined", "other_llama_version"),
    ("gemma", "mit", "violation", "gemma_terms_dropped"),
    ("creativeml-openrail-m", "openrail++", "compatible", "rail_restrictions_kept"),
    ("openrail", "mit", "violation", "rail_restrictions_dropped"),
    ("cc-by-nc-4.0", "apache-2.0", "violation", "noncommercial_dropped"),
    ("cc-by-nc-4.0", "cc-by-nc-sa-4.0", "compatible", "noncommercial_kept"),
    ("cc-by-nc-4.0", "openrail", "undetermined", "noncommercial_other_restrictions"),
    ("cc-by-nc-sa-4.0", "cc-by-nc-4.0", "violation", "nc_sharealike_dropped"),
    ("cc-by-nc-sa-4.0", "cc-by-nc-sa-4.0", "compatible", "same_license"),
    ("cc-by-nd-4.0", "mit", "violation", "no_derivatives"),
    ("cc-by-nc-nd-4.0", "cc-by-nc-4.0", "violation", "no_derivatives"),
    ("gpl-3.0", "mit", "violation", "gpl_dropped"),
    ("gpl-2.0", "gpl-3.0", "undetermined", "gpl_version"),
    ("gpl-3.0", "agpl-3.0", "undetermined", "gpl_version"),
    ("agpl-3.0", "gpl-3.0", "violation", "agpl_dropped"),
    ("cc-by-sa-4.0", "gpl-3.0", "compatible", "sharealike_to_gpl3"),
    ("cc-by-sa-4.0", "mit", "violation", "sharealike_dropped"),
    ("cc-by-sa-3.0", "cc-by-sa-4.0", "compatible", "sharealike_kept"),
    ("mit", "llama3", "compatible", "permissive_relicensing"),
    ("apache-2.0", "cc-by-nc-4.0", "compatible", "permissive_relicensing"),
    ("other", "mit", "undetermined", "parent_terms_unknown"),
    ("unknown", "gpl-3.0", "undetermined", "parent_terms_unknown"),
    ("mit", "other", "undetermined", "child_terms_unknown"),
    ("lgpl-3.0", "mit", "undetermined", "weak_copyleft"),
    ("mpl-2.0", "apache-2.0", "undetermined", "weak_copyleft"),
    ("deepfloyd-if-license", "mit", "violation", "research_terms_dropped"),
    ("deepfloyd-if-license", "cc-by-nc-4.0", "undetermined", "research_terms_other_restricted"),
    # a tag the taxonomy does not know is other-unknown
    ("not-in-taxonomy", "mit", "undetermined", "parent_terms_unknown"),
    ("mit", "not-in-taxonomy", "undetermined", "child_terms_unknown"),
]


@pytest.mark.parametrize(("parent", "child", "verdict", "rule"), PAIRS,
                         ids=[f"{p}->{c}" for p, c, _, _ in PAIRS])
def test_judge_hand_pairs(parent, child, verdict, rule, classes, rules):
    assert judge(parent, child, classes, rules) == (verdict, rule)


def test_no_derivatives_to_other_licenses(classes, rules, taxonomy_licenses):
    for parent in ("cc-by-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-nd-3.0"):
        for child in taxonomy_licenses:
            if child in (parent, "other", "unknown"):
                continue
            assert judge(parent, child, classes, rules) == ("violation", "no_derivatives"), (
                parent, child)


def test_no_derivatives_even_under_the_same_or_an_unknown_license(classes, rules):
    # CC BY-ND / BY-NC-ND forbid sharing adapted material at all (the rule's own note): a
    # derivative under the parent's own ND license, or under a custom one, is still shared.
    got = {(p, c): judge(p, c, classes, rules)[0]
           for p in ("cc-by-nd-4.0", "cc-by-nc-nd-4.0")
           for c in (p, "other", "unknown")}
    assert got == {pair: "violation" for pair in got}


def test_share_alike_moves_only_to_the_same_or_a_later_version(classes, rules):
    # The rule notes: BY-SA and BY-NC-SA adaptations under "the same (or a later)" version;
    # only CC BY-SA 4.0 (not 3.0) is one-way compatible with GPLv3.
    got = {pair: judge(*pair, classes, rules)[0]
           for pair in (("cc-by-sa-3.0", "gpl-3.0"), ("cc-by-sa-4.0", "cc-by-sa-3.0"),
                        ("cc-by-nc-sa-4.0", "cc-by-nc-sa-3.0"),
                        ("cc-by-nc-sa-3.0", "cc-by-nc-sa-2.0"))}
    assert got == {pair: "violation" for pair in got}


def test_every_rule_is_documented_valid_and_reachable(classes, rules, taxonomy_licenses):
    assert rules.height > 0 and rules["rule"].n_unique() == rules.height
    for row in rules.iter_rows(named=True):
        assert row["verdict"] in VERDICTS, row
        assert row["source"] is not None and row["source"].strip(), row
    deciding = {}
    for parent in taxonomy_licenses:
        for child in taxonomy_licenses:
            _, rule = judge(parent, child, classes, rules)
            deciding.setdefault(rule, (parent, child))
    assert "no_rule" not in deciding
    unreachable = sorted(set(rules["rule"]) - set(deciding))
    assert unreachable == []


# --- 7. edge verdicts -------------------------------------------------------------------


def _edges(rows: list[tuple]) -> pl.DataFrame:
    """(parent_id, child_id, relation, family, p_licenses, c_licenses) -> a frame."""
    return pl.DataFrame(rows, schema={"parent_id": pl.String, "child_id": pl.String,
                                      "relation": pl.String, "family": pl.Int64,
                                      "p_licenses": STRINGS, "c_licenses": STRINGS},
                        orient="row")


def _created(pairs: dict) -> pl.DataFrame:
    return pl.DataFrame({"model_id": list(pairs), "created_at": list(pairs.values())},
                        schema={"model_id": pl.String, "created_at": pl.Datetime("us", "UTC")})


def test_audit_edges_hand_cases(classes, rules):
    frame = _edges([
        # llama3 -> {llama3: compatible, apache-2.0: violation}: best compatible
        ("p1", "c1", "finetune", 1, ["llama3"], ["llama3", "apache-2.0"]),
        # mit -> mit compatible, gpl-3.0 -> mit violation: worst violation
        ("p2", "c2", "adapter", 1, ["mit", "gpl-3.0"], ["mit"]),
        # cc-by-nc-4.0: best compatible (same); llama3: best undetermined (llama3.1)
        ("p3", "c3", "merge", 2, ["cc-by-nc-4.0", "llama3"], ["cc-by-nc-4.0", "llama3.1"]),
        ("p4", "c4", "finetune", 2, [], ["mit"]),  # parent declares none
        ("p5", "c5", "finetune", 3, ["mit"], []),  # child declares none
        ("p6", "c6", "quantized", 3, ["other"], ["gemma"]),
        ("p7", "c7", "finetune", 4, ["apache-2.0"], ["cc-by-nc-4.0"]),
        # openrail -> mit violation, -> other undetermined: best undetermined
        ("p8", "c8", "finetune", 4, ["openrail"], ["mit", "other"]),
        # gemma -> mit violation, gemma -> gemma compatible; cc-by-nd-4.0 -> both violation
        ("p9", "c9", "finetune", 5, ["gemma", "cc-by-nd-4.0"], ["gemma", "mit"]),
    ])
    when = datetime(2024, 5, 1, tzinfo=UTC)
    out = audit_edges(frame, _created({"c1": when, "c2": when, "c9": when, "zz": when}),
                      classes, rules)
    assert out.columns == ["parent_id", "child_id", "relation", "family", "parent_license",
                           "child_license", "verdict", "rule", "created_at"]
    assert out["child_id"].to_list() == ["c1", "c2", "c3", "c6", "c7", "c8", "c9"]
    got = {r["child_id"]: (r["parent_license"], r["child_license"], r["verdict"], r["rule"])
           for r in out.iter_rows(named=True)}
    assert got == {
        "c1": ("llama3", "llama3", "compatible", "same_license"),
        "c2": ("gpl-3.0", "mit", "violation", "gpl_dropped"),
        "c3": ("llama3", "llama3.1", "undetermined", "other_llama_version"),
        "c6": ("other", "gemma", "undetermined", "parent_terms_unknown"),
        "c7": ("apache-2.0", "cc-by-nc-4.0", "compatible", "permissive_relicensing"),
        "c8": ("openrail", "other", "undetermined", "child_terms_unknown"),
        "c9": ("cc-by-nd-4.0", got["c9"][1], "violation", "no_derivatives"),
    }
    assert got["c9"][1] in ("gemma", "mit")
    rows = {r["child_id"]: r for r in out.iter_rows(named=True)}
    assert [rows[c]["relation"] for c in ("c1", "c2", "c3")] == ["finetune", "adapter", "merge"]
    assert [rows[c]["family"] for c in ("c1", "c3", "c9")] == [1, 2, 5]
    assert rows["c1"]["created_at"] == when and rows["c9"]["created_at"] == when
    assert rows["c3"]["created_at"] is None  # not in the created frame


def test_audit_edges_with_no_licensed_edges(classes, rules):
    frame = _edges([("p", "c", "finetune", 1, [], ["mit"]), ("q", "d", "adapter", 1, [], [])])
    out = audit_edges(frame, _created({"c": datetime(2024, 1, 1, tzinfo=UTC)}), classes, rules)
    assert out.height == 0


def test_audit_edges_match_a_plain_loop_reference(classes, rules):
    rng = random.Random(4)
    pool = ["mit", "apache-2.0", "llama3", "llama3.1", "gemma", "openrail", "cc-by-nc-4.0",
            "cc-by-sa-4.0", "gpl-3.0", "other", "cc-by-nd-4.0", "lgpl-3.0"]
    rows = []
    for k in range(300):
        rows.append((f"p{k % 40}", f"c{k:03d}", rng.choice(["finetune", "adapter"]), k % 17,
                     rng.sample(pool, rng.randint(0, 3)), rng.sample(pool, rng.randint(0, 3))))
    out = audit_edges(_edges(rows), _created({}), classes, rules)
    expected = {}
    for parent_id, child_id, _, _, p_lic, c_lic in rows:
        if not p_lic or not c_lic:
            continue
        worst = None
        for p in p_lic:
            best = min(SEVERITY[judge(p, c, classes, rules)[0]] for c in c_lic)
            worst = best if worst is None else max(worst, best)
        expected[(parent_id, child_id)] = VERDICTS[worst]
    got = {(r["parent_id"], r["child_id"]): r["verdict"] for r in out.iter_rows(named=True)}
    assert got == expected
    # the reported pair is one that earns the edge's verdict by its rule
    for r in out.iter_rows(named=True):
        assert judge(r["parent_license"], r["child_license"], classes, rules) == (
            r["verdict"], r["rule"])


# --- 8. rate tables ---------------------------------------------------------------------


def _verdicts(rows: list[tuple]) -> pl.DataFrame:
    """(family, relation, parent_license, child_license, verdict, rule, created_at)."""
    return pl.DataFrame(rows, schema={"family": pl.Int64, "relation": pl.String,
                                      "parent_license": pl.String, "child_license": pl.String,
                                      "verdict": pl.String, "rule": pl.String,
                                      "created_at": pl.Datetime("us", "UTC")}, orient="row")


def _d(year, month):
    return datetime(year, month, 15, tzinfo=UTC)


HAND_VERDICTS = [
    (1, "finetune", "llama3", "apache-2.0", "violation", "llama_terms_dropped", _d(2024, 2)),
    (1, "finetune", "llama3", "llama3", "compatible", "same_license", _d(2024, 3)),
    (2, "adapter", "llama3", "mit", "violation", "llama_terms_dropped", _d(2024, 5)),
    (2, "adapter", "mit", "mit", "compatible", "same_license", _d(2024, 5)),
    (3, "finetune", "gpl-3.0", "mit", "violation", "gpl_dropped", None),
    (3, "adapter", "other", "mit", "undetermined", "parent_terms_unknown", _d(2023, 11)),
    (4, "finetune", "gpl-3.0", "mit", "violation", "gpl_dropped", _d(2024, 1)),
    (4, "finetune", "gpl-3.0", "mit", "violation", "gpl_dropped", _d(2024, 1)),
    (5, "finetune", "gemma", "mit", "violation", "gemma_terms_dropped", _d(2024, 8)),
]


def test_audit_table_counts_by_hand():
    table = audit_table(_verdicts(HAND_VERDICTS), replicates=200, seed=1)
    rows = {(r["by"], r["key"]): r for r in table.iter_rows(named=True)}
    # (edges, compatible, undetermined, violation, families)
    expected = {
        ("all", "all"): (9, 2, 1, 6, 5),
        ("parent_license", "gemma"): (1, 0, 0, 1, 1),
        ("parent_license", "gpl-3.0"): (3, 0, 0, 3, 2),
        ("parent_license", "llama3"): (3, 1, 0, 2, 2),
        ("parent_license", "mit"): (1, 1, 0, 0, 1),
        ("parent_license", "other"): (1, 0, 1, 0, 1),
        ("relation", "adapter"): (3, 1, 1, 1, 2),
        ("relation", "finetune"): (6, 1, 0, 5, 4),
        ("quarter", "2023-Q4"): (1, 0, 1, 0, 1),
        ("quarter", "2024-Q1"): (4, 1, 0, 3, 2),
        ("quarter", "2024-Q2"): (2, 1, 0, 1, 1),
        ("quarter", "2024-Q3"): (1, 0, 0, 1, 1),
        ("quarter", "unknown"): (1, 0, 0, 1, 1),
    }
    assert set(rows) == set(expected)
    for key, (edges, compatible, undetermined, violation, families) in expected.items():
        r = rows[key]
        assert (r["edges"], r["compatible"], r["undetermined"], r["violation"],
                r["families"]) == (edges, compatible, undetermined, violation, families), key
        assert r["violation_rate"] == pytest.approx(violation / edges)
        assert r["ci_low"] <= r["violation_rate"] + 1e-12
        assert r["violation_rate"] <= r["ci_high"] + 1e-12
    for by in ("all", "parent_license", "relation", "quarter"):
        part = table.filter(pl.col("by") == by)
        assert part["edges"].sum() == len(HAND_VERDICTS)
        assert (part["compatible"] + part["undetermined"] + part["violation"]
                == part["edges"]).all()
    # rates of 0 or 1 cannot vary under resampling
    assert (rows[("parent_license", "gpl-3.0")]["ci_low"],
            rows[("parent_license", "gpl-3.0")]["ci_high"]) == (1.0, 1.0)
    assert (rows[("parent_license", "mit")]["ci_low"],
            rows[("parent_license", "mit")]["ci_high"]) == (0.0, 0.0)


def test_audit_table_on_many_families():
    rng = random.Random(8)
    licenses = ["llama3", "mit", "gpl-3.0", "gemma"]
    rows = []
    for k in range(600):
        family = k % 60
        verdict = rng.choices(VERDICTS, weights=[5, 2, 3])[0]
        rows.append((family, rng.choice(["finetune", "adapter", "merge"]),
                     rng.choice(licenses), "mit", verdict, "r",
                     _d(2023 + rng.randint(0, 1), rng.randint(1, 12))))
    verdicts = _verdicts(rows)
    table = audit_table(verdicts, replicates=300, seed=2)
    for by, column in (("parent_license", 2), ("relation", 1)):
        part = table.filter(pl.col("by") == by)
        assert part["edges"].sum() == len(rows)
        for r in part.iter_rows(named=True):
            chosen = [row for row in rows if row[column] == r["key"]]
            assert r["edges"] == len(chosen)
            assert r["violation"] == sum(row[4] == "violation" for row in chosen)
            assert r["families"] == len({row[0] for row in chosen})
    quarters = table.filter(pl.col("by") == "quarter")
    assert quarters.height == 8 and quarters["edges"].sum() == len(rows)
    for r in table.iter_rows(named=True):
        assert r["violation_rate"] == pytest.approx(r["violation"] / r["edges"])
        assert r["ci_low"] <= r["violation_rate"] <= r["ci_high"], r
        assert 0 < r["ci_high"] - r["ci_low"] < 0.5


def test_top_violations_sorted_and_only_violations():
    top = top_violations(_verdicts(HAND_VERDICTS), 10)
    assert top.columns == ["parent_license", "child_license", "rule", "edges", "families"]
    # gpl-3.0 -> mit 3 edges in families 3, 4; then llama3 -> apache-2.0 / -> mit, gemma -> mit
    assert top.rows() == [
        ("gpl-3.0", "mit", "gpl_dropped", 3, 2),
        ("gemma", "mit", "gemma_terms_dropped", 1, 1),
        ("llama3", "apache-2.0", "llama_terms_dropped", 1, 1),
        ("llama3", "mit", "llama_terms_dropped", 1, 1),
    ]
    assert top_violations(_verdicts(HAND_VERDICTS), 2).rows() == top.rows()[:2]
