"""Genetic similarity between relatives (docs/method.md#similarity).

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

from hubanatomy.stats.inference import FamilyBootstrap, clustered_slope_test, family_sign_flip_test
from hubanatomy.stats.tables import result_frame, result_row

MEASURES = ("tfidf", "bow", "levenshtein")
TEXTS = ("metadata", "cards")
SIMILARITY_SCHEMA = {"text": pl.String, "measure": pl.String, "variant": pl.String,
                     "motif": pl.String, "configuration": pl.String, "pair_kind": pl.String,
                     "generations_apart": pl.Int64, "mean": pl.Float64, "ci_low": pl.Float64,
                     "ci_high": pl.Float64, "n": pl.Int64, "families": pl.Int64}


def read_dna(models, cards, card_min_chars: int, card_chars: int) -> dict[str, pl.DataFrame]:
    """text kind -> (model_id, text) of the models that have that DNA (from the snapshot's
    models and cards files), read with the filters pushed into the parquet scan (the full cards
    never sit in memory)."""
    metadata = (pl.scan_parquet(models)
                .select("model_id", pl.col("metadata_json").alias("text")).drop_nulls())
    card = (pl.scan_parquet(cards)
            .filter((pl.col("status") == "ok") & (pl.col("length_chars") >= card_min_chars)
                    & ~pl.col("auto_generated"))
            .select("model_id", pl.col("card").str.slice(0, card_chars).alias("text")))
    return {"metadata": metadata.collect(), "cards": card.collect()}


def fit_vectorizers(texts: pl.Series, features: int, sample: int, seed: int) -> dict:
    """One bag-of-words vocabulary (the `features` most frequent unigrams and bigrams) fitted
    on a seeded sample of the texts, and TF-IDF weights on the same vocabulary (what
    TfidfVectorizer with max_features would give, for one tokenisation pass instead of two)."""
    # scikit-learn is imported where it is used: 1.5 s that the figure and table jobs
    # importing this module would pay for nothing
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    if len(texts) > sample:
        texts = texts.sample(sample, seed=seed)
    counter = CountVectorizer(max_features=features, ngram_range=(1, 2), dtype=np.float32)
    counts = counter.fit_transform(texts.to_list())
    return {"bow": counter, "tfidf": TfidfTransformer().fit(counts)}


def score_pairs(pairs: pl.DataFrame, texts: pl.DataFrame, ids: pl.Series, vectorizers: dict,
                workers: int = 1) -> pl.DataFrame:
    """The sampled pairs (node ids a, b; any extra columns kept) with a similarity column per
    measure, for the pairs whose two models both have this DNA. Each model's text is
    vectorised once, however many pairs it is in."""
    nodes = pl.concat([pairs["a"], pairs["b"]]).unique().sort().to_frame("node")
    lookup = (nodes.with_columns(model_id=ids.gather(nodes["node"]))
              .join(texts, on="model_id").select("node", "text"))
    have = lookup["node"].implode()
    scored = pairs.filter(pl.col("a").is_in(have) & pl.col("b").is_in(have))
    if scored.height == 0:
        return scored.with_columns([pl.lit(None, pl.Float64).alias(m) for m in MEASURES])
    from sklearn.preprocessing import normalize  # slow import: see fit_vectorizers

    used = lookup.sort("node")
    row = np.full(len(ids), -1, dtype=np.int64)
    row[used["node"].to_numpy()] = np.arange(used.height)
    counts = vectorizers["bow"].transform(used["text"].to_list())
    vectors = {"bow": normalize(counts), "tfidf": normalize(vectorizers["tfidf"].transform(counts))}
    a, b = row[scored["a"].to_numpy()], row[scored["b"].to_numpy()]
    sims = {m: np.asarray(v[a].multiply(v[b]).sum(axis=1)).ravel() for m, v in vectors.items()}
    text = used["text"].to_list()
    sims["levenshtein"] = process.cpdist([text[i] for i in a], [text[i] for i in b],
                                         scorer=Levenshtein.normalized_similarity,
                                         workers=workers).astype(np.float64)
    return scored.with_columns(pl.Series(m, sims[m], dtype=pl.Float64) for m in MEASURES)


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
    return pl.DataFrame(rows, schema=SIMILARITY_SCHEMA)


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


def score_all(pairs: pl.DataFrame, dna_texts: dict[str, pl.DataFrame], ids: pl.Series,
              features: int, fit_sample: int, seed: int, workers: int = 1) -> pl.DataFrame:
    """Every sampled pair scored on both DNAs (read_dna), stacked with a `text` column."""
    frames = []
    for text, dna in dna_texts.items():
        if dna.height < 2:
            continue
        vectorizers = fit_vectorizers(dna["text"], features, fit_sample, seed)
        frames.append(score_pairs(pairs, dna, ids, vectorizers, workers)
                      .select(pl.lit(text).alias("text"), pl.all()))
    if not frames:  # no DNA has two texts to compare: the columns, no row
        frames.append(pairs.clear().select(pl.lit(None, pl.String).alias("text"), pl.all())
                      .with_columns(pl.lit(None, pl.Float64).alias(m) for m in MEASURES))
    return pl.concat(frames)


def split_scored(scored: pl.DataFrame) -> dict[tuple[str, str], pl.DataFrame]:
    return {(t, v): scored.filter((pl.col("text") == t) & (pl.col("variant") == v))
            .drop("text", "variant")
            for t, v in scored.select("text", "variant").unique(maintain_order=True).iter_rows()}


def diff_pair(nodes: pl.DataFrame, edges: pl.DataFrame,
              chosen: list[str] | None) -> tuple[str, str] | None:
    """Figure 4's pair: the configured (parent, child), else a parent and its fine-tune from
    the largest family of the fine-tune graph (the parent with most fine-tunes, its
    alphabetically first fine-tune); None when there is no fine-tune edge with both ends in the
    snapshot."""
    if chosen:
        return chosen[0], chosen[1]
    finetunes = edges.filter((pl.col("primary_relation") == "finetune")
                             & ~pl.col("parent_virtual"))
    if finetunes.height == 0:
        return None
    sizes = nodes.select(pl.col("model_id").alias("parent_id"), "family_size_finetune",
                         pl.col("children_finetune"))
    best = (finetunes.join(sizes, on="parent_id")
            .sort(["family_size_finetune", "children_finetune", "parent_id", "child_id"],
                  descending=[True, True, False, False]).row(0, named=True))
    return best["parent_id"], best["child_id"]
