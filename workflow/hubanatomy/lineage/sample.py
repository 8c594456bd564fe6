"""A sample of whole families, for CI and quick looks: every later stage runs on it unchanged.

Families are the weakly connected components of the all-relations graph with virtual parents
kept, so a family is never cut. They are drawn by size class (floor(log2(size))), the same
number from every class as far as the class allows, largest classes first, so that the big
families are represented although nearly all families are single models.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from hubanatomy.lineage.build import ALL_RELATIONS, LineageSettings, build_lineage
from hubanatomy.snapshot import files as snap

log = logging.getLogger(__name__)


def stratified_families(sizes: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of n families (all if there are fewer), spread over the size classes."""
    rng = np.random.default_rng(seed)
    stratum = np.floor(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    classes = np.unique(stratum)[::-1]  # largest first
    members = {c: rng.permutation(np.flatnonzero(stratum == c)) for c in classes}
    quota = dict.fromkeys(classes, 0)
    left = min(n, len(sizes))
    while left > 0:
        open_classes = [c for c in classes if quota[c] < len(members[c])]
        share = max(1, left // len(open_classes))
        for c in open_classes:
            take = min(share, len(members[c]) - quota[c], left)
            quota[c] += take
            left -= take
            if left == 0:
                break
    return np.sort(np.concatenate([members[c][: quota[c]] for c in classes]))


def sample_snapshot(source: dict, out: dict, families: int, seed: int,
                    precedence: tuple[str, ...]) -> dict:
    """Write the snapshot of `families` whole families of the `source` snapshot files to the
    `out` files (both: snapshot.files.FILES key -> path)."""
    for path in out.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    models = pl.read_parquet(source["models"])
    parents = pl.read_parquet(source["parents"])
    cards = pl.read_parquet(source["cards"])
    renames = pl.read_parquet(source["renames"])
    settings = LineageSettings(precedence=precedence, keep_virtual_parents=True,
                               variants={"all": ALL_RELATIONS})
    lineage = build_lineage(models.select("model_id", "created_at"), parents, settings,
                            renames)
    nodes = lineage.nodes.select("model_id", "virtual", "family_all")
    sizes = nodes.group_by("family_all").len().sort("family_all")
    chosen = sizes["family_all"].gather(stratified_families(sizes["len"].to_numpy(), families,
                                                            seed))
    keep = nodes.filter(pl.col("family_all").is_in(chosen.implode()) & ~pl.col("virtual"))
    ids = keep["model_id"].implode()

    tables = {
        "models": models.filter(pl.col("model_id").is_in(ids)),
        "parents": parents.filter(pl.col("child_id").is_in(ids)),
        "cards": cards.filter(pl.col("model_id").is_in(ids)),
        "renames": renames,
    }
    for key, table in tables.items():
        snap.write_parquet(table, out[key])
    manifest = snap.read_manifest(source["manifest"])
    manifest["sample"] = {
        "families": int(len(chosen)), "seed": seed,
        "of_families": int(sizes.height), "of_models": models.height,
        "largest_family_kept": int(sizes.filter(pl.col("family_all").is_in(chosen.implode()))
                                   ["len"].max() or 0),
    }
    manifest["rows"] = {key: tables[key].height for key in ("models", "parents", "cards")}
    manifest["files"] = {snap.FILES[key]: {"sha256": snap.sha256_file(out[key]),
                                           "bytes": Path(out[key]).stat().st_size}
                         for key in tables}
    snap.write_json(manifest, out["manifest"])
    log.info("sample: %d of %d families, %d of %d models", len(chosen), sizes.height,
             tables["models"].height, models.height)
    return manifest
