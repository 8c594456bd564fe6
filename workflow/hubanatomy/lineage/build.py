"""Family trees from declared parents: edges, families, generations, and lineage hygiene.

Decisions, in order (every one is counted in hygiene.json and listed in decisions.csv):

0. A declared parent id is cleaned into a repo id or rejected with its reason (parent_ids.py:
   Hub URLs, leftover markup, placeholders, local paths, datasets); clean_parent_ids off (the
   paper) takes every id as written.
1. A declared parent id is resolved to a model of the snapshot by exact id, else by the steps
   of resolve_parents in their order: through the crawl's rename map (old id -> new id), the
   table of legacy ids the Hub moved into organisations (bert-base-uncased ->
   google-bert/bert-base-uncased), or case-insensitively when exactly one model has that
   spelling. Otherwise it becomes a *virtual* node (case variants of one absent id are one
   node), or, with keep_virtual_parents off (the paper), its edges are dropped.
2. All declarations of one (parent, child) pair become one edge that keeps every declared
   relation (sorted by precedence) and takes the first as its primary relation (the paper:
   merge > adapter > quantized > finetune).
3. Self-loops are removed.
4. Cycles are broken: within every strongly connected component of more than one model, the
   edges into its oldest model (earliest createdAt, then smallest id) are removed, because a
   model cannot descend from a younger one; repeated until no cycle is left.

Graph variants (all relations, fine-tune only, no merges, ...) select edges by primary
relation. In each, a family is a weakly connected component; its roots are its models without
a parent; generation is the distance from the nearest root; the family's named root is the
root with most direct children (then the oldest, then the smallest id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from hubanatomy.snapshot import files as snap
from hubanatomy.snapshot.ids import IdIndex
from hubanatomy.snapshot.parent_ids import REJECTIONS, clean_parent_ids, legacy_model_ids
from hubanatomy.snapshot.tags import RELATIONS, UNSPECIFIED

log = logging.getLogger(__name__)

ALL_RELATIONS = (*RELATIONS, UNSPECIFIED)
DEFAULT_VARIANTS = {
    "all": ALL_RELATIONS,
    "finetune": ("finetune",),
    "no_merge": ("finetune", "adapter", "quantized", UNSPECIFIED),
}
RESOLUTION_STEPS = ("rename", "legacy_id", "case")
_LATEST = np.iinfo(np.int64).max  # created_at of models without one: never "oldest"


@dataclass(frozen=True)
class LineageSettings:
    precedence: tuple[str, ...] = ("merge", "adapter", "quantized", "finetune", UNSPECIFIED)
    keep_virtual_parents: bool = True
    variants: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    clean_parent_ids: bool = True
    resolve_parents: tuple[str, ...] = RESOLUTION_STEPS

    @classmethod
    def from_config(cls, cfg: dict) -> LineageSettings:
        return cls(precedence=tuple(cfg["relation_precedence"]),
                   keep_virtual_parents=bool(cfg["keep_virtual_parents"]),
                   variants={k: tuple(v) for k, v in cfg["variants"].items()},
                   clean_parent_ids=bool(cfg["clean_parent_ids"]),
                   resolve_parents=tuple(cfg["resolve_parents"]))

    def __post_init__(self):
        missing = set(ALL_RELATIONS) - set(self.precedence)
        if missing:
            raise ValueError(f"lineage.relation_precedence must rank every relation; "
                             f"missing: {sorted(missing)}")
        unknown = set(self.resolve_parents) - set(RESOLUTION_STEPS)
        if unknown:
            raise ValueError(f"lineage.resolve_parents: unknown steps {sorted(unknown)}; "
                             f"the steps are {list(RESOLUTION_STEPS)}")


@dataclass
class Lineage:
    nodes: pl.DataFrame
    edges: pl.DataFrame
    hygiene: dict
    decisions: pl.DataFrame


DECISION_SCHEMA = {"decision": pl.String, "child_id": pl.String, "parent_id": pl.String,
                   "resolved_parent_id": pl.String}


def build_lineage(models: pl.DataFrame, parents: pl.DataFrame, settings: LineageSettings,
                  renames: pl.DataFrame | None = None) -> Lineage:
    """models: model_id, created_at; parents: child_id, parent_id, relation, origin (the
    snapshot's files); renames: old_id, new_id (optional)."""
    n_models = models.height
    index = IdIndex(models["model_id"])
    decisions: list[pl.DataFrame] = []
    counts: dict[str, int] = {"models": n_models, "declared_rows": parents.height}

    # rows that cannot be edges: an empty parent id; an unknown relation counts as unspecified
    empty = pl.col("parent_id").is_null() | (pl.col("parent_id").str.strip_chars() == "")
    counts["rows_with_empty_parent"] = parents.filter(empty).height
    decisions.append(_decisions(parents.filter(empty), "empty_parent_dropped"))
    parents = parents.filter(~empty)
    if settings.clean_parent_ids:
        parents = _clean_parent_ids(parents, counts, decisions)
    known = pl.col("relation").is_in(ALL_RELATIONS).fill_null(False)
    counts["rows_with_unknown_relation"] = parents.filter(~known).height
    decisions.append(_decisions(parents.filter(~known), "unknown_relation_as_unspecified"))
    parents = parents.with_columns(
        relation=pl.when(known).then(pl.col("relation")).otherwise(pl.lit(UNSPECIFIED)))

    declared = parents.with_columns(child_node=pl.Series(index.positions(parents["child_id"])))
    unknown_child = declared.filter(pl.col("child_node") < 0)
    counts["rows_with_child_not_in_snapshot"] = unknown_child.height
    decisions.append(_decisions(unknown_child, "child_not_in_snapshot"))
    declared = declared.filter(pl.col("child_node") >= 0)

    declared, virtual_ids, resolve_counts, resolve_decisions = _resolve_parents(
        declared, models["model_id"], index, renames, settings)
    counts.update(resolve_counts)
    decisions += resolve_decisions
    n_nodes = n_models + len(virtual_ids)

    edges = _pair_edges(declared, settings.precedence)
    counts["declared_pairs"] = edges.height
    counts["multi_relation_pairs"] = int((edges["relations"].list.len() > 1).sum())
    counts["multi_parent_children_declared"] = int(
        edges.group_by("child_node").len().filter(pl.col("len") > 1).height)

    loops = edges.filter(pl.col("parent_node") == pl.col("child_node"))
    counts["self_loops_removed"] = loops.height
    decisions.append(_decisions(loops, "self_loop_removed"))
    edges = edges.filter(pl.col("parent_node") != pl.col("child_node"))

    created = models["created_at"].dt.epoch("us").fill_null(_LATEST).to_numpy()
    id_rank = models["model_id"].rank("ordinal").cast(pl.Int64).to_numpy()
    edges, cycle_edges, n_cycles = _break_cycles(edges, n_nodes, created, id_rank)
    counts["cyclic_components"] = n_cycles
    counts["cycle_edges_removed"] = cycle_edges.height
    decisions.append(_decisions(cycle_edges, "cycle_edge_removed"))

    all_ids = pl.concat([models["model_id"], virtual_ids])
    edges = edges.with_columns(
        parent_id=all_ids.gather(edges["parent_node"]),
        child_id=all_ids.gather(edges["child_node"]),
        parent_virtual=pl.col("parent_node") >= n_models,
    ).select("parent_id", "child_id", "parent_node", "child_node", "relations",
             "primary_relation", "origins", "declared_parent_ids", "resolution",
             "parent_virtual")
    counts["edges"] = edges.height
    counts["edges_to_virtual_parents"] = int(edges["parent_virtual"].sum())
    counts["multi_parent_children"] = int(
        edges.group_by("child_node").len().filter(pl.col("len") > 1).height)
    counts["edges_by_primary_relation"] = {
        r: int((edges["primary_relation"] == r).sum()) for r in settings.precedence}

    nodes, variant_summary = _nodes(models, virtual_ids, edges, settings, created, id_rank)
    hygiene = {
        "settings": {"relation_precedence": list(settings.precedence),
                     "keep_virtual_parents": settings.keep_virtual_parents,
                     "clean_parent_ids": settings.clean_parent_ids,
                     "resolve_parents": list(settings.resolve_parents),
                     "variants": {k: list(v) for k, v in settings.variants.items()}},
        "counts": counts,
        "variants": variant_summary,
    }
    decision_frame = pl.concat([d for d in decisions if d.height], how="vertical") if any(
        d.height for d in decisions) else pl.DataFrame(schema=DECISION_SCHEMA)
    log.info("lineage: %d declared rows -> %d edges among %d nodes (%d virtual)",
             parents.height, edges.height, n_nodes, len(virtual_ids))
    return Lineage(nodes=nodes, edges=edges, hygiene=hygiene, decisions=decision_frame)


def _decisions(frame: pl.DataFrame, decision: str) -> pl.DataFrame:
    """Rows of decisions.csv for the declarations (or edges) in frame."""
    if frame.height == 0:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    child = pl.col("child_id") if "child_id" in frame.columns else pl.lit(None, pl.String)
    declared = (pl.col("declared_parent_ids").list.join("|")
                if "declared_parent_ids" in frame.columns else pl.col("parent_id"))
    resolved = (pl.col("resolved_parent_id") if "resolved_parent_id" in frame.columns
                else pl.lit(None, pl.String))
    return frame.select(pl.lit(decision).alias("decision"), child.alias("child_id"),
                        declared.alias("parent_id"), resolved.alias("resolved_parent_id"))


def _clean_parent_ids(parents: pl.DataFrame, counts: dict, decisions: list) -> pl.DataFrame:
    """Parent ids cleaned into repo ids; rows whose id names no model are dropped, each
    rejection and cleaning counted and listed."""
    cleaned = clean_parent_ids(parents["parent_id"])
    rejected = cleaned["rejection"].is_not_null()
    examined = parents.with_columns(cleaned_id=cleaned["parent_id"],
                                    rejection=cleaned["rejection"], cleaning=cleaned["cleaning"])
    counts["parent_ids_rejected"] = {
        reason: int((cleaned["rejection"] == reason).sum()) for reason in REJECTIONS}
    counts["parent_ids_cleaned"] = int((~rejected & cleaned["cleaning"].is_not_null()).sum())
    for reason in REJECTIONS:
        decisions.append(_decisions(examined.filter(pl.col("rejection") == reason),
                                    f"parent_id_rejected_{reason}"))
    fixed = examined.filter(pl.col("rejection").is_null() & pl.col("cleaning").is_not_null())
    for cleaning in fixed["cleaning"].unique().sort():
        decisions.append(_decisions(fixed.filter(pl.col("cleaning") == cleaning).with_columns(
            resolved_parent_id=pl.col("cleaned_id")), f"parent_id_cleaned_{cleaning}"))
    n_rejected = int(rejected.sum())
    if n_rejected:
        by_reason = ", ".join(f"{n:,} {r}" for r, n in counts["parent_ids_rejected"].items() if n)
        examples = examined.filter(rejected)["parent_id"].unique(maintain_order=True).head(5)
        log.warning("%d of %d declared parent ids name no model and are dropped (%s), e.g. %s; "
                    "all are listed in decisions.csv", n_rejected, parents.height, by_reason,
                    examples.to_list())
    return parents.filter(~rejected).with_columns(parent_id=cleaned["parent_id"].filter(~rejected))


def _resolve_parents(declared, model_ids, index, renames, settings):
    """Give every declaration a parent_node; returns it, the virtual ids, counts, decisions."""
    n = len(model_ids)
    parent = declared["parent_id"]
    node = index.positions(parent)
    how = np.where(node >= 0, "exact", "").astype(object)
    counts = {"resolved_exact": int((node >= 0).sum())}
    decisions = []
    lower = model_ids.str.to_lowercase()
    for step in RESOLUTION_STEPS:
        found = np.full(len(node), -1, dtype=np.int64)
        if step not in settings.resolve_parents:
            pass
        elif step == "rename" and renames is not None and renames.height:
            found = index.positions(_follow_renames(parent, renames))
        elif step == "legacy_id":
            legacy = legacy_model_ids()
            found = index.positions(parent.replace_strict(
                legacy["legacy_id"], legacy["current_id"], default=None, return_dtype=pl.String))
        elif step == "case":  # only where exactly one model has that spelling
            unique_lower = pl.DataFrame({"lower": lower, "node": np.arange(n)}).filter(
                ~pl.col("lower").is_duplicated())
            hit = IdIndex(unique_lower["lower"]).positions(parent.str.to_lowercase())
            found = np.where(hit >= 0, unique_lower["node"].to_numpy()[np.maximum(hit, 0)], -1)
        resolved = (node < 0) & (found >= 0)
        node = np.where(resolved, found, node)
        how[resolved] = step
        counts[f"resolved_by_{step}"] = int(resolved.sum())
        chosen = pl.Series(resolved)
        decisions.append(_decisions(declared.filter(chosen).with_columns(
            resolved_parent_id=model_ids.gather(found[resolved])), f"resolved_by_{step}"))
    counts["ambiguous_case_ids_in_snapshot"] = int(lower.is_duplicated().sum())

    absent = node < 0
    counts["declarations_of_absent_parents"] = int(absent.sum())
    declared = declared.with_columns(parent_node=pl.Series(node), resolution=pl.Series(
        np.where(absent, "virtual", how).astype(str)))

    missing = declared.filter(pl.Series(absent))
    if not settings.keep_virtual_parents:
        counts["virtual_parents"] = 0
        counts["declarations_dropped_absent_parent"] = missing.height
        decisions.append(_decisions(missing, "dropped_absent_parent"))
        return (declared.filter(pl.Series(~absent)), pl.Series("model_id", [], pl.String),
                counts, decisions)

    # one virtual node per absent id, case variants merged (the commonest spelling names it)
    spellings = (missing.group_by(pl.col("parent_id").str.to_lowercase().alias("lower"),
                                  "parent_id").len()
                 .sort(["lower", "len", "parent_id"], descending=[False, True, False]))
    virtual = spellings.unique("lower", keep="first", maintain_order=True).sort("parent_id")
    virtual = virtual.with_columns(vnode=pl.int_range(n, n + pl.len(), dtype=pl.Int64))
    missing = missing.with_columns(lower=pl.col("parent_id").str.to_lowercase()).join(
        virtual.select("lower", "vnode", pl.col("parent_id").alias("resolved_parent_id")),
        on="lower", maintain_order="left")
    counts["virtual_parents"] = virtual.height
    decisions.append(_decisions(missing, "virtual_parent"))
    declared = pl.concat([
        declared.filter(pl.Series(~absent)),
        missing.with_columns(parent_node=pl.col("vnode")).select(declared.columns),
    ])
    return declared, virtual["parent_id"].rename("model_id"), counts, decisions


def _follow_renames(ids: pl.Series, renames: pl.DataFrame, max_steps: int = 5) -> pl.Series:
    """Map ids through old_id -> new_id, following chains of renames."""
    mapping = dict(zip(renames["old_id"].to_list(), renames["new_id"].to_list(), strict=True))
    current = ids
    for _ in range(max_steps):
        following = current.replace_strict(mapping, default=current, return_dtype=pl.String)
        if following.equals(current):
            break
        current = following
    return current


def _pair_edges(declared: pl.DataFrame, precedence: tuple[str, ...]) -> pl.DataFrame:
    """One row per (parent_node, child_node) with all relations, in precedence order."""
    rank = {r: i for i, r in enumerate(precedence)}
    return (declared.with_columns(rank=pl.col("relation").replace_strict(rank, default=len(rank)))
            .sort(["child_node", "parent_node", "rank"])
            .group_by(["parent_node", "child_node"], maintain_order=True)
            .agg(relations=pl.col("relation").unique(maintain_order=True),
                 primary_relation=pl.col("relation").first(),
                 origins=pl.col("origin").unique().sort(),
                 declared_parent_ids=pl.col("parent_id").unique().sort(),
                 resolution=pl.col("resolution").first(),
                 child_id=pl.col("child_id").first()))


def _break_cycles(edges, n_nodes, created, id_rank):
    """Remove the edges into the oldest model of each cyclic component until none is left."""
    removed: list[pl.DataFrame] = []
    cyclic_components = 0
    n_models = len(created)
    created_all = np.concatenate([created, np.full(n_nodes - n_models, _LATEST)])
    rank_all = np.concatenate([id_rank, np.arange(n_models, n_nodes) + 1])
    while True:
        parent = edges["parent_node"].to_numpy()
        child = edges["child_node"].to_numpy()
        graph = sp.csr_matrix((np.ones(len(parent), dtype=np.int8), (parent, child)),
                              shape=(n_nodes, n_nodes))
        _, label = connected_components(graph, directed=True, connection="strong")
        size = np.bincount(label)
        cyclic = size[label] > 1
        if not cyclic.any():
            break
        cyclic_components += int((size > 1).sum())
        members = np.flatnonzero(cyclic)
        order = np.lexsort((rank_all[members], created_all[members], label[members]))
        members = members[order]
        first = np.ones(len(members), dtype=bool)
        first[1:] = label[members][1:] != label[members][:-1]
        oldest = np.full(len(size), -1)
        oldest[label[members[first]]] = members[first]
        drop = (label[child] == label[parent]) & cyclic[child] & (child == oldest[label[child]])
        removed.append(edges.filter(pl.Series(drop)))
        edges = edges.filter(pl.Series(~drop))
    cycle_edges = pl.concat(removed) if removed else edges.clear()
    return edges, cycle_edges, cyclic_components


def _nodes(models, virtual_ids, edges, settings, created, id_rank):
    """The node table with, per graph variant, family, family root, size, generation."""
    n_models = models.height
    n = n_models + len(virtual_ids)
    parent = edges["parent_node"].to_numpy()
    child = edges["child_node"].to_numpy()
    primary = edges["primary_relation"]
    nodes = pl.DataFrame({
        "node": np.arange(n, dtype=np.int64),
        "model_id": pl.concat([models["model_id"], virtual_ids]),
        "virtual": np.arange(n) >= n_models,
        "created_at": pl.concat([models["created_at"],
                                 pl.Series([None] * len(virtual_ids),
                                           dtype=models["created_at"].dtype)]),
        "parents": np.bincount(child, minlength=n),
        "children": np.bincount(parent, minlength=n),
    })
    nodes = nodes.with_columns(
        pl.Series(f"children_{r}", np.bincount(parent[(primary == r).to_numpy()], minlength=n))
        for r in settings.precedence)
    created_all = np.concatenate([created, np.full(len(virtual_ids), _LATEST)])
    rank_all = np.concatenate([id_rank, n_models + 1 + np.arange(len(virtual_ids))])
    summary = {}
    ids = nodes["model_id"]
    for variant, relations in settings.variants.items():
        keep = primary.is_in(list(relations)).to_numpy()
        columns, summary[variant] = _families(n, parent[keep], child[keep], created_all,
                                              rank_all, ids)
        nodes = nodes.with_columns(pl.Series(f"{name}_{variant}", values)
                                   for name, values in columns.items())
    return nodes, summary


def _families(n, parent, child, created, rank, ids):
    graph = sp.csr_matrix((np.ones(len(parent), dtype=np.int32), (parent, child)), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="weak")
    # number families by their first node, so ids do not depend on scipy's labelling
    _, first = np.unique(label, return_index=True)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    family = renumber[label]
    size = np.bincount(family)
    indegree = np.bincount(child, minlength=n)
    outdegree = np.bincount(parent, minlength=n)
    is_root = indegree == 0

    # generation: breadth-first from all roots at once, one sparse product per level
    generation = np.full(n, -1, dtype=np.int64)
    generation[is_root] = 0
    frontier = is_root.astype(np.int32)
    transposed = graph.T.tocsr()
    level = 0
    while True:
        reached = (transposed @ frontier) > 0
        reached &= generation < 0
        if not reached.any():
            break
        level += 1
        generation[reached] = level
        frontier = reached.astype(np.int32)

    # named root: the root with most direct children, then the oldest, then the smallest id
    roots = np.flatnonzero(is_root)
    order = np.lexsort((rank[roots], created[roots], -outdegree[roots], family[roots]))
    roots = roots[order]
    first_root = np.ones(len(roots), dtype=bool)
    first_root[1:] = family[roots][1:] != family[roots][:-1]
    named = np.zeros(len(size), dtype=np.int64)
    named[family[roots[first_root]]] = roots[first_root]
    columns = {
        "family": family,
        "family_root": ids.gather(named[family]),
        "family_size": size[family],
        "generation": generation,
        "is_root": is_root,
    }
    max_generation = np.zeros(len(size), dtype=np.int64)
    np.maximum.at(max_generation, family, generation)
    summary = {
        "edges": int(len(parent)),
        "families": int(len(size)),
        "families_of_one": int((size == 1).sum()),
        "largest_family": int(size.max()) if len(size) else 0,
        "largest_family_root": ids[int(named[np.argmax(size)])] if len(size) else None,
        "families_with_several_roots": int((np.bincount(family[is_root], minlength=len(size))
                                            > 1).sum()),
        "max_generation": int(generation.max()) if n else 0,
        "unreached_nodes": int((generation < 0).sum()),
    }
    return columns, summary


# --- results/lineage/ -------------------------------------------------------------------

EDGES = "edges.parquet"
NODES = "nodes.parquet"
HYGIENE = "hygiene.json"
DECISIONS = "decisions.csv"


def lineage_files(directory) -> dict[str, Path]:
    """The lineage's files in a directory, by the names the rules declare them under."""
    names = {"edges": EDGES, "nodes": NODES, "hygiene": HYGIENE, "decisions": DECISIONS}
    return {key: Path(directory) / name for key, name in names.items()}


def write_lineage(lineage: Lineage, edges, nodes, hygiene, decisions) -> None:
    for path in (edges, nodes, hygiene, decisions):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    snap.write_parquet(lineage.edges, edges)
    snap.write_parquet(lineage.nodes, nodes)
    snap.write_json(lineage.hygiene, hygiene)
    lineage.decisions.write_csv(decisions)


def read_lineage(nodes, edges) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(nodes, edges) from their parquet files."""
    return pl.read_parquet(nodes), pl.read_parquet(edges)
