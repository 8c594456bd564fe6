"""Ecosystem simulator: a generative model of the Hub written in the Hub's own raw shapes.

`simulate()` builds the lineage (lineage.py), the traits (traits.py) and the texts (text.py),
then writes, chunk by chunk, the raw format that a crawl also produces (raw.py):
models/part-*.jsonl in the list-API shape, cards/part-*.jsonl, plus ground_truth.json and
truth.parquet with everything that was planted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from hubanatomy.progress import Progress
from hubanatomy.simulator.calibration import RELATIONS, Calibration
from hubanatomy.simulator.lineage import Lineage, build_lineage
from hubanatomy.simulator.ragged import Ragged
from hubanatomy.simulator.text import (
    ADAPTER_SUFFIXES,
    FINETUNE_SUFFIXES,
    MERGE_SUFFIXES,
    QUANT_SUFFIXES,
    VARIANTS,
    card_column,
    choose,
    choose_grouped,
    paragraph_pool,
    pick,
    random_words,
)
from hubanatomy.simulator.traits import EXTRA_TAGS, Traits, simulate_traits
from hubanatomy.snapshot import raw

log = logging.getLogger(__name__)

SCENARIOS = ("directed", "neutral")
CHUNK = 100_000
SIBLING_FILES = {
    "transformers": ["config.json", "model.safetensors", "tokenizer.json",
                     "tokenizer_config.json", "special_tokens_map.json"],
    "peft": ["adapter_config.json", "adapter_model.safetensors"],
    "diffusers": ["model_index.json", "unet/diffusion_pytorch_model.safetensors",
                  "vae/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"],
    "gguf": ["model.Q4_K_M.gguf", "model.Q8_0.gguf"],
    "sentence-transformers": ["modules.json", "config_sentence_transformers.json",
                              "model.safetensors", "1_Pooling/config.json"],
    "stable-baselines3": ["model.zip", "results.json", "replay.mp4"],
    "ml-agents": ["model.onnx", "config.json", "run_logs/timers.json"],
}
DEFAULT_FILES = ["pytorch_model.bin", "config.json"]


def simulate(models: int, seed: int, scenario: str, out_dir: str | Path,
             chunk: int = CHUNK, mutation: dict | None = None) -> dict:
    """Write a simulated raw Hub of `models` models to out_dir; return the ground truth.
    mutation: overrides of the calibration's `mutation` rates (e.g. sibling_shared)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if models < 10:
        raise ValueError(f"the simulator needs at least 10 models, got {models}")
    out = Path(out_dir)
    cal = Calibration.default()
    unknown = set(mutation or {}) - set(cal.raw["mutation"])
    if unknown:
        raise ValueError(f"unknown mutation parameters {sorted(unknown)}")
    cal.raw["mutation"].update(mutation or {})
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    lin_rng, trait_rng, name_rng, quirk_rng, text_rng, pool_rng = streams

    log.info("simulating %d models, scenario %s, seed %d", models, scenario, seed)
    lin = build_lineage(models, cal, lin_rng)
    traits = simulate_traits(lin, cal, scenario, trait_rng)
    ids = _model_ids(lin, cal, name_rng)
    hidden, declared, quirks = _plant_quirks(lin, ids, cal, quirk_rng)
    pool = pl.Series(paragraph_pool(pool_rng), dtype=pl.String)
    log.info("lineage and traits done: %d edges", len(lin.parents.values))

    writer = raw.RawWriter(out)
    progress = Progress("writing raw shards", total=lin.n, unit="models")
    for part, start in enumerate(range(0, lin.n, chunk)):
        stop = min(lin.n, start + chunk)
        frame = _chunk_frame(lin, traits, cal, ids, declared, hidden, pool, start, stop,
                             quirks, text_rng)
        writer.write_models(part, _list_api_frame(frame))
        writer.write_cards(part, frame.select(
            pl.col("id"),
            pl.when(pl.col("has_card")).then(pl.lit("ok")).otherwise(pl.lit("missing"))
            .alias("status"),
            pl.col("card"),
        ))
        progress.update(stop - start)
    progress.close()

    truth = _ground_truth(lin, traits, cal, ids, hidden, quirks, models, seed, scenario)
    truth_nodes = pl.DataFrame({
        "model_id": ids,
        "kind": pl.Series(np.asarray(cal.kinds)[lin.kind]),
        "generation": lin.generation.astype(np.int32),
        "relation": pl.Series([None, *RELATIONS])[lin.relation.astype(np.int64) + 1],
        "family_root_id": ids.gather(lin.family),
        "parent_ids": pl.Series(_ragged_strings(lin.parents, ids.to_arrow())),
        "hidden": hidden,
    })
    writer.finish(
        source={"kind": "simulated", "models": models, "seed": seed, "scenario": scenario,
                "calibration_sha256": cal.sha256, **({"mutation": mutation} if mutation else {})},
        ground_truth=truth, truth_nodes=truth_nodes,
    )
    return truth


# --- ids --------------------------------------------------------------------------------

def _model_ids(lin: Lineage, cal: Calibration, rng) -> pl.Series:
    """Unique (case-insensitively, as on the Hub) ids, children named after their parents."""
    n = lin.n
    n_users = max(100, n // 6)
    digits = pl.Series(rng.integers(1, 999, n_users)).cast(pl.String)
    users = random_words(rng, n_users, (2, 3)) + pl.select(
        pl.when(pl.Series(rng.random(n_users) < 0.4)).then(digits).otherwise(pl.lit(""))
    ).to_series()
    n_orgs = max(20, int(lin.popular.sum()) // 3)
    orgs = random_words(rng, n_orgs, (2, 3), capital=True) + choose(
        rng, ("-AI", "Labs", "-research", "", "AI", "-ml"), n_orgs)
    user_p = (np.arange(1, n_users + 1) + 10.0) ** -1.0
    user_p /= user_p.sum()

    starts = lin.generation_starts
    names = pl.Series([], dtype=pl.String)
    existing = pl.Series([], dtype=pl.String)
    ids = pl.Series([], dtype=pl.String)
    for g in range(len(starts) - 1):
        rows = np.arange(starts[g], starts[g + 1])
        size = len(rows)
        if g == 0:
            kinds = [cal.kind(k)["size_suffixes"] for k in range(len(cal.kinds))]
            name = (random_words(rng, size, (2, 3), capital=True) + "-"
                    + choose_grouped(rng, kinds, lin.kind[rows]) + choose(rng, VARIANTS, size))
            owner = pl.select(pl.when(pl.Series(lin.popular[rows]))
                              .then(orgs.gather(rng.integers(0, n_orgs, size)))
                              .otherwise(users.gather(rng.choice(n_users, size, p=user_p))))
            owner = owner.to_series()
        else:
            parent_name = names.gather(lin.primary_parent()[rows])
            relation = lin.relation[rows]
            suffix = choose_grouped(rng, [FINETUNE_SUFFIXES, ADAPTER_SUFFIXES, QUANT_SUFFIXES,
                                          MERGE_SUFFIXES], relation)
            merge_prefix = pl.select(
                pl.when(pl.Series(relation == RELATIONS.index("merge")))
                .then(random_words(rng, size, (2, 2), capital=True) + "-")
                .otherwise(pl.lit(""))).to_series()
            name = (merge_prefix + parent_name + "-" + suffix).str.slice(0, 90)
            owner = users.gather(rng.choice(n_users, size, p=user_p))
        new_ids, name = _deduplicate(owner, name, existing)
        names = pl.concat([names, name])
        ids = pl.concat([ids, new_ids])
        existing = pl.concat([existing, new_ids.str.to_lowercase()])
    return ids.alias("model_id")


def _deduplicate(owner: pl.Series, name: pl.Series, existing: pl.Series):
    """Append -2, -3, ... to names whose id is taken (ids compare case-insensitively)."""
    for _ in range(10):
        key = (owner + "/" + name).str.to_lowercase()
        frame = pl.DataFrame({"k": key}).with_columns(
            rank=pl.int_range(pl.len()).over("k"), taken=pl.col("k").is_in(existing.implode()))
        clash = (frame["rank"] + frame["taken"].cast(pl.Int64)).to_numpy()
        if not clash.any():
            return owner + "/" + name, name
        name = pl.select(pl.when(pl.Series(clash > 0))
                         .then(name + "-" + pl.Series(clash + 1).cast(pl.String))
                         .otherwise(name)).to_series()
    raise RuntimeError("simulator: could not make model ids unique")


# --- quirks the lineage stage must handle -----------------------------------------------

def _plant_quirks(lin: Lineage, ids: pl.Series, cal: Calibration, rng):
    """Hidden base models, self-loops, case-changed and untyped parent declarations."""
    q = cal.raw["quirks"]
    n = lin.n
    children = np.bincount(lin.parents.values, minlength=n)
    top = np.argsort(-children, kind="stable")[:20]
    hidden = lin.popular & (lin.generation == 0) & (children > 0) & (
        rng.random(n) < q["hidden_parent_share"])
    hidden[top] = False
    is_child = lin.parents.lengths > 0
    self_loop = is_child & (rng.random(n) < q["self_loop"])
    case_changed = is_child & (rng.random(n) < q["parent_id_case_changed"])
    generic_only = is_child & (rng.random(n) < q["generic_parent_tag_only"])

    parent_ids = pl.Series(_ragged_strings(lin.parents, ids.to_arrow()))
    first_parent = ids.gather(np.maximum(lin.primary_parent(), 0))
    lower = first_parent.str.to_lowercase()
    flipped = pl.select(pl.when(lower != first_parent).then(lower)
                        .otherwise(first_parent.str.to_uppercase())).to_series()
    frame = pl.DataFrame({"p": parent_ids, "flip": flipped, "cc": case_changed,
                          "self": ids, "sl": self_loop})
    declared = frame.select(
        pl.when(pl.col("cc"))
        .then(pl.concat_list(pl.col("flip"), pl.col("p").list.slice(1)))
        .otherwise(pl.col("p"))
        .alias("p")
    ).with_columns(
        pl.when(frame["sl"]).then(pl.concat_list(pl.col("p"), frame["self"]))
        .otherwise(pl.col("p")).alias("p")
    )["p"]
    quirks = {"self_loop": self_loop, "case_changed": case_changed,
              "generic_only": generic_only}
    return hidden, declared, quirks


def _ragged_strings(r: Ragged, vocabulary) -> pl.Series:
    return pl.Series(r.to_arrow(vocabulary))


# --- one chunk of raw output ------------------------------------------------------------

def _chunk_frame(lin, t: Traits, cal, ids, declared, hidden, pool, start, stop, quirks, rng):
    rows = np.arange(start, stop)
    arxiv_ids = _arxiv_pool(t.arxiv_pool)

    def lists(r: Ragged, vocabulary) -> pl.Series:
        return pl.Series(r.slice_rows(start, stop).to_arrow(vocabulary))

    def category(values, vocabulary) -> pl.Series:
        return pick(vocabulary, values[rows])

    # one architecture per family
    arch = choose_grouped(rng, [cal.kind(k)["architectures"] for k in range(len(cal.kinds))],
                          lin.kind[lin.family[rows]], by=lin.family[rows])
    relation = pl.Series([None, *RELATIONS])[lin.relation[rows].astype(np.int64) + 1]
    days = lin.created_days[rows]
    modified = np.minimum(days + rng.exponential(30.0, len(rows)), lin.created_days.max())
    origin = np.datetime64(cal.raw["first_date"], "us")
    frame = pl.DataFrame({
        "id": ids[start:stop],
        "name": ids[start:stop].str.split("/").list.last(),
        "author": ids[start:stop].str.split("/").list.first(),
        "hidden": hidden[rows],
        "license": category(t.license, cal.licenses),
        "pipeline_tag": category(t.task, cal.tasks),
        "library_name": category(t.library, cal.libraries),
        "arch": arch,
        "languages": lists(t.languages, _arrow(cal.languages)),
        "datasets": lists(t.datasets, _arrow(cal.datasets)),
        "arxiv": lists(t.arxiv, arxiv_ids),
        "extra_tags": lists(t.extra_tags, _arrow(EXTRA_TAGS)),
        "parents": declared[start:stop],
        "relation_name": relation,
        "generic_only": quirks["generic_only"][rows],
        "has_card": t.has_card[rows],
        "auto_card": t.auto_card[rows],
        "body": pl.Series(t.paragraphs.slice_rows(start, stop).to_arrow(pool.to_arrow())),
        "broken_front_matter": rng.random(len(rows)) < cal.raw["quirks"]["broken_front_matter"],
        "downloads": t.downloads[rows],
        "likes": t.likes[rows],
        "trending": np.where(rng.random(len(rows)) < 0.01, rng.integers(1, 200, len(rows)), 0),
        "created": pl.Series(origin + (days * 86_400e6).astype("timedelta64[us]")),
        "modified": pl.Series(origin + (modified * 86_400e6).astype("timedelta64[us]")),
        "_id": _hex_ids(rng, len(rows), 12),
        "sha": _hex_ids(rng, len(rows), 20),
    })
    frame = frame.with_columns(card=card_column(frame, rng))
    return frame.filter(~pl.col("hidden"))


def _hex_ids(rng, n: int, n_bytes: int) -> pl.Series:
    raw_bytes = np.frombuffer(rng.bytes(n * n_bytes), dtype=f"S{n_bytes}")
    return pl.Series(raw_bytes, dtype=pl.Binary).bin.encode("hex")


def _arrow(values):
    import pyarrow as pa
    return pa.array(list(values), type=pa.string())


def _arxiv_pool(size: int):
    rng = np.random.default_rng(2508)
    year = rng.integers(17, 26, size)
    month = rng.integers(1, 13, size)
    number = rng.integers(1, 20000, size)
    return _arrow(f"{y:02d}{m:02d}.{k:05d}" for y, m, k in zip(year, month, number, strict=True))


def _list_api_frame(f: pl.DataFrame) -> pl.DataFrame:
    """The list-API JSON objects (GET /api/models?full=true) of one chunk."""
    parents = pl.col("parents")
    typed = pl.lit([], dtype=pl.List(pl.String))
    for r in RELATIONS:
        typed = (pl.when(pl.col("relation_name") == r)
                 .then(parents.list.eval(pl.lit(f"base_model:{r}:") + pl.element()))
                 .otherwise(typed))
    typed = pl.when(pl.col("generic_only")).then(pl.lit([], dtype=pl.List(pl.String))).otherwise(
        typed)
    tags = pl.concat_list(
        pl.col("library_name"), pl.col("extra_tags"), pl.col("arch"), pl.col("pipeline_tag"),
        pl.col("languages"), pl.col("datasets").list.eval(pl.lit("dataset:") + pl.element()),
        pl.col("arxiv").list.eval(pl.lit("arxiv:") + pl.element()),
        parents.list.eval(pl.lit("base_model:") + pl.element()), typed,
        pl.lit("license:") + pl.col("license"), pl.lit("region:us"),
    ).list.drop_nulls()
    files = pl.concat_list(
        pl.lit(".gitattributes"), pl.when(pl.col("has_card")).then(pl.lit("README.md")),
        pl.col("library_name").replace_strict(SIBLING_FILES, default=DEFAULT_FILES,
                                              return_dtype=pl.List(pl.String)),
    ).list.drop_nulls()
    iso = "%Y-%m-%dT%H:%M:%S%.3fZ"
    return f.select(
        pl.col("_id"), pl.col("id"), pl.col("likes"), pl.col("trending").alias("trendingScore"),
        pl.lit(False).alias("private"), pl.col("downloads"), tags.alias("tags"),
        pl.col("pipeline_tag"), pl.col("library_name"),
        pl.col("created").dt.strftime(iso).alias("createdAt"), pl.col("id").alias("modelId"),
        pl.col("author"), pl.col("sha"), pl.col("modified").dt.strftime(iso).alias("lastModified"),
        pl.lit(False).alias("gated"), pl.lit(False).alias("disabled"),
        files.list.eval(pl.struct(pl.element().alias("rfilename"))).alias("siblings"),
    )


# --- ground truth -----------------------------------------------------------------------

def _ground_truth(lin, t, cal, ids, hidden, quirks, models, seed, scenario) -> dict:
    rel = np.repeat(lin.relation, lin.parents.lengths)
    family_sizes = np.bincount(lin.family, minlength=lin.n)
    largest = np.argsort(-family_sizes, kind="stable")[:10]
    children_per_parent = np.bincount(lin.parents.values, minlength=lin.n)
    mut = cal.raw["mutation"]
    return {
        "scenario": scenario,
        "seed": seed,
        "models": models,
        "models_written": int(lin.n - hidden.sum()),
        "planted": {
            "license_order": cal.license_order if scenario == "directed" else None,
            "task_order": cal.tasks if scenario == "directed" else None,
            "languages": "drift toward English only" if scenario == "directed" else "random",
            "cards": ("children shorter, often auto-generated from a trainer template"
                      if scenario == "directed" else "length-preserving random edits"),
            "mutation": mut,
            "card": cal.raw["card"],
        },
        "counts": {
            "children": int((lin.parents.lengths > 0).sum()),
            "edges": int(len(rel)),
            "edges_by_relation": {r: int((rel == i).sum()) for i, r in enumerate(RELATIONS)},
            "generations": np.bincount(lin.generation).tolist(),
            "families": int((family_sizes > 0).sum()),
            "largest_families": [
                {"root": ids[int(i)], "size": int(family_sizes[i])} for i in largest],
            "top_parents": [
                {"id": ids[int(i)], "children": int(children_per_parent[i])}
                for i in np.argsort(-children_per_parent, kind="stable")[:10]],
            "with_card": int(t.has_card.sum()),
            "auto_generated_cards": int(t.auto_card.sum()),
        },
        "quirks": {
            "hidden_parents": int(hidden.sum()),
            "children_of_hidden_parents": int(hidden[lin.parents.values].sum()),
            "self_loops": int(quirks["self_loop"].sum()),
            "case_changed_parent_ids": int(quirks["case_changed"].sum()),
            "generic_parent_tag_only": int(quirks["generic_only"].sum()),
        },
        "truth_file": "truth.parquet",
    }
