"""The raw format (docs/method.md#snapshot): what a crawl and the simulator write before
normalising.

A raw directory holds
  models/part-NNNNN.jsonl   one list-API JSON object per line (GET /api/models?full=true)
  cards/part-NNNNN.jsonl    {"id": ..., "status": "ok" | "missing" | "error", "card": text|null}
  renames.jsonl             optional: {"old_id": ..., "new_id": ...} for renamed repos (crawl)
  raw_manifest.json         where the raw data came from (simulator parameters, crawl window)
and, from the simulator only, ground_truth.json and truth.parquet (what was planted).
A single models.jsonl / cards.jsonl at the top level is read too, as is a bare .jsonl file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import polars as pl

from hubanatomy.errors import InputError

MODELS = "models"
CARDS = "cards"
RENAMES = "renames.jsonl"
RAW_MANIFEST = "raw_manifest.json"
GROUND_TRUTH = "ground_truth.json"
TRUTH_NODES = "truth.parquet"


def _shards(root: Path, name: str) -> list[Path]:
    if root.is_file():
        return [root] if name == MODELS else []
    files = [root / f"{name}.jsonl"] if (root / f"{name}.jsonl").is_file() else []
    return files + sorted((root / name).glob("*.jsonl"))


def model_files(root: str | Path) -> list[Path]:
    files = _shards(Path(root), MODELS)
    if not files:
        raise InputError(
            f"{root}: no raw model metadata found (expected a .jsonl file, or a directory "
            f"with {MODELS}.jsonl or {MODELS}/*.jsonl)")
    return files


def card_files(root: str | Path) -> list[Path]:
    return _shards(Path(root), CARDS)


def renames_file(root: str | Path) -> Path | None:
    path = Path(root) / RENAMES
    return path if Path(root).is_dir() and path.is_file() else None


def read_raw_manifest(root: str | Path) -> dict:
    path = Path(root) / RAW_MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def public_url(url: str) -> str:
    """The URL without any user:password part: what may go into logs, state files, manifests
    and captions (an endpoint such as http://user:pass@host works, but is never written)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 address
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def write_atomic(path: Path, data: bytes, sync: bool = True) -> None:
    """Write through a temp file and a rename: a reader (or a run resumed after a kill) sees
    the old file or the whole new one, never a half. sync=False skips the fsync (safe against
    a killed process, not against a power cut) for files rewritten many times a second. A
    failed write (a full disk) leaves no temp file behind."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _atomic_write_json(path: Path, payload: dict) -> None:
    write_atomic(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


class RawWriter:
    """Writes shards atomically (temp file + rename), so a killed writer leaves no half shard."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        # lines written, recorded in the manifest: the normaliser checks it finds them all
        self.written = {MODELS: 0, CARDS: 0}
        for name in (MODELS, CARDS):
            shutil.rmtree(self.root / name, ignore_errors=True)
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def _write(self, name: str, part: int, frame: pl.DataFrame) -> None:
        path = self.root / name / f"part-{part:05d}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        frame.write_ndjson(tmp)
        os.replace(tmp, path)
        self.written[name] += frame.height

    def write_models(self, part: int, frame: pl.DataFrame) -> None:
        self._write(MODELS, part, frame)

    def write_cards(self, part: int, frame: pl.DataFrame) -> None:
        self._write(CARDS, part, frame)

    def finish(self, source: dict, ground_truth: dict | None = None,
               truth_nodes: pl.DataFrame | None = None) -> None:
        if ground_truth is not None:
            _atomic_write_json(self.root / GROUND_TRUTH, ground_truth)
        if truth_nodes is not None:
            truth_nodes.write_parquet(self.root / TRUTH_NODES, compression="zstd")
        _atomic_write_json(self.root / RAW_MANIFEST, {"source": source, "written": self.written})


def expected_lines(manifest: dict) -> dict[str, int]:
    """How many model and card lines the raw manifest says were written (what is known)."""
    written = dict(manifest.get("written") or {})
    if manifest.get("source", {}).get("kind") == "crawl":  # one card record per listed model
        written.setdefault(MODELS, manifest["source"].get("models"))
        cards = manifest.get("acquisition", {}).get("cards")
        if cards:
            written.setdefault(CARDS, sum(cards.values()))
    return {k: v for k, v in written.items() if isinstance(v, int)}
