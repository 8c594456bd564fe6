"""The one table of test results (results/tables/tests.csv): its schema, how a stage turns a
test result into a row, and the Benjamini-Hochberg q-values taken over every row at the end."""

from __future__ import annotations

import numpy as np
import polars as pl

from hubanatomy.stats.inference import benjamini_hochberg

TEST_SCHEMA = {"test": pl.String, "description": pl.String, "trait": pl.String,
               "relation": pl.String, "variant": pl.String, "statistic": pl.Float64,
               "effect": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
               "p": pl.Float64, "q": pl.Float64, "n_edges": pl.Int64, "n_families": pl.Int64,
               "direction": pl.String}
TEST_COLUMNS = list(TEST_SCHEMA)


def result_row(test, description, trait, relation, variant, result, direction) -> dict:
    return {"test": test, "description": description, "trait": trait, "relation": relation,
            "variant": variant, "statistic": result["statistic"], "effect": result["effect"],
            "ci_low": result["low"], "ci_high": result["high"], "p": result["p"],
            "n_edges": result["n_edges"], "n_families": result["n_families"],
            "direction": direction}


def result_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {c: t for c, t in TEST_SCHEMA.items() if c != "q"}
    return pl.DataFrame(rows, schema=schema)


def read_test_part(path) -> pl.DataFrame:
    """A stage's tests (results/tests/*.csv), typed even when it holds no row."""
    return pl.read_csv(path, schema={c: t for c, t in TEST_SCHEMA.items() if c != "q"})


def direction_label(value: float, positive: str, negative: str) -> str:
    if not np.isfinite(value):
        return "not tested (too few families)"
    if value == 0:
        return "none"
    return positive if value > 0 else negative


def finalise_tests(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One table of all tests with Benjamini-Hochberg q-values across every row."""
    tests = pl.concat([p.select([c for c in TEST_COLUMNS if c != "q"]) for p in parts],
                      how="vertical_relaxed")
    if tests.height == 0:
        return tests.with_columns(q=pl.lit(None, pl.Float64)).select(TEST_COLUMNS)
    q = benjamini_hochberg(tests["p"].to_numpy())
    return tests.with_columns(q=pl.Series(q)).select(TEST_COLUMNS)
