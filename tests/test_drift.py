"""hubanatomy.drift.measures: mutation rates, transitions, numeric drifts and their tests.

Hand-made edge frames (the shape drift_edges produces) check every definition against values
worked out by hand or by plain-Python references; the simulator's directed and neutral
scenarios check that planted drifts are found and that the null is not rejected."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import polars as pl
import pytest
from conftest import simulated_lineage

from hubanatomy.drift import measures as drift
from hubanatomy.drift.edges import all_drift_edges, drift_edges, split_variants
from hubanatomy.drift.labels import SET_TRAITS
from hubanatomy.lineage.build import LineageSettings, build_lineage
from hubanatomy.stats.inference import MIN_FAMILIES
from hubanatomy.stats.tables import TEST_COLUMNS, finalise_tests

LISTS = ("licenses", "license_classes", "languages", "tasks", "libraries")
STRINGS = pl.List(pl.String)


# --- helpers ----------------------------------------------------------------------------

def _side(spec: dict) -> dict:
    """One model's traits as label_traits writes them (no card unless card_length_chars)."""
    chars = spec.get("card_length_chars")
    has_card = spec.get("has_card", chars is not None)
    languages = spec.get("languages", [])
    return {
        **{name: list(spec.get(name, [])) for name in LISTS},
        "has_card": has_card,
        "card_length_chars": chars if has_card else None,
        "card_length_words": chars // 5 if has_card else None,
        "auto_generated": spec.get("auto_generated", False) if has_card else None,
        "n_languages": len(languages),
    }


def _frame(edges: list[tuple]) -> pl.DataFrame:
    """edges: (family, relation, parent spec, child spec) -> a drift_edges-shaped frame."""
    rows = []
    for family, relation, parent, child in edges:
        row = {"family": family, "relation": relation}
        row.update({f"p_{k}": v for k, v in _side(parent).items()})
        row.update({f"c_{k}": v for k, v in _side(child).items()})
        rows.append(row)
    schema = {"family": pl.Int64, "relation": pl.String}
    for side in ("p", "c"):
        schema.update({f"{side}_{name}": STRINGS for name in LISTS})
        schema.update({f"{side}_has_card": pl.Boolean, f"{side}_card_length_chars": pl.Int64,
                       f"{side}_card_length_words": pl.Int64,
                       f"{side}_auto_generated": pl.Boolean,
                       f"{side}_n_languages": pl.UInt32})  # as label_traits: unsigned
    return pl.DataFrame(rows, schema=schema)


def _jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return 1 - len(a & b) / len(a | b)


def _random_frame(rng: random.Random, n_edges: int, n_families: int,
                  relations=("finetune", "adapter", "quantized")) -> pl.DataFrame:
    values = {"licenses": ["mit", "apache-2.0", "llama3", "gemma"],
              "languages": ["en", "fr", "de", "zh", "ja"],
              "tasks": ["text-generation", "fill-mask", "text-classification"],
              "libraries": ["transformers", "peft", "gguf"]}
    classes = ["commercial", "use-restricted", "permissive", "copyleft", "other-unknown"]

    def side():
        spec = {k: rng.sample(v, rng.randint(0, min(3, len(v)))) for k, v in values.items()}
        spec["license_classes"] = rng.sample(classes, rng.randint(0, 2))
        if rng.random() < 0.7:
            spec["card_length_chars"] = rng.randint(4, 20_000)
            spec["auto_generated"] = rng.random() < 0.3
        return spec

    return _frame([(rng.randrange(n_families), rng.choice(relations), side(), side())
                   for _ in range(n_edges)])


# --- mutation rates ---------------------------------------------------------------------

def test_jaccard_distance_on_known_sets():
    frame = _frame([
        (0, "finetune", {"languages": ["a", "b"]}, {"languages": ["b", "c"]}),
        (0, "finetune", {"languages": ["a", "b"]}, {"languages": ["b", "a"]}),
        (0, "finetune", {"languages": ["a"]}, {"languages": ["b"]}),
        (0, "finetune", {"languages": ["a", "b", "c", "d"]}, {"languages": ["a"]}),
    ])
    distance = frame.select(drift.jaccard_distance("languages")).to_series().to_list()
    assert distance == pytest.approx([2 / 3, 0.0, 1.0, 3 / 4])


def test_mutation_rates_by_hand_excluding_empty_sides():
    edges = [
        (1, "finetune", {"languages": ["a", "b"]}, {"languages": ["b", "c"]}),  # 2/3
        (1, "finetune", {"languages": ["a"]}, {"languages": ["a"]}),  # 0
        (2, "adapter", {"languages": ["a"]}, {"languages": ["b"]}),  # 1
        (2, "adapter", {"languages": []}, {"languages": ["b"]}),  # excluded: parent empty
        (3, "adapter", {"languages": ["a"]}, {"languages": []}),  # excluded: child empty
        (3, "finetune", {"tasks": ["x"]}, {"tasks": ["x"]}),  # no languages: excluded
    ]
    table = drift.mutation_rates({"all": _frame(edges)}, replicates=200, seed=1)
    # one row per trait x (all + each relation present) x variant
    assert table.height == len(SET_TRAITS) * 3
    assert set(table["relation"]) == {"all", "adapter", "finetune"}
    rows = {(r["trait"], r["relation"]): r for r in table.iter_rows(named=True)}
    languages = rows[("languages", "all")]
    assert languages["mutation_rate"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert languages["n_edges"] == 3 and languages["n_families"] == 2
    assert languages["ci_low"] <= languages["mutation_rate"] <= languages["ci_high"]
    assert rows[("languages", "finetune")]["mutation_rate"] == pytest.approx(1 / 3)
    assert rows[("languages", "finetune")]["n_edges"] == 2
    assert rows[("languages", "adapter")]["mutation_rate"] == pytest.approx(1.0)
    assert rows[("languages", "adapter")]["n_edges"] == 1
    assert rows[("tasks", "all")]["mutation_rate"] == 0.0
    assert rows[("tasks", "all")]["n_edges"] == 1
    # no edge has licenses on both sides: no rate, nothing counted
    assert rows[("licenses", "all")]["n_edges"] == 0
    assert np.isnan(rows[("licenses", "all")]["mutation_rate"])
    assert set(table["variant"]) == {"all"}


def test_mutation_rates_match_a_plain_python_reference():
    rng = random.Random(3)
    frames = {"all": _random_frame(rng, 300, 25), "finetune": _random_frame(rng, 120, 15,
                                                                             ("finetune",))}
    table = drift.mutation_rates(frames, replicates=100, seed=2)
    for row in table.iter_rows(named=True):
        frame = frames[row["variant"]].to_dicts()
        chosen = [e for e in frame if (row["relation"] == "all" or e["relation"]
                                       == row["relation"])
                  and e[f"p_{row['trait']}"] and e[f"c_{row['trait']}"]]
        distances = [_jaccard(e[f"p_{row['trait']}"], e[f"c_{row['trait']}"]) for e in chosen]
        assert row["n_edges"] == len(chosen)
        assert row["n_families"] == len({e["family"] for e in chosen})
        assert row["mutation_rate"] == pytest.approx(sum(distances) / len(distances))


# --- transitions ------------------------------------------------------------------------

def test_transition_counts_follow_the_papers_definition():
    frame = _frame([
        # added c: a->c, b->c; removed a: a->b, a->c
        (0, "finetune", {"licenses": ["a", "b"]}, {"licenses": ["b", "c"]}),
        # a parent with no trait gives nothing for the added x; nothing is removed
        (0, "finetune", {"licenses": []}, {"licenses": ["x"]}),
        # removed y goes to nothing when the child has no trait
        (1, "finetune", {"licenses": ["y"]}, {"licenses": []}),
        # unchanged sets give no transition
        (1, "finetune", {"licenses": ["a"]}, {"licenses": ["a"]}),
        # another family: a -> c once from the added side, once from the removed side
        (2, "adapter", {"licenses": ["a"]}, {"licenses": ["c"]}),
    ])
    counts = drift.transition_counts(frame, "licenses")
    got = {(f, s, t): n for f, s, t, n in counts.iter_rows()}
    assert got == {(0, "a", "c"): 2, (0, "b", "c"): 1, (0, "a", "b"): 1, (2, "a", "c"): 2}
    assert counts.columns == ["family", "source", "target", "count"]


def test_transition_counts_match_a_plain_python_reference():
    rng = random.Random(11)
    frame = _random_frame(rng, 400, 30)
    for trait in SET_TRAITS:
        expected: Counter = Counter()
        for e in frame.to_dicts():
            parent, child = set(e[f"p_{trait}"]), set(e[f"c_{trait}"])
            for added in child - parent:
                for source in parent:
                    expected[(e["family"], source, added)] += 1
            for removed in parent - child:
                for target in child:
                    expected[(e["family"], removed, target)] += 1
        counts = drift.transition_counts(frame, trait)
        assert {(f, s, t): n for f, s, t, n in counts.iter_rows()} == dict(expected), trait


def test_top_values_drop_placeholders_and_rank_by_models():
    traits = pl.DataFrame({"licenses": [["mit"], ["mit", "other"], ["apache-2.0"],
                                        ["unknown"], ["unknown"], ["unknown"], ["gpl-3.0"],
                                        ["apache-2.0"], ["apache-2.0"], [], ["none"], [""],
                                        ["cc"]]},
                          schema={"licenses": STRINGS})
    top = drift.top_values(traits, "licenses", 3)
    assert top.to_dicts() == [{"value": "apache-2.0", "models": 3, "rank": 1},
                              {"value": "mit", "models": 2, "rank": 2},
                              {"value": "cc", "models": 1, "rank": 3}]  # cc < gpl-3.0
    assert top.schema["models"] == pl.Int64


def _counts(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"family": pl.Int64, "source": pl.String,
                                      "target": pl.String, "count": pl.UInt32}, orient="row")


def _top(values) -> pl.DataFrame:
    return pl.DataFrame({"value": values, "models": list(range(len(values), 0, -1)),
                         "rank": list(range(1, len(values) + 1))})


def test_transitions_table_orients_pairs_by_net_flow():
    counts = _counts([
        (0, "a", "b", 5), (1, "b", "a", 2),  # a -> b dominant: forward 5, backward 2
        (0, "c", "b", 3), (2, "c", "b", 1), (2, "b", "c", 1),  # c -> b: 4 vs 1
        (3, "a", "z", 9),  # z is not a top value
        (3, "a", "a", 4),  # no self transitions
    ])
    table, test = drift.transitions_table(counts, _top(["a", "b", "c"]), 200, seed=1)
    rows = table.to_dicts()
    assert [(r["source"], r["target"], r["forward"], r["backward"], r["net"])
            for r in rows] == [("a", "b", 5, 2, 3), ("c", "b", 4, 1, 3)]
    assert [r["directedness"] for r in rows] == pytest.approx([5 / 7, 4 / 5])
    assert all(0 < r["p"] <= 1 for r in rows)
    assert test["statistic"] == pytest.approx((3 + 3) / (7 + 5))
    assert test["n_edges"] == 12 and test["n_families"] == 3
    assert np.isnan(test["p"])  # fewer than MIN_FAMILIES families: not tested

    empty, none = drift.transitions_table(counts, _top(["q"]), 50, seed=1)
    assert empty.height == 0 and np.isnan(none["p"]) and none["n_families"] == 0


def test_transitions_table_tests_with_enough_families():
    n = MIN_FAMILIES + 10
    counts = _counts([(f, "b", "a", 3) for f in range(n)] + [(0, "a", "b", 1)])
    table, test = drift.transitions_table(counts, _top(["a", "b"]), 300, seed=3)
    # every family's net flow goes b -> a (family 0: 3 - 1), so no sign flip does better
    assert table.to_dicts() == [{
        "source": "b", "target": "a", "forward": 3 * n, "backward": 1, "net": 3 * n - 1,
        "directedness": 3 * n / (3 * n + 1), "p": 1 / 301}]
    assert test["p"] == 1 / 301
    assert test["statistic"] == pytest.approx((3 * n - 1) / (3 * n + 1))
    assert test["n_families"] == n


# --- numeric drifts ---------------------------------------------------------------------

def test_numeric_drift_means_and_masks_by_hand():
    edges = [
        (0, "finetune", {"card_length_chars": 1000, "languages": ["en", "fr", "de"]},
         {"card_length_chars": 400, "auto_generated": True, "languages": ["en"]}),
        (1, "finetune", {"card_length_chars": 3000},
         {"card_length_chars": 1000, "languages": ["en"]}),
        (2, "adapter", {"card_length_chars": 500, "languages": ["en", "zh"]}, {}),  # no card
        (3, "adapter", {"languages": ["fr"]}, {"card_length_chars": 800,
                                               "languages": ["fr", "en"]}),
    ]
    table = drift.numeric_drift({"all": _frame(edges)}, replicates=100, seed=0)
    assert table.height == len(drift.MEASURES) * 3  # all, adapter, finetune
    rows = {(r["measure"], r["relation"]): r for r in table.iter_rows(named=True)}

    chars = rows[("card_length_chars", "all")]  # edges with both cards: 0 and 1
    assert (chars["parent"], chars["child"], chars["difference"]) == pytest.approx(
        (2000, 700, -1300))
    assert chars["n_edges"] == 2 and chars["n_families"] == 2
    assert rows[("card_length_words", "all")]["difference"] == pytest.approx(-1300 / 5)
    auto = rows[("auto_generated", "all")]
    assert (auto["parent"], auto["child"]) == pytest.approx((0.0, 0.5))
    assert rows[("card_length_chars", "adapter")]["n_edges"] == 0
    assert np.isnan(rows[("card_length_chars", "adapter")]["parent"])

    has_card = rows[("has_card", "all")]  # every edge
    assert (has_card["parent"], has_card["child"]) == pytest.approx((3 / 4, 3 / 4))
    assert has_card["n_edges"] == 4
    adapter_cards = rows[("has_card", "adapter")]
    assert (adapter_cards["parent"], adapter_cards["child"]) == pytest.approx((0.5, 0.5))

    listed = rows[("n_languages_listed", "all")]  # both list languages: edges 0 and 3
    assert (listed["parent"], listed["child"], listed["difference"]) == pytest.approx(
        (2.0, 1.5, -0.5))
    assert listed["n_edges"] == 2
    every = rows[("n_languages", "all")]  # all edges, zeros included
    assert (every["parent"], every["child"], every["difference"]) == pytest.approx(
        (6 / 4, 4 / 4, -2 / 4))
    assert every["n_edges"] == 4
    for r in table.iter_rows(named=True):
        if r["n_edges"]:
            assert r["difference"] == pytest.approx(r["child"] - r["parent"])


# --- direction of license and language changes ------------------------------------------

def test_license_openness_change():
    cases = [
        (["commercial"], ["permissive"], 1),
        (["permissive"], ["copyleft"], 0),  # same openness
        (["permissive"], ["other-unknown"], 0),  # unknown: no judgement
        (["other-unknown"], ["permissive"], 0),
        (["commercial"], [], 0),  # no license
        (["permissive", "commercial"], ["permissive"], 1),  # commercial binds the parent
        (["permissive"], ["permissive", "use-restricted"], -1),  # use-restricted binds
        (["use-restricted"], ["commercial"], -1),
        (["other-unknown", "commercial"], ["use-restricted"], 1),
        (["copyleft"], ["use-restricted"], -1),
    ]
    frame = _frame([(0, "finetune", {"license_classes": p}, {"license_classes": c})
                    for p, c, _ in cases])
    assert drift.license_openness_change(frame).tolist() == [e for _, _, e in cases]


def test_non_english_change():
    cases = [
        (["en", "fr", "de"], ["en"], 1),
        (["en"], ["en", "fr"], -1),  # more non-English: a negative difference (signed!)
        (["en"], ["fr", "de", "ja"], -1),
        (["fr"], ["de"], 0),
        (["fr"], ["en"], 1),
        ([], ["en"], 0),  # both must list languages
        (["fr", "de"], [], 0),
        (["en"], ["en"], 0),
    ]
    frame = _frame([(0, "finetune", {"languages": p}, {"languages": c}) for p, c, _ in cases])
    assert drift.non_english_change(frame).tolist() == [e for _, _, e in cases]


# --- the test tables --------------------------------------------------------------------

def _testable_frame(seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    return _random_frame(rng, 400, 30, ("finetune", "adapter", "merge"))


def test_drift_tests_one_row_per_test_measure_relation_variant():
    frames = {"all": _testable_frame(1), "finetune": _random_frame(random.Random(2), 150, 20,
                                                                   ("finetune",))}
    tests = drift.drift_tests(frames, replicates=100, seed=4)
    assert tests.columns == [c for c in TEST_COLUMNS if c != "q"]
    keys = tests.select("test", "trait", "relation", "variant").rows()
    assert len(keys) == len(set(keys))
    expected = set()
    for variant, relations in (("all", ["finetune", "adapter", "merge"]),
                               ("finetune", ["finetune"])):
        # rows per relation only when there are several (one would repeat "all")
        groups = ["all", *relations] if len(relations) > 1 else ["all"]
        for measure in drift.MEASURES:
            for relation in groups:
                expected.add(("paired_difference", measure, relation, variant))
            for relation in relations:
                if relation != "finetune":
                    expected.add(("relation_effect", measure, f"{relation} vs finetune",
                                  variant))
        for name in ("license_toward_open", "languages_drop_non_english"):
            for relation in groups:
                expected.add(("direction_share", name, relation, variant))
    assert set(keys) == expected

    # the paired difference is the plain mean over the measure's edges
    frame = frames["all"].to_dicts()
    row = tests.filter((pl.col("test") == "paired_difference")
                       & (pl.col("trait") == "card_length_chars") & (pl.col("relation") == "all")
                       & (pl.col("variant") == "all")).to_dicts()[0]
    both = [e for e in frame if e["p_has_card"] and e["c_has_card"]]
    assert row["n_edges"] == len(both)
    assert row["n_families"] == len({e["family"] for e in both})
    assert row["effect"] == pytest.approx(
        sum(e["c_card_length_chars"] - e["p_card_length_chars"] for e in both) / len(both))
    assert row["direction"] == ("child > parent" if row["effect"] > 0 else "child < parent")

    # the direction share is the share of +1 among edges whose class changed
    change = drift.license_openness_change(frames["all"])
    row = tests.filter((pl.col("trait") == "license_toward_open") & (pl.col("relation") == "all")
                       & (pl.col("variant") == "all")).to_dicts()[0]
    assert row["n_edges"] == int((change != 0).sum())
    assert row["effect"] == pytest.approx((change > 0).sum() / (change != 0).sum())
    assert row["ci_low"] <= row["effect"] <= row["ci_high"] and 0 < row["p"] <= 1
    assert row["direction"] == ("toward open" if row["effect"] > 0.5 else "toward restricted")
    # a relation effect compares with fine-tunes: difference of the groups' mean changes
    row = tests.filter((pl.col("test") == "relation_effect") & (pl.col("trait") == "n_languages")
                       & (pl.col("relation") == "adapter vs finetune")
                       & (pl.col("variant") == "all")).to_dicts()[0]

    def mean_change(relation):
        chosen = [e["c_n_languages"] - e["p_n_languages"] for e in frame
                  if e["relation"] == relation]
        return sum(chosen) / len(chosen)

    assert row["effect"] == pytest.approx(mean_change("adapter") - mean_change("finetune"))


def test_drift_tests_with_few_families_report_untested_rows():
    frame = _random_frame(random.Random(5), 60, MIN_FAMILIES - 1)
    tests = drift.drift_tests({"all": frame}, replicates=50, seed=1)
    assert tests.height > 0
    assert tests["p"].is_nan().all()
    assert set(tests["direction"]) == {"not tested (too few families)"}
    # relation effects are listed, untested, rather than silently missing
    assert "relation_effect" in set(tests["test"])


def test_finalise_tests_adds_bh_q_across_all_parts(tmp_path):
    frames = {"all": _testable_frame(7),
              "small": _random_frame(random.Random(8), 40, MIN_FAMILIES - 2)}  # untested
    traits = pl.DataFrame({"licenses": [["mit"], ["apache-2.0"], ["llama3"], ["gemma"]]},
                          schema={"licenses": STRINGS})
    parts = [drift.drift_tests(frames, 100, 1),
             drift.transition_analysis(frames, traits, "licenses", 4, 100, 1)[1]]
    # collect_tests reads the parts back from CSV
    read = []
    for i, part in enumerate(parts):
        part.write_csv(tmp_path / f"{i}.csv")
        read.append(pl.read_csv(tmp_path / f"{i}.csv", infer_schema_length=None))
    table = finalise_tests(read)
    assert table.columns == TEST_COLUMNS
    assert table.height == sum(p.height for p in parts)
    p = table["p"].to_list()
    finite = [i for i, v in enumerate(p) if v is not None and np.isfinite(v)]
    assert len(finite) >= 10 and len(finite) < len(p)  # some rows untested
    m = len(finite)
    order = sorted(finite, key=lambda i: p[i])
    expected = {}
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        expected[i] = running
    q = table["q"].to_list()
    for i in range(len(p)):
        if i in expected:
            assert q[i] == pytest.approx(expected[i], rel=1e-9)
        else:
            assert q[i] is None or np.isnan(q[i])
    transitions = table.filter(pl.col("test") == "transition_directedness")
    assert transitions.select("trait", "variant").rows() == [("licenses", "all"),
                                                             ("licenses", "small")]


# --- drift_edges on a tiny lineage ------------------------------------------------------

def test_drift_edges_carries_both_sides_and_the_childs_family():
    models = pl.DataFrame({"model_id": ["r", "a", "b", "m"],
                           "created_at": pl.Series([None] * 4, dtype=pl.Datetime("us", "UTC"))})
    parents = pl.DataFrame({"child_id": ["a", "b", "m", "m", "a"],
                            "parent_id": ["r", "a", "a", "b", "gone/absent"],
                            "relation": ["finetune", "adapter", "merge", "merge", "finetune"],
                            "origin": ["tag"] * 5})
    lin = build_lineage(models, parents, LineageSettings())
    traits = pl.DataFrame({"model_id": ["r", "a", "b", "m"],
                           "licenses": [["mit"], ["gpl-3.0"], [], ["mit"]]},
                          schema={"model_id": pl.String, "licenses": STRINGS})
    e = drift_edges(lin.edges, lin.nodes, traits, "all",
                          ["finetune", "adapter", "merge"])
    # the virtual parent has no traits and is left out
    assert e.select("parent_id", "child_id", "relation").rows() == [
        ("r", "a", "finetune"), ("a", "b", "adapter"), ("a", "m", "merge"), ("b", "m", "merge")]
    assert e["p_licenses"].to_list() == [["mit"], ["gpl-3.0"], ["gpl-3.0"], []]
    assert e["c_licenses"].to_list() == [["gpl-3.0"], [], ["mit"], ["mit"]]
    assert e["family"].n_unique() == 1
    ft = drift_edges(lin.edges, lin.nodes, traits, "finetune", ["finetune"])
    assert ft["child_id"].to_list() == ["a"]
    stacked = all_drift_edges(lin.edges, lin.nodes, traits,
                                    {"all": ["finetune", "adapter", "merge"],
                                     "finetune": ["finetune"]})
    split = split_variants(stacked, ["all", "finetune", "merge_only"])
    assert list(split) == ["all", "finetune", "merge_only"]
    assert split["all"].equals(e) and split["finetune"].equals(ft)
    # a configured variant without edges is there, empty, with every column
    assert split["merge_only"].height == 0 and split["merge_only"].columns == e.columns


# --- the simulator: planted drifts found, the null not rejected -------------------------

SIM_MODELS = 30_000
SIM_SEEDS = {"directed": 2, "neutral": 1}
REPLICATES = 500
DRIFT_VARIANTS = ("all", "finetune")


def _simulated_tests(root, scenario: str) -> pl.DataFrame:
    lin, traits, settings = simulated_lineage(root, SIM_MODELS, SIM_SEEDS[scenario], scenario)
    frames = split_variants(all_drift_edges(
        lin.edges, lin.nodes, traits, {v: list(settings.variants[v]) for v in DRIFT_VARIANTS}),
        DRIFT_VARIANTS)
    parts = [drift.drift_tests(frames, REPLICATES, 1)]
    for trait in ("licenses", "tasks"):
        parts.append(drift.transition_analysis(frames, traits, trait, 20, REPLICATES, 1)[1])
    return finalise_tests(parts)


@pytest.fixture(scope="module")
def directed_tests(tmp_path_factory):
    return _simulated_tests(tmp_path_factory.mktemp("drift-directed"), "directed")


@pytest.fixture(scope="module")
def neutral_tests(tmp_path_factory):
    return _simulated_tests(tmp_path_factory.mktemp("drift-neutral"), "neutral")


def _row(tests: pl.DataFrame, test: str, trait: str, variant: str = "all",
         relation: str = "all") -> dict:
    rows = tests.filter((pl.col("test") == test) & (pl.col("trait") == trait)
                        & (pl.col("relation") == relation)
                        & (pl.col("variant") == variant)).to_dicts()
    assert len(rows) == 1, (test, trait, variant, relation)
    return rows[0]


# the planted drifts: (test, trait, is the effect in the planted direction?)
PLANTED = [
    ("paired_difference", "card_length_chars", lambda effect: effect < 0),
    ("paired_difference", "n_languages_listed", lambda effect: effect < 0),
    ("direction_share", "license_toward_open", lambda effect: effect > 0.5),
    ("direction_share", "languages_drop_non_english", lambda effect: effect > 0.5),
    ("transition_directedness", "licenses", lambda effect: True),
    ("transition_directedness", "tasks", lambda effect: True),
]


def test_directed_simulation_drifts_are_found(directed_tests):
    tests = directed_tests
    seen = {f"{test}|{trait}": (round(r["effect"], 4), r["q"], r["n_families"])
            for test, trait, _ in PLANTED for r in [_row(tests, test, trait)]}
    print("directed (effect, q, families):", seen)
    chars = _row(tests, "paired_difference", "card_length_chars")
    assert chars["effect"] < 0 and chars["q"] < 0.05 and chars["direction"] == "child < parent"
    languages = _row(tests, "paired_difference", "n_languages_listed")
    assert languages["effect"] < 0 and languages["q"] < 0.05
    # license class changes are rare and sit in few families (at 30,000 models the share is
    # significant for most seeds, not all), so only the direction is required of them
    assert _row(tests, "direction_share", "license_toward_open")["effect"] > 0.5
    drop = _row(tests, "direction_share", "languages_drop_non_english")
    assert drop["effect"] > 0.5 and drop["q"] < 0.05, drop
    licenses = _row(tests, "transition_directedness", "licenses")
    assert licenses["q"] < 0.05 and licenses["effect"] > 0.5, licenses
    # the same drifts in the fine-tune-only graph
    for test, trait, planted in PLANTED:
        row = _row(tests, test, trait, variant="finetune")
        assert planted(row["effect"]), row
        assert trait == "license_toward_open" or row["q"] < 0.05, row


def test_neutral_simulation_is_not_rejected(neutral_tests):
    tests = neutral_tests
    tested = tests.filter(pl.col("p").is_not_nan())
    share = (tested["q"] < 0.05).mean()
    significant = tested.filter(pl.col("q") < 0.05).select(
        "test", "trait", "relation", "variant", "effect", "q", "n_families").rows()
    print(f"neutral: {share:.3f} of {tested.height} tested rows have q < 0.05: {significant}")
    assert tested.height > 50
    assert share <= 0.15
    for variant in DRIFT_VARIANTS:
        for test, trait, planted in PLANTED:
            row = _row(tests, test, trait, variant=variant)
            assert not (planted(row["effect"]) and row["q"] < 0.01), row


def _calibration_tests(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["test", "trait", "relation", "variant", "direction", "p",
                                      "q"], orient="row")


def test_calibration_counts_planted_drifts_found_in_their_direction():
    from hubanatomy.drift.calibration import calibration_row, calibration_table

    tests = _calibration_tests([
        # found: planted direction at q < 0.05
        ("paired_difference", "card_length_chars", "all", "all", "child < parent", 0.001, 0.01),
        # significant, but against the planted direction: a miss
        ("paired_difference", "card_length_chars", "all", "finetune", "child > parent",
         0.001, 0.01),
        # planted direction, q above the level: a miss
        ("direction_share", "license_toward_open", "all", "all", "toward open", 0.04, 0.2),
        # untested (too few families): a miss, not counted among the tested
        ("direction_share", "license_toward_open", "all", "finetune", None, None, None),
        # not a planted test (a relation other than all): a test, not a planted one
        ("paired_difference", "card_length_chars", "adapter", "all", "child < parent",
         0.5, 0.6),
        # relations differ in both scenarios: not among the directional tests counted
        ("relation_effect", "card_length_chars", "merge vs finetune", "all", "larger for merge",
         0.001, 0.01),
    ])
    row = calibration_row("directed", 3, tests)
    assert (row["directional_tested"], row["planted_tests"], row["planted_found"]) == (4, 4, 1)
    assert row["share_p_below_level"] == 0.75 and row["share_q_below_level"] == 0.5
    assert row["planted_missed"] == ("direction_share:license_toward_open:all;"
                                     "direction_share:license_toward_open:finetune;"
                                     "paired_difference:card_length_chars:finetune")

    neutral = calibration_row("neutral", 3, tests.with_columns(q=pl.lit(0.9), p=pl.lit(0.9)))
    table = calibration_table([row, {**row, "seed": 1, "share_q_below_level": 0.25}, neutral])
    assert table["scenario"].to_list() == ["directed"] * 3 + ["neutral"] * 2
    assert table["seed"].to_list() == [1, 3, None, 3, None]
    summary = table.filter(pl.col("seed").is_null() & (pl.col("scenario") == "directed"))
    assert summary["share_q_below_level"].item() == 0.375
    assert summary["planted_found"].item() == 2 and summary["planted_tests"].item() == 8
    assert table.filter(pl.col("scenario") == "neutral")["share_q_below_level"].to_list() == [0.0,
                                                                                            0.0]
