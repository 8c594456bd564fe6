"""Model -> model license compatibility: may a child carry the license it declares, given its
parent's? (The paper's "often in violation of upstream terms", measured.)

Rules are data (data/license_compatibility.csv): each names a parent pattern and a child
pattern (a license id; `class:<class>` of the license taxonomy; `re:<regex>`; `*`; for the
child also `same`, and `same_or_later`: the parent's license in the same or a later version), a
verdict (compatible / violation / undetermined), a rule name and a source
note. The first matching rule decides a (parent license, child license) pair. An edge where both
declare licenses gets, for each parent license, the best verdict over the child's licenses (a
child may satisfy its parent with any one of them), and then the worst over the parent's
licenses (every parent license binds). This is a screening of declared metadata, not legal
advice: a violation verdict says the declared child license drops terms the parent requires.
"""

from __future__ import annotations

import re

import polars as pl

from hubanatomy.datafiles import read_data_csv
from hubanatomy.snapshot import files as snap
from hubanatomy.stats.inference import FamilyBootstrap

VERDICTS = ("compatible", "undetermined", "violation")
AUDIT_SCHEMA = {"by": pl.String, "key": pl.String, "edges": pl.Int64,
                **{v: pl.Int64 for v in VERDICTS}, "violation_rate": pl.Float64,
                "ci_low": pl.Float64, "ci_high": pl.Float64, "families": pl.Int64}
# the quarter of an edge whose child has no createdAt
UNKNOWN_QUARTER = "unknown"
_SEVERITY = {v: i for i, v in enumerate(VERDICTS)}


def compatibility_rules() -> pl.DataFrame:
    rules = read_data_csv("license_compatibility.csv")
    bad = rules.filter(~pl.col("verdict").is_in(VERDICTS))
    if bad.height:
        raise ValueError(f"license_compatibility.csv: unknown verdict in rules "
                         f"{bad['rule'].to_list()}")
    return rules


_VERSION = re.compile(r"^(?P<base>.*?)-(?P<version>\d+(?:\.\d+)*)$")


def _version(license_: str) -> tuple[str, tuple[int, ...]] | None:
    match = _VERSION.match(license_)
    if match is None:
        return None
    return match["base"], tuple(int(x) for x in match["version"].split("."))


def _matches(pattern: str, license_: str, classes: dict, parent: str | None = None) -> bool:
    if pattern == "*":
        return True
    if pattern == "same":
        return license_ == parent
    if pattern == "same_or_later":
        mine, theirs = _version(license_), _version(parent or "")
        return (mine is not None and theirs is not None and mine[0] == theirs[0]
                and mine[1] >= theirs[1])
    if pattern.startswith("class:"):
        return classes.get(license_, "other-unknown") == pattern[len("class:"):]
    if pattern.startswith("re:"):
        return re.search(pattern[len("re:"):], license_) is not None
    return pattern == license_


def judge(parent: str, child: str, classes: dict, rules: pl.DataFrame) -> tuple[str, str]:
    """(verdict, rule) of one (parent license, child license) pair: the first rule matching."""
    for rule in rules.iter_rows(named=True):
        if (_matches(rule["parent"], parent, classes)
                and _matches(rule["child"], child, classes, parent)):
            return rule["verdict"], rule["rule"]
    return "undetermined", "no_rule"


def pair_verdicts(pairs: pl.DataFrame, classes: dict, rules: pl.DataFrame) -> pl.DataFrame:
    """Verdicts of the distinct (parent_license, child_license) pairs (a few hundred at most,
    so the rule matching runs per pair, not per edge)."""
    judged = [judge(p, c, classes, rules) for p, c in pairs.iter_rows()]
    return pairs.with_columns(verdict=pl.Series([v for v, _ in judged], dtype=pl.String),
                              rule=pl.Series([r for _, r in judged], dtype=pl.String))


def audit_edges(frame: pl.DataFrame, created: pl.DataFrame, classes: dict,
                rules: pl.DataFrame) -> pl.DataFrame:
    """One row per edge where parent and child both declare a license: licenses, verdict and
    deciding rule, relation, family, child's createdAt."""
    both = frame.filter((pl.col("p_licenses").list.len() > 0)
                        & (pl.col("c_licenses").list.len() > 0)).with_row_index("edge")
    pairs = (both.select("edge", pl.col("p_licenses").alias("parent_license"),
                         pl.col("c_licenses").alias("child_license"))
             .explode("parent_license").explode("child_license"))
    judged = pair_verdicts(pairs.select("parent_license", "child_license").unique().sort(
        ["parent_license", "child_license"]), classes, rules)
    pairs = pairs.join(judged, on=["parent_license", "child_license"], maintain_order="left")
    pairs = pairs.with_columns(severity=pl.col("verdict").replace_strict(_SEVERITY))
    # best over the child's licenses, then worst over the parent's
    per_parent = (pairs.sort(["edge", "parent_license", "severity", "child_license"])
                  .group_by(["edge", "parent_license"], maintain_order=True).first())
    per_edge = (per_parent.sort(["edge", "severity", "parent_license"],
                                descending=[False, True, False])
                .group_by("edge", maintain_order=True).first())
    return (both.select("edge", "parent_id", "child_id", "relation", "family")
            .join(per_edge.select("edge", "parent_license", "child_license", "verdict", "rule"),
                  on="edge")
            .join(created, left_on="child_id", right_on="model_id", how="left")
            .drop("edge").sort(["child_id", "parent_id"]))


def audit_table(verdicts: pl.DataFrame, replicates: int, seed: int) -> pl.DataFrame:
    """Verdict shares by parent license, by relation and by quarter of the child's creation,
    with a family-bootstrap interval of the violation rate."""
    frames = []
    quarter = (pl.col("created_at").dt.year().cast(pl.String) + "-Q"
               + pl.col("created_at").dt.quarter().cast(pl.String))
    for by, key in (("all", pl.lit("all")), ("parent_license", pl.col("parent_license")),
                    ("relation", pl.col("relation")), ("quarter", quarter)):
        v = verdicts.with_columns(key=key.fill_null(UNKNOWN_QUARTER))
        families = v["family"].to_numpy()
        violation = (v["verdict"] == "violation").to_numpy().astype(float)
        boot = FamilyBootstrap(families, replicates, seed)
        keys = v["key"].unique().sort().to_list()
        key_values = v["key"].to_numpy()
        for k in keys:
            boot.add(k, violation, key_values == k)
        stats = boot.compute()
        counts = (v.group_by("key").agg(
            edges=pl.len(),
            **{verdict: (pl.col("verdict") == verdict).sum() for verdict in VERDICTS})
            .sort("key"))
        frames.append(counts.with_columns(
            by=pl.lit(by),
            violation_rate=pl.col("violation") / pl.col("edges"),
            ci_low=pl.Series([stats[k]["low"] for k in counts["key"]]),
            ci_high=pl.Series([stats[k]["high"] for k in counts["key"]]),
            families=pl.Series([stats[k]["n_families"] for k in counts["key"]])))
    return snap.conform(pl.concat(frames), AUDIT_SCHEMA)


def top_violations(verdicts: pl.DataFrame, n: int) -> pl.DataFrame:
    """The most frequent violating (parent license -> child license) transitions."""
    return (verdicts.filter(pl.col("verdict") == "violation")
            .group_by(["parent_license", "child_license", "rule"])
            .agg(edges=pl.len(), families=pl.col("family").n_unique())
            .sort(["edges", "parent_license", "child_license"], descending=[True, False, False])
            .head(n).with_columns(pl.col("edges").cast(pl.Int64),
                                  pl.col("families").cast(pl.Int64)))
