"""Genetic similarity between relatives (PAPER.md §3).

DNA: (a) a model's list-API metadata JSON string; (b) its model card, kept only when at least
`card_min_chars` long and not auto-generated, truncated to its first `card_chars` characters.
Measures: cosine similarity of bag-of-words and of TF-IDF vectors (`features` features,
unigrams and bigrams, fitted on a seeded sample of all models' texts; sparse throughout), and
normalised Levenshtein similarity 1 - d / max(len) (rapidfuzz, in C++).

Results are means per motif configuration with family-bootstrap intervals; the tests compare
pairs of the same motif occurrences (siblings vs parent-child, parent-child vs grandparent-
grandchild, ...) with family sign-flip tests, and the decline with generational distance with a
family-jackknife regression.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from hubanatomy.drift import result_frame, result_row
from hubanatomy.inference import FamilyBootstrap, clustered_slope_test, family_sign_flip_test

MEASURES = ("tfidf", "bow", "levenshtein")
TEXTS = ("metadata", "cards")


def dna_texts(models: pl.DataFrame, cards: pl.DataFrame, card_min_chars: int,
              card_chars: int) -> dict[str, pl.DataFrame]:
    """text kind -> (model_id, text) of the models that have that DNA."""
    metadata = models.select("model_id", pl.col("metadata_json").alias("text")).drop_nulls()
    card = (cards.filter((pl.col("status") == "ok") & (pl.col("length_chars") >= card_min_chars)
                         & ~pl.col("auto_generated"))
            .select("model_id", pl.col("card").str.slice(0, card_chars).alias("text")))
    return {"metadata": metadata, "cards": card}


def fit_vectorizers(texts: pl.Series, features: int, sample: int, seed: int) -> dict:
    """BoW and TF-IDF vectorizers fitted on a seeded sample of the texts."""
    if len(texts) > sample:
        texts = texts.sample(sample, seed=seed)
    corpus = texts.to_list()
    options = {"max_features": features, "ngram_range": (1, 2), "dtype": np.float32}
    return {"bow": CountVectorizer(**options).fit(corpus),
            "tfidf": TfidfVectorizer(**options).fit(corpus)}


def pair_similarities(a: list[str], b: list[str], vectorizers: dict,
                      workers: int = 1) -> dict[str, np.ndarray]:
    """measure -> similarity of a[i] and b[i] for every i."""
    out = {}
    for name in ("tfidf", "bow"):
        va = normalize(vectorizers[name].transform(a))
        vb = normalize(vectorizers[name].transform(b))
        out[name] = np.asarray(va.multiply(vb).sum(axis=1)).ravel()
    out["levenshtein"] = process.cpdist(a, b, scorer=Levenshtein.normalized_similarity,
                                        workers=workers).astype(np.float64)
    return out


def score_pairs(pairs: pl.DataFrame, texts: pl.DataFrame, ids: pl.Series, vectorizers: dict,
                workers: int = 1) -> pl.DataFrame:
    """The sampled pairs (node ids a, b) with a similarity column per measure, for the pairs
    whose two models both have this DNA."""
    lookup = pl.DataFrame({"node": np.arange(len(ids)), "model_id": ids}).join(
        texts, on="model_id")
    scored = (pairs.join(lookup.select(pl.col("node").alias("a"), pl.col("text").alias("ta")),
                         on="a")
              .join(lookup.select(pl.col("node").alias("b"), pl.col("text").alias("tb")),
                    on="b")
              .sort(["motif", "configuration", "occurrence"]))
    if scored.height == 0:
        return scored.drop("ta", "tb").with_columns(
            [pl.lit(None, pl.Float64).alias(m) for m in MEASURES])
    sims = pair_similarities(scored["ta"].to_list(), scored["tb"].to_list(), vectorizers,
                             workers)
    return scored.drop("ta", "tb").with_columns(pl.Series(m, sims[m]) for m in MEASURES)


def similarity_table(scored: dict[tuple[str, str], pl.DataFrame], replicates: int,
                     seed: int) -> pl.DataFrame:
    """Mean similarity per (text, variant, motif, configuration, measure) with a family-
    bootstrap interval. scored: (text, variant) -> score_pairs output."""
    rows = []
    for (text, variant), frame in scored.items():
        if frame.height == 0:
            continue
        boot = FamilyBootstrap(frame["family"].to_numpy(), replicates, seed)
        keys = frame.select("motif", "configuration", "pair_kind",
                            "generations_apart").unique(maintain_order=True)
        motif = frame["motif"].to_numpy()
        configuration = frame["configuration"].to_numpy()
        for m, c, _, _ in keys.iter_rows():
            mask = (motif == m) & (configuration == c)
            for measure in MEASURES:
                boot.add(f"{m}|{c}|{measure}", frame[measure].to_numpy(), mask)
        stats = boot.compute()
        for m, c, kind, apart in keys.iter_rows():
            for measure in MEASURES:
                s = stats[f"{m}|{c}|{measure}"]
                rows.append({"text": text, "measure": measure, "variant": variant,
                             "motif": m, "configuration": c, "pair_kind": kind,
                             "generations_apart": apart, "mean": s["mean"], "ci_low": s["low"],
                             "ci_high": s["high"], "n": s["n_edges"],
                             "families": s["n_families"]})
    return pl.DataFrame(rows)


# (motif, configuration expected higher, configuration compared, what it checks)
PAIRED_COMPARISONS = [
    ("two_children", "siblings", "parent-child", "siblings more similar than parent-child"),
    ("fork_below", "siblings", "parent-child (lower)",
     "siblings more similar than their parent and them"),
    ("uncle", "parent-child (upper)", "siblings (parent and uncle)",
     "uncle motif: parent-child vs the siblings (the paper's exception)"),
    ("chain", "parent-child (upper)", "grandparent-grandchild",
     "parent-child more similar than grandparent-grandchild"),
]


def similarity_tests(scored: dict[tuple[str, str], pl.DataFrame], replicates: int,
                     seed: int) -> pl.DataFrame:
    """Paired sign-flip tests within motif occurrences, and the slope of similarity on
    generations apart along long chains (family-jackknife regression)."""
    rows = []
    for (text, variant), frame in scored.items():
        for measure in MEASURES:
            for motif, higher, lower, what in PAIRED_COMPARISONS:
                wide = (frame.filter(pl.col("motif") == motif)
                        .pivot(on="configuration", index=["occurrence", "family"],
                               values=measure))
                if higher not in wide.columns or lower not in wide.columns:
                    continue
                wide = wide.drop_nulls([higher, lower])
                diff = (wide[higher] - wide[lower]).to_numpy()
                result = family_sign_flip_test(diff, wide["family"].to_numpy(), 0.0,
                                               replicates, seed)
                rows.append(result_row(
                    "similarity_paired", f"{what} ({text} {measure}): mean of "
                    f"{higher} minus {lower} within {motif} motifs", f"{text} {measure}",
                    motif, variant, result, _direction(result["effect"], higher, lower)))
            chain = frame.filter((pl.col("motif") == "long_chain")
                                 & pl.col(measure).is_not_null())
            result = clustered_slope_test(chain[measure].to_numpy(),
                            chain["generations_apart"].to_numpy().astype(float),
                            chain["family"].to_numpy())
            rows.append(result_row(
                "similarity_decline", f"slope of {text} {measure} similarity on generations "
                "apart (1-3) along four-generation chains", f"{text} {measure}", "long_chain",
                variant, result, _direction(result["effect"], "rises with distance",
                                            "falls with distance", plain=True)))
    return result_frame(rows)


def _direction(effect: float, higher: str, lower: str, plain: bool = False) -> str:
    if not np.isfinite(effect):
        return "not tested (too few families)"
    if plain:
        return higher if effect > 0 else lower
    return f"{higher} higher" if effect > 0 else f"{lower} higher"
