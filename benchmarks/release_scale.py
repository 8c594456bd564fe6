"""The paper's release at its own scale: a synthetic `ai_ecosystem_withmodelcards.csv` in the
release's exact format, converted to the raw format and normalised, with the wall time and peak
memory of each step.

    python benchmarks/release_scale.py [--rows 1860411] [--out DIR] [--keep]

The file is written as pandas' `to_csv` wrote the release (docs/method.md#data-source): its
index as an unnamed first column, the list columns as Python-list strings, createdAt as
`2025-07-11T00:55:12.000Z`, an empty field for a missing card and for no exception. About 60%
of the models have a card: multi-line markdown (front matter, headings, code, tables, CJK and
emoji, some CRLF and bare CR line ends, quotes and commas) of a log-normal length with a mean of
a few kB, and a few cards over 1 MB: about 5 GB at the full 1,860,411 rows. The conversion
(`archive_to_raw`) and the normaliser each run in a freshly spawned process that reports its
own peak resident memory. The target of issue 11 at full scale: 4 minutes and 6 GB peak on
2 cores for both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from simulate_and_normalise import _peak_gb, measure

from hubanatomy.acquire.archive import ARCHIVE_COLUMNS, CARD_COLUMNS, write_release_csv

RELEASE_ROWS = 1_860_411
CHUNK = 50_000
CARD_SHARE = 0.60
HUGE_CARDS = 20  # cards of 1-3 MB
LICENSES = ["apache-2.0", "mit", "other", "openrail", "creativeml-openrail-m", "cc-by-nc-4.0",
            "llama2", "llama3", "gemma", "unknown"]
TASKS = ["text-generation", "text-classification", "text-to-image", "reinforcement-learning",
         "automatic-speech-recognition", "feature-extraction", "fill-mask", None]
LIBRARIES = ["transformers", "peft", "diffusers", "sentence-transformers", "gguf", None]
LANGUAGES = {"en": "English", "zh": "Chinese", "fr": "French", "de": "German", "ja": "Japanese"}
RELATIONS = ["finetune", "adapter", "quantized", "merge"]


def _corpus(rng: np.random.Generator) -> str:
    """A few MB of model-card-like markdown to cut cards from."""
    words = ("model fine-tuned training data evaluation results learning rate batch size "
             "epochs loss accuracy the a of on with for dataset license usage limitations "
             "bias 模型 训练 数据 🤗 🚀 \"quoted\" comma, semicolon; café naïve").split()
    # a U+FFFD some cards really hold (text once mis-decoded): the converter then checks the
    # whole file's UTF-8, as it would on the release
    words.append("\ufffd")
    lines = []
    for i in range(60_000):
        kind = i % 23
        if kind == 0:
            lines.append(f"## Section {i}")
        elif kind == 5:
            lines.append("```python\nfrom transformers import AutoModel\n"
                         "model = AutoModel.from_pretrained(\"org/model\")\n```")
        elif kind == 9:
            lines.append("| metric | value |\n|---|---|\n| accuracy | 0.91 |")
        else:
            lines.append(" ".join(rng.choice(words, size=int(rng.integers(4, 30)))))
        # most line ends LF, some CRLF (cards written on Windows), a few bare CR
        lines.append("\r\n" if kind == 7 else "\r" if kind == 13 and i % 7 == 0 else "\n")
    return "".join(lines)


def _lengths(rng: np.random.Generator, n: int) -> np.ndarray:
    """Card lengths (characters): log-normal, median about 1.5 kB, mean about 3.7 kB."""
    return np.clip(rng.lognormal(mean=7.3, sigma=1.35, size=n), 20, 900_000).astype(np.int64)


def _tag_columns(rng: np.random.Generator, ids: np.ndarray, start: int, n: int) -> dict:
    """tags and the columns the authors derived from them, as Python-list strings."""
    lic = rng.integers(0, len(LICENSES), n)
    has_parent = rng.random(n) < 0.31
    relation = rng.integers(0, len(RELATIONS), n)
    parent = rng.integers(0, max(1, start + n), n)
    langs = list(LANGUAGES)
    columns = {c: [] for c in ("tags", "regions", "licenses", "arxiv_papers", "datasets",
                               "parent_model", *(f"{r}_parent" for r in RELATIONS),
                               "languages")}
    for k in range(n):
        tags = ["transformers", "safetensors", f"license:{LICENSES[lic[k]]}", "region:us"]
        extra = k % 3 == 0
        if extra:
            tags += [langs[k % 5], "dataset:glue", "arxiv:2106.09685"]
        parent_id = ids[parent[k] % len(ids)]
        typed = RELATIONS[relation[k]]
        if has_parent[k]:
            tags += [f"base_model:{parent_id}", f"base_model:{typed}:{parent_id}"]
        columns["tags"].append(tags)
        columns["regions"].append(["us"])
        columns["licenses"].append([LICENSES[lic[k]]])
        columns["arxiv_papers"].append(["2106.09685"] if extra else [])
        columns["datasets"].append(["glue"] if extra else [])
        columns["languages"].append([LANGUAGES[langs[k % 5]]] if extra else [])
        columns["parent_model"].append([parent_id] if has_parent[k] else [])
        for r in RELATIONS:
            columns[f"{r}_parent"].append([parent_id] if has_parent[k] and r == typed else [])
    # str() of a Python list: exactly what pandas wrote for the authors' list columns
    return {c: pl.Series(c, [str(x) for x in v], dtype=pl.String) for c, v in columns.items()}


def write_release(path: Path, rows: int, seed: int = 1) -> dict:
    """The synthetic release CSV; returns what it holds."""
    rng = np.random.default_rng(seed)
    corpus = _corpus(rng)
    huge_at = set(rng.choice(rows, size=min(HUGE_CARDS, rows), replace=False).tolist())
    ids = np.array([f"org{i % 50_000}/model-{i}" for i in range(rows)], dtype=object)
    cards = card_chars = 0
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        has_card = rng.random(n) < CARD_SHARE
        lengths = _lengths(rng, n)
        offsets = rng.integers(0, len(corpus) - 1_000_000, n)
        text = []
        for k in range(n):
            if not has_card[k]:
                text.append(None)
                continue
            length = int(lengths[k])
            if start + k in huge_at:
                length = int(rng.integers(1_000_000, 3_000_000))
            body = corpus[offsets[k]:offsets[k] + length]
            while len(body) < length:  # a huge card repeats the corpus
                body += corpus[: length - len(body)]
            text.append(f"---\nlicense: mit\nbase_model: {ids[(start + k) // 2]}\n---\n"
                        f"# {ids[start + k]}\n\n{body}")
        cards += int(has_card.sum())
        card_chars += sum(len(t) for t in text if t)
        seconds = rng.integers(1_550_000_000, 1_752_000_000, n)
        frame = pl.DataFrame({
            "": np.arange(start, start + n),
            "model_id": ids[start:start + n].tolist(),
            "likes": rng.geometric(0.3, n) - 1,
            "trendingScore": np.round(rng.exponential(0.5, n), 1) * (rng.random(n) < 0.1),
            "private": ["False"] * n,
            "downloads": rng.geometric(0.001, n) - 1,
            "pipeline_tag": [TASKS[i] for i in rng.integers(0, len(TASKS), n)],
            "library_name": [LIBRARIES[i] for i in rng.integers(0, len(LIBRARIES), n)],
            "createdAt": pl.Series(seconds * 1000).cast(pl.Datetime("ms")).dt.to_string(
                "%Y-%m-%dT%H:%M:%S%.3fZ"),
            **_tag_columns(rng, ids, start, n),
            "modelCard": pl.Series(text, dtype=pl.String),
            "ratelimit_retries": rng.poisson(0.05, n),
            "exception_raised": pl.Series([None] * n, dtype=pl.String),
        }).select("", *ARCHIVE_COLUMNS, *CARD_COLUMNS)
        write_release_csv(frame, path, header=start == 0)
    return {"rows": rows, "cards": cards, "mean_card_chars": round(card_chars / max(cards, 1)),
            "huge_cards": len(huge_at), "csv_gb": round(path.stat().st_size / 1e9, 2)}


def _convert(csv: str, raw: str, queue) -> None:
    from hubanatomy.acquire.archive import convert_local_archive

    start = time.perf_counter()
    report = convert_local_archive([Path(csv)], raw)
    queue.put((time.perf_counter() - start, _peak_gb(),
               {k: report[k] for k in ("rows", "models", "rows_skipped")}))


def _normalise(raw: str, out: str, queue) -> None:
    from hubanatomy.snapshot.normalise import normalise, source_record

    start = time.perf_counter()
    manifest = normalise(raw, out, source_record({"kind": "snapshot"}, raw))
    queue.put((time.perf_counter() - start, _peak_gb(), manifest["rows"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=RELEASE_ROWS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="working directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    args = parser.parse_args()

    work = Path(args.out or tempfile.mkdtemp(prefix="hubanatomy-release-"))
    work.mkdir(parents=True, exist_ok=True)
    csv, raw, snapshot = (work / "ai_ecosystem_withmodelcards.csv", work / "raw",
                          work / "snapshot")
    start = time.perf_counter()
    results = {"release": write_release(csv, args.rows, args.seed)}
    results["release"]["write_seconds"] = round(time.perf_counter() - start, 1)
    seconds, peak, rows = measure(_convert, str(csv), str(raw))
    results["convert"] = {"seconds": round(seconds, 1), "peak_gb": round(peak, 2), **rows,
                          "raw_gb": round(sum(f.stat().st_size for f in raw.rglob("*")
                                              if f.is_file()) / 1e9, 2)}
    seconds, peak, rows = measure(_normalise, str(raw), str(snapshot))
    results["normalise"] = {"seconds": round(seconds, 1), "peak_gb": round(peak, 2),
                            "rows": rows}
    results["total"] = {"seconds": round(results["convert"]["seconds"]
                                         + results["normalise"]["seconds"], 1),
                        "peak_gb": max(results["convert"]["peak_gb"],
                                       results["normalise"]["peak_gb"])}
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
