"""Genetic similarity (hubanatomy.similarity.score) against hand computation and sklearn."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest
from conftest import simulated_lineage
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from hubanatomy.similarity.motifs import sample_all_pairs
from hubanatomy.similarity.plots import diff_segments
from hubanatomy.similarity.score import (
    MEASURES,
    diff_pair,
    fit_vectorizers,
    read_dna,
    score_all,
    score_pairs,
    similarity_table,
    similarity_tests,
    split_scored,
)
from hubanatomy.snapshot.files import CARDS, MODELS
from hubanatomy.stats.tables import TEST_COLUMNS

# ---------------------------------------------------------------------------------------------
# independent references


def edit_distance(s: str, t: str) -> int:
    """Levenshtein distance by dynamic programming."""
    previous = list(range(len(t) + 1))
    for i, a in enumerate(s, 1):
        current = [i]
        for j, b in enumerate(t, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def levenshtein_similarity(s: str, t: str) -> float:
    longest = max(len(s), len(t))
    return 1.0 if longest == 0 else 1 - edit_distance(s, t) / longest


def cosine(x: np.ndarray, y: np.ndarray) -> float:
    nx, ny = np.sqrt((x * x).sum()), np.sqrt((y * y).sum())
    return 0.0 if nx == 0 or ny == 0 else float((x * y).sum() / (nx * ny))


def reference_vectors(fit_texts: list[str], texts: list[str], features: int):
    """Bag-of-words counts and TF-IDF weights (smooth idf, by hand) of texts, on the
    vocabulary of the `features` most frequent unigrams and bigrams of fit_texts."""
    counter = CountVectorizer(max_features=features, ngram_range=(1, 2))
    fit_counts = counter.fit_transform(fit_texts).toarray().astype(float)
    n = len(fit_texts)
    df = (fit_counts > 0).sum(axis=0)
    idf = np.log((1 + n) / (1 + df)) + 1
    counts = counter.transform(texts).toarray().astype(float)
    return counts, counts * idf


# ---------------------------------------------------------------------------------------------
# 5. score_pairs on hand-made texts

TEXTS = {
    "org/m0": "the quick brown fox jumps over the lazy dog",
    "org/m1": "the quick brown fox jumps over the lazy dog",
    "org/m2": "a quick red fox leaps over a sleeping dog",
    "org/m3": "lazy dogs sleep all day long, the lazy dogs",
    "org/m4": "the brown dog and the red fox and the brown fox",
    "org/elsewhere": "a model with DNA that is not in the snapshot's nodes",
}
IDS = pl.Series("model_id", ["org/m0", "org/m1", "org/m2", "org/m3", "org/m4", "org/m5"])
FEATURES = 12


def hand_texts() -> pl.DataFrame:
    return pl.DataFrame({"model_id": list(TEXTS), "text": list(TEXTS.values())})


def hand_pairs() -> pl.DataFrame:
    a = [0, 0, 0, 2, 0, 1, 5, 3, 0, 4, 2, 1]
    b = [1, 2, 3, 0, 4, 5, 2, 4, 2, 0, 3, 4]
    return pl.DataFrame({"a": a, "b": b, "tag": [f"p{i}" for i in range(len(a))]})


def test_score_pairs_matches_references():
    texts = hand_texts()
    vectorizers = fit_vectorizers(texts["text"], FEATURES, 1000, 0)
    scored = score_pairs(hand_pairs(), texts, IDS, vectorizers)
    # pairs with org/m5 (no DNA) are dropped, the others keep their order and extra columns
    keep = [r for r in hand_pairs().iter_rows(named=True) if 5 not in (r["a"], r["b"])]
    assert scored["tag"].to_list() == [r["tag"] for r in keep]
    assert scored.columns == ["a", "b", "tag", *MEASURES]

    fit = list(TEXTS.values())
    model_text = [TEXTS[m] for m in IDS.to_list()[:5]]
    counts, tfidf = reference_vectors(fit, model_text, FEATURES)
    assert (counts.sum(axis=1) > 0).all()  # every text has words of the vocabulary
    for r in scored.iter_rows(named=True):
        a, b = r["a"], r["b"]
        assert r["bow"] == pytest.approx(cosine(counts[a], counts[b]), abs=1e-6)
        assert r["tfidf"] == pytest.approx(cosine(tfidf[a], tfidf[b]), abs=1e-6)
        assert r["levenshtein"] == pytest.approx(
            levenshtein_similarity(model_text[a], model_text[b]), abs=1e-6)  # float32
    # identical texts: 1.0 on every measure
    same = scored.filter((pl.col("a") == 0) & (pl.col("b") == 1))
    for measure in MEASURES:
        assert same[measure][0] == pytest.approx(1.0, abs=1e-6)
    # different texts are not
    other = scored.filter((pl.col("a") == 0) & (pl.col("b") == 3))
    for measure in MEASURES:
        assert other[measure][0] < 0.9


def test_score_pairs_vectorises_each_model_once():
    """A model in many pairs gets the same vector in each: symmetric and repeated pairs agree,
    and a pair scores the same alone as in a batch."""
    texts = hand_texts()
    vectorizers = fit_vectorizers(texts["text"], FEATURES, 1000, 0)
    scored = score_pairs(hand_pairs(), texts, IDS, vectorizers)
    value = {}
    for r in scored.iter_rows(named=True):
        for measure in MEASURES:
            key = (min(r["a"], r["b"]), max(r["a"], r["b"]), measure)
            if key in value:
                assert r[measure] == pytest.approx(value[key], abs=1e-9)
            value[key] = r[measure]
    assert ((0, 2, "tfidf") in value) and ((0, 4, "tfidf") in value)
    for a, b in [(0, 2), (3, 4), (4, 0)]:
        alone = score_pairs(pl.DataFrame({"a": [a], "b": [b]}), texts, IDS, vectorizers)
        for measure in MEASURES:
            assert alone[measure][0] == pytest.approx(
                value[(min(a, b), max(a, b), measure)], abs=1e-6)


def test_score_pairs_without_dna():
    texts = hand_texts()
    vectorizers = fit_vectorizers(texts["text"], FEATURES, 1000, 0)
    scored = score_pairs(pl.DataFrame({"a": [5, 0], "b": [1, 5]}), texts, IDS, vectorizers)
    assert scored.height == 0
    assert set(MEASURES) <= set(scored.columns)


# ---------------------------------------------------------------------------------------------
# 6. fit_vectorizers


def sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(40)] + ["model", "fine", "tuned", "base", "lora"]
    return [" ".join(rng.choices(words, k=rng.randint(3, 20))) for _ in range(n)]


def test_fit_vectorizers_equals_tfidf_vectorizer():
    texts = sentences(60, 1)
    features = 50
    v = fit_vectorizers(pl.Series(texts), features, 1000, 0)
    reference = TfidfVectorizer(max_features=features, ngram_range=(1, 2))
    expected = reference.fit_transform(texts).toarray()
    assert v["bow"].vocabulary_ == reference.vocabulary_
    got = v["tfidf"].transform(v["bow"].transform(texts)).toarray()
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(v["tfidf"].idf_, reference.idf_, rtol=1e-6)


def test_fit_vectorizers_sample_is_seeded():
    # every text has its own two words, so the vocabulary tells which texts were sampled
    texts = pl.Series([f"t{i}x t{i}y" for i in range(40)])
    vocabularies = {}
    for seed in (0, 0, 1):
        v = fit_vectorizers(texts, 1000, 5, seed)
        sampled = {w.split()[0][:-1] for w in v["bow"].vocabulary_}
        assert len(sampled) == 5
        # unigrams and the bigram of each sampled text
        assert len(v["bow"].vocabulary_) == 5 * 3
        vocabularies.setdefault(seed, []).append(sorted(v["bow"].vocabulary_))
    assert vocabularies[0][0] == vocabularies[0][1]
    assert vocabularies[0][0] != vocabularies[1][0]
    # no sampling when the texts fit
    everything = fit_vectorizers(texts, 1000, 40, 3)
    assert len(everything["bow"].vocabulary_) == 40 * 3


# ---------------------------------------------------------------------------------------------
# 7. read_dna


def test_read_dna_filters_and_truncates(tmp_path):
    models = pl.DataFrame({"model_id": ["a", "b", "c"],
                           "metadata_json": ['{"id":"a"}', None, '{"id":"c"}']})
    long_card = "x" * 40 + "TAIL"
    cards = pl.DataFrame({
        "model_id": ["a", "b", "c", "d", "e", "f", "g"],
        "card": [long_card, "y" * 20, "z" * 19, "w" * 30, "v" * 30, "u" * 25, None],
        "status": ["ok", "ok", "ok", "ok", "missing", "ok", "missing"],
        "auto_generated": [False, False, False, True, False, False, False],
    }).with_columns(length_chars=pl.col("card").str.len_chars().fill_null(0))
    models.write_parquet(tmp_path / "models.parquet")
    cards.write_parquet(tmp_path / "cards.parquet")
    out = read_dna(tmp_path / MODELS, tmp_path / CARDS, card_min_chars=20, card_chars=25)
    assert set(out) == {"metadata", "cards"}
    assert dict(out["metadata"].iter_rows()) == {"a": '{"id":"a"}', "c": '{"id":"c"}'}
    # a: truncated to 25; b: exactly the minimum, kept whole; c: too short; d: auto-generated;
    # e: not fetched; f: kept (25 characters); g: missing
    assert dict(out["cards"].iter_rows()) == {"a": "x" * 25, "b": "y" * 20, "f": "u" * 25}
    assert out["cards"].columns == ["model_id", "text"]


# ---------------------------------------------------------------------------------------------
# 8. a small simulated Hub, end to end


@pytest.fixture(scope="module")
def simulated_scores(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    lineage, _, settings = simulated_lineage(root, 15_000, 3, "directed")
    variants = {"finetune": list(settings.variants["finetune"]),
                "all": list(settings.variants["all"])}
    pairs = sample_all_pairs(lineage.nodes, lineage.edges, variants, 300, 1)
    dna = read_dna(root / "snap" / MODELS, root / "snap" / CARDS, 512, 512)
    scored = score_all(pairs, dna, lineage.nodes["model_id"], 512,
                       20_000, 1)
    split = split_scored(scored)
    return {"lineage": lineage, "variants": variants, "pairs": pairs, "scored": scored,
            "table": similarity_table(split, 200, 1), "tests": similarity_tests(split, 200, 1)}


def test_simulated_pairs_follow_the_variant_graph(simulated_scores):
    lineage, pairs = simulated_scores["lineage"], simulated_scores["pairs"]
    assert set(pairs["variant"].unique()) == {"finetune", "all"}
    for variant, relations in simulated_scores["variants"].items():
        edges = lineage.edges.filter(~pl.col("parent_virtual")
                                     & pl.col("primary_relation").is_in(relations))
        edge_set = set(zip(edges["parent_node"].to_list(), edges["child_node"].to_list(),
                           strict=True))
        pc = pairs.filter((pl.col("variant") == variant) & (pl.col("pair_kind") == "parent-child"))
        assert pc.height > 0
        assert all(e in edge_set for e in zip(pc["a"].to_list(), pc["b"].to_list(),
                                              strict=True))
        real = int((~lineage.nodes["virtual"]).sum())
        assert pairs.filter(pl.col("variant") == variant)["a"].max() < real


def test_similarity_table_on_simulated_hub(simulated_scores):
    table = simulated_scores["table"]
    assert set(table["text"].unique()) == {"metadata", "cards"}
    assert set(table["measure"].unique()) == set(MEASURES)
    assert table["mean"].is_between(0, 1 + 1e-9).all()
    assert (table["ci_low"] <= table["mean"] + 1e-12).all()
    assert (table["mean"] <= table["ci_high"] + 1e-12).all()
    metadata = table.filter((pl.col("text") == "metadata") & (pl.col("measure") == "tfidf"))
    for variant in ("finetune", "all"):
        rows = metadata.filter(pl.col("variant") == variant)
        random_mean = rows.filter(pl.col("motif") == "random")["mean"][0]
        pc = rows.filter(pl.col("motif") == "edge")
        assert random_mean < pc["mean"][0]
        assert rows.filter(pl.col("motif") == "random")["ci_high"][0] < pc["ci_low"][0]
        # every parent-child configuration is above random pairs
        assert (rows.filter(pl.col("pair_kind") == "parent-child")["mean"] > random_mean).all()


def test_similarity_table_means_are_pair_means(simulated_scores):
    """The table's mean is the plain mean of the scored pairs of that configuration."""
    scored, table = simulated_scores["scored"], simulated_scores["table"]
    for r in table.sample(20, seed=0).iter_rows(named=True):
        values = scored.filter((pl.col("text") == r["text"]) & (pl.col("variant") == r["variant"])
                               & (pl.col("motif") == r["motif"])
                               & (pl.col("configuration") == r["configuration"]))[r["measure"]]
        assert r["n"] == len(values)
        assert r["mean"] == pytest.approx(sum(values.to_list()) / len(values), rel=1e-9)


def test_similarity_tests_on_simulated_hub(simulated_scores):
    tests = simulated_scores["tests"]
    assert tests.columns == [c for c in TEST_COLUMNS if c != "q"]
    assert set(tests["test"].unique()) == {"similarity_paired", "similarity_decline"}
    decline = tests.filter((pl.col("test") == "similarity_decline")
                           & (pl.col("trait") == "metadata tfidf"))
    assert decline.height == 2
    for r in decline.iter_rows(named=True):
        # finetune: -0.131 [-0.141, -0.121], 15 families; all: -0.146 [-0.171, -0.121], 17
        assert r["effect"] < 0 and r["ci_high"] < 0 and r["p"] < 0.01, r
        assert r["direction"] == "falls with distance"
        assert r["n_edges"] == 300 * 6
    # parent-child more similar than grandparent-grandchild in chains
    chain = tests.filter((pl.col("relation") == "chain") & (pl.col("trait") == "metadata tfidf"))
    assert (chain["effect"] > 0).all()
    assert (chain["direction"] == "parent-child (upper) higher").all()


# ---------------------------------------------------------------------------------------------
# 9. diff_segments


def diff_cases() -> list[tuple[str, str]]:
    rng = random.Random(4)
    cases = [("", ""), ("", "abc"), ("abc", ""), ("same", "same"),
             ('{"id":"org/base","tags":["a","b"]}', '{"id":"me/tuned","tags":["a","b","c"]}'),
             ("kitten", "sitting")]
    for _ in range(40):
        parent = "".join(rng.choices("abcde\n{}", k=rng.randint(0, 60)))
        child = list(parent)
        for _ in range(rng.randint(0, 10)):
            op, at = rng.random(), rng.randint(0, len(child))
            if op < 0.4:
                child.insert(at, rng.choice("xyz"))
            elif op < 0.7 and at < len(child):
                del child[at]
            elif at < len(child):
                child[at] = rng.choice("xyz")
        cases.append((parent, "".join(child)))
    return cases


@pytest.mark.parametrize("parent, child", diff_cases())
def test_diff_segments_rebuild_both_strings(parent, child):
    ours, theirs = diff_segments(parent, child)
    assert {kind for _, kind in ours} <= {"equal", "substituted", "deleted"}
    assert {kind for _, kind in theirs} <= {"equal", "substituted", "inserted"}
    assert "".join(text for text, _ in ours) == parent
    assert "".join(text for text, _ in theirs) == child
    assert [t for t, k in ours if k == "equal"] == [t for t, k in theirs if k == "equal"]
    assert all(text for text, _ in ours + theirs)  # no empty segment


# ---------------------------------------------------------------------------------------------
# 10. diff_pair


def diff_frames():
    nodes = pl.DataFrame({
        "model_id": ["small/base", "big/base", "big/mid", "huge/virtual", "huge/adapted",
                     "big/zeta", "big/alpha", "big/leaf", "small/child", "huge/child"],
        "family_size_finetune": [2, 5, 5, 50, 40, 5, 5, 5, 2, 50],
        "children_finetune": [1, 2, 3, 9, 9, 0, 0, 0, 0, 0],
    })
    edges = pl.DataFrame({
        "parent_id": ["small/base", "big/base", "big/base", "big/mid", "big/mid", "big/mid",
                      "huge/virtual", "huge/adapted"],
        "child_id": ["small/child", "big/mid", "big/other", "big/zeta", "big/alpha", "big/leaf",
                     "huge/child", "huge/child"],
        "primary_relation": ["finetune", "finetune", "finetune", "finetune", "finetune",
                             "finetune", "finetune", "adapter"],
        "parent_virtual": [False, False, False, False, False, False, True, False],
    })
    return nodes, edges


def test_diff_pair_configured_pair_is_returned_as_is():
    nodes, edges = diff_frames()
    assert diff_pair(nodes, edges, ["any/parent", "any/child"]) == ("any/parent", "any/child")


def test_diff_pair_largest_finetune_family():
    nodes, edges = diff_frames()
    # the virtual parent and the adapter edge do not count; in the largest family (size 5) the
    # parent with most fine-tunes is big/mid, and its alphabetically first fine-tune big/alpha
    assert diff_pair(nodes, edges, None) == ("big/mid", "big/alpha")
    # without big/mid's edges: big/base, its first fine-tune alphabetically
    rest = edges.filter(pl.col("parent_id") != "big/mid")
    assert diff_pair(nodes, rest, None) == ("big/base", "big/mid")


def test_diff_pair_without_finetunes():
    nodes, edges = diff_frames()
    assert diff_pair(nodes, edges.filter(pl.col("primary_relation") != "finetune"), None) is None
