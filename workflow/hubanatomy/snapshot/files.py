"""The canonical snapshot (docs/method.md#snapshot): the only thing later stages read.

results/snapshot/ holds models.parquet, parents.parquet, cards.parquet and manifest.json, plus
renames.parquet (old -> new ids of renamed repos, empty unless a crawl saw redirects),
rejected.csv listing every skipped input line, and ground_truth.json for simulated sources.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import polars as pl

MODELS = "models.parquet"
PARENTS = "parents.parquet"
CARDS = "cards.parquet"
MANIFEST = "manifest.json"
RENAMES = "renames.parquet"
REJECTED = "rejected.csv"
GROUND_TRUTH = "ground_truth.json"
# the files every stage may read, by the names the rules declare them under
FILES = {"models": MODELS, "parents": PARENTS, "cards": CARDS, "renames": RENAMES,
         "manifest": MANIFEST}

_STRINGS = pl.List(pl.String)
MODELS_SCHEMA = {
    "model_id": pl.String,
    "author": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "last_modified": pl.Datetime("us", "UTC"),
    "downloads": pl.Int64,
    "likes": pl.Int64,
    "trending_score": pl.Float64,
    "pipeline_tag": pl.String,
    "library_name": pl.String,
    "tags": _STRINGS,
    "licenses": _STRINGS,
    "languages": _STRINGS,
    "datasets": _STRINGS,
    "arxiv": _STRINGS,
    "regions": _STRINGS,
    "metadata_json": pl.String,
}
PARENTS_SCHEMA = {
    "child_id": pl.String,
    "parent_id": pl.String,
    "relation": pl.String,  # finetune | adapter | quantized | merge | unspecified
    "origin": pl.String,  # tag | card
}
CARDS_SCHEMA = {
    "model_id": pl.String,
    "card": pl.String,
    "length_chars": pl.Int64,
    "length_words": pl.Int64,
    "auto_generated": pl.Boolean,
    "status": pl.String,  # ok | missing | error | not_fetched
}
# what a raw card record may say: fetched (ok), no README (missing), the fetch failed (error)
CARD_STATUSES = ("ok", "missing", "error")
# a model without any card record: its card was never asked for (a source without cards)
NOT_FETCHED = "not_fetched"
# whether a model has a card is known only for these; error and not_fetched are unknown
KNOWN_CARD_STATUSES = ("ok", "missing")
RENAMES_SCHEMA = {"old_id": pl.String, "new_id": pl.String}


def conform(frame: pl.DataFrame, schema: dict) -> pl.DataFrame:
    """Columns of `schema`, in its order and types."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def write_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    frame.write_parquet(path, compression="zstd", statistics=True)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in ("hubanatomy", "polars", "pyarrow", "numpy", "pandas", "matplotlib",
                 "snakemake", "huggingface_hub"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def snapshot_files(directory: str | Path) -> dict[str, Path]:
    """The snapshot's files (FILES) in a directory."""
    return {key: Path(directory) / name for key, name in FILES.items()}


def read_manifest(path: str | Path) -> dict:
    """A snapshot's manifest.json."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no snapshot manifest; build the snapshot first") from None


def write_json(payload: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def describe(manifest: dict) -> str:
    """One line naming the data for captions and titles: real or simulated, and its identity."""
    source = manifest.get("source", {})
    kind = source.get("kind", "unknown")
    n = manifest.get("rows", {}).get("models")
    size = f"{n:,} models" if isinstance(n, int) else "unknown size"
    sample = manifest.get("sample")
    if sample:
        size += f" in a sample of {sample['families']:,} of {sample['of_families']:,} families"
    if kind == "simulated":
        return (f"SIMULATED Hub ({source.get('scenario')} scenario, seed {source.get('seed')}, "
                f"{size})")
    if kind == "archive":
        return f"real Hub archive {source.get('repo_id')}@{source.get('revision')} ({size})"
    if kind == "crawl":
        return f"real Hub crawl of {source.get('endpoint')} {source.get('window')} ({size})"
    if kind == "snapshot":
        return (f"real Hub snapshot file {Path(str(source.get('path'))).name} "
                f"(sha256 {str(source.get('sha256'))[:12]}, {size})")
    return f"{kind} data ({size})"


def is_simulated(manifest: dict) -> bool:
    return manifest.get("source", {}).get("kind") == "simulated"
