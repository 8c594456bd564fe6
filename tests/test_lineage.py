"""Family trees (lineage.py, lineage_tables.py, descendant_tree): real Hub graphs, the
simulator's planted truth, and hand-made hygiene cases. Expected values come from the data's
documented facts or from independent computations here (plain Python BFS / union-find)."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from hubanatomy.lineage import tables
from hubanatomy.lineage.build import (
    DEFAULT_VARIANTS,
    LineageSettings,
    build_lineage,
    lineage_files,
    write_lineage,
)
from hubanatomy.lineage.plots import descendant_tree
from hubanatomy.simulator import simulate
from hubanatomy.snapshot import raw
from hubanatomy.snapshot.normalise import normalise, source_record

UTC_US = pl.Datetime("us", "UTC")
TEXTGEN_RELATIONS = {"finetuned": "finetune", "quantized": "quantized", "merged": "merge",
                     "adapter": "adapter"}
SMOL_ROOT = "HuggingFaceTB/SmolLM2-1.7B"
MISTRAL_ROOT = "mistralai/Mistral-Small-24B-Base-2501"
SIM_MODELS = 15_000
SIM_SEED = 4  # a seed whose snapshot has self-loops and case-changed parent ids


# --- helpers --------------------------------------------------------------------------

def _models(ids, created=None) -> pl.DataFrame:
    """A models frame; created: list of day offsets (None = unknown) or None for all unknown."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    if created is None:
        created = [None] * len(ids)
    return pl.DataFrame({
        "model_id": pl.Series(list(ids), dtype=pl.String),
        "created_at": pl.Series([None if d is None else base + timedelta(days=d)
                                 for d in created], dtype=UTC_US),
    })


def _parents(rows) -> pl.DataFrame:
    """rows of (child_id, parent_id, relation)."""
    return pl.DataFrame(
        {"child_id": [r[0] for r in rows], "parent_id": [r[1] for r in rows],
         "relation": [r[2] for r in rows], "origin": ["tag"] * len(rows)},
        schema={"child_id": pl.String, "parent_id": pl.String, "relation": pl.String,
                "origin": pl.String})


def _edge_pairs(lin) -> set[tuple[str, str]]:
    return set(zip(lin.edges["parent_id"].to_list(), lin.edges["child_id"].to_list(),
                   strict=True))


def _is_acyclic(pairs) -> bool:
    """Kahn's algorithm on (parent, child) pairs."""
    nodes = {n for p in pairs for n in p}
    indegree = Counter(c for _, c in pairs)
    out = defaultdict(list)
    for p, c in pairs:
        out[p].append(c)
    queue = deque(n for n in nodes if indegree[n] == 0)
    seen = 0
    while queue:
        u = queue.popleft()
        seen += 1
        for v in out[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    return seen == len(nodes)


def _partition(labels: dict[str, object]) -> dict[str, str]:
    """id -> canonical label (smallest member id) of the partition given by id -> group."""
    smallest: dict[object, str] = {}
    for model, group in labels.items():
        if group not in smallest or model < smallest[group]:
            smallest[group] = model
    return {model: smallest[group] for model, group in labels.items()}


def _union_find_partition(ids, pairs) -> dict[str, str]:
    parent = {i: i for i in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    return _partition({i: find(i) for i in ids})


def _family_partition(nodes: pl.DataFrame, variant: str, real_only: bool = True):
    frame = nodes.filter(~pl.col("virtual")) if real_only else nodes
    return _partition(dict(zip(frame["model_id"].to_list(),
                               frame[f"family_{variant}"].to_list(), strict=True)))


def _generations(nodes: pl.DataFrame, variant: str) -> dict[str, int]:
    return dict(zip(nodes["model_id"].to_list(), nodes[f"generation_{variant}"].to_list(),
                    strict=True))


# --- 1. textgen-lineage: 30,383 real typed edges --------------------------------------

@pytest.fixture(scope="module")
def textgen(real_data):
    path = real_data / "textgen-lineage" / "edges.csv"
    with path.open(newline="") as f:
        rows = [(r["source"], r["target"], r["edge"]) for r in csv.DictReader(f)]
    ids = sorted({x for s, t, _ in rows for x in (s, t)})
    parents = _parents([(t, s, TEXTGEN_RELATIONS[e]) for s, t, e in rows])
    lin = build_lineage(_models(ids), parents, LineageSettings())
    return rows, ids, lin


def test_textgen_hygiene_counts(textgen):
    rows, ids, lin = textgen
    counts = lin.hygiene["counts"]
    assert len(rows) == 30_383 and len(ids) == 29_973  # README
    assert counts["self_loops_removed"] == 42
    assert counts["multi_parent_children_declared"] == 1063
    assert counts["multi_parent_children"] == 1062
    assert counts["edges"] == 30_383 - 42 == lin.edges.height
    assert counts["cycle_edges_removed"] == 0 and counts["virtual_parents"] == 0
    # independently: ids sharing a lower-case spelling with another id
    lower = Counter(i.lower() for i in ids)
    assert counts["ambiguous_case_ids_in_snapshot"] == sum(
        1 for i in ids if lower[i.lower()] > 1)
    loops = lin.decisions.filter(pl.col("decision") == "self_loop_removed")
    assert sorted(loops["child_id"].to_list()) == sorted(s for s, t, _ in rows if s == t)

    variant = lin.hygiene["variants"]["all"]
    assert variant["families"] == 2304
    assert variant["largest_family"] == 6695
    assert variant["edges"] == 30_383 - 42

    expected = Counter(TEXTGEN_RELATIONS[e] for s, t, e in rows if s != t)
    by_relation = counts["edges_by_primary_relation"]
    for relation in ("finetune", "quantized", "merge", "adapter"):
        assert by_relation[relation] == expected[relation], relation
    assert by_relation["unspecified"] == 0
    # the README's raw counts (self-loops included) add up to the CSV
    raw_counts = Counter(e for _, _, e in rows)
    assert raw_counts == {"finetuned": 13_766, "quantized": 11_746, "merged": 4_577,
                          "adapter": 294}


def test_textgen_families_match_weak_components(textgen):
    rows, ids, lin = textgen
    expected = _union_find_partition(ids, [(s, t) for s, t, _ in rows])
    assert _family_partition(lin.nodes, "all") == expected
    assert len(set(expected.values())) == 2304


def test_textgen_generation_is_distance_from_nearest_root(textgen):
    rows, ids, lin = textgen
    parents_of = defaultdict(set)
    for s, t, _ in rows:
        if s != t:
            parents_of[t].add(s)
    generation = _generations(lin.nodes, "all")
    sample = random.Random(7).sample(ids, 200)
    # make sure deep nodes are in the sample too
    sample += sorted(ids, key=lambda i: (-generation[i], i))[:20]
    for node in sample:
        # backwards BFS: the nearest ancestor without parents
        dist = {node: 0}
        queue = deque([node])
        found = None
        while queue:
            u = queue.popleft()
            if not parents_of[u]:
                found = dist[u]
                break
            for p in sorted(parents_of[u]):
                if p not in dist:
                    dist[p] = dist[u] + 1
                    queue.append(p)
        assert found is not None
        assert generation[node] == found, node
    assert max(generation.values()) >= 5  # the sample included a deep chain


# --- 2. smollm2-family: one connected family of 1,042 models ----------------------------

@pytest.fixture(scope="module")
def smol(real_data):
    graph = json.loads((real_data / "smollm2-family" / "graph.json").read_text())
    ids = [n["id"] for n in graph["nodes"]]
    created = pl.Series([n["createdAt"] for n in graph["nodes"]]).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC").cast(UTC_US)
    models = pl.DataFrame({"model_id": ids, "created_at": created})
    parents = _parents([(e["target"], e["source"], e["type"]) for e in graph["edges"]])
    return graph, build_lineage(models, parents, LineageSettings())


def test_smollm2_one_family_with_documented_shape(smol):
    graph, lin = smol
    nodes = lin.nodes
    assert nodes.height == 1042 and not nodes["virtual"].any()
    relations = {e["type"] for e in graph["edges"]}
    checked = 0
    for variant, included in DEFAULT_VARIANTS.items():
        if relations <= set(included):
            checked += 1
            assert lin.hygiene["variants"][variant]["families"] == 1, variant
            assert lin.hygiene["variants"][variant]["largest_family"] == 1042, variant
            assert set(nodes[f"family_root_{variant}"]) == {SMOL_ROOT}, variant
    assert checked >= 2  # "all" and "no_merge"
    assert lin.hygiene["variants"]["finetune"]["families"] > 1  # adapters cut away

    # independent BFS depth from the root
    children = defaultdict(list)
    for e in graph["edges"]:
        children[e["source"]].append(e["target"])
    depth = {SMOL_ROOT: 0}
    queue = deque([SMOL_ROOT])
    while queue:
        u = queue.popleft()
        for v in children[u]:
            if v not in depth:
                depth[v] = depth[u] + 1
                queue.append(v)
    assert len(depth) == 1042
    assert max(depth.values()) <= 4  # README
    assert nodes["generation_all"].max() == max(depth.values())
    assert lin.hygiene["variants"]["all"]["max_generation"] == max(depth.values())
    assert _generations(nodes, "all") == depth

    by_relation = lin.hygiene["counts"]["edges_by_primary_relation"]
    assert {r: by_relation[r] for r in ("adapter", "finetune", "quantized")} == {
        "adapter": 522, "finetune": 282, "quantized": 237}
    assert by_relation["merge"] == by_relation["unspecified"] == 0


def test_smollm2_edges_by_relation_table(smol):
    _, lin = smol
    table = tables.edges_by_relation(lin.edges, lin.nodes)
    rows = {r["relation"]: r for r in table.iter_rows(named=True)}
    assert rows["adapter"]["edges"] == 522
    assert rows["finetune"]["edges"] == 282
    assert rows["quantized"]["edges"] == 237
    assert rows["merge"]["edges"] == rows["unspecified"]["edges"] == 0
    assert rows["total"]["edges"] == 1041
    per_relation = table.filter(pl.col("relation") != "total")
    assert per_relation["edges"].sum() == rows["total"]["edges"]
    assert per_relation["edges_to_virtual_parents"].sum() == 0
    # edges whose child has children: independently from the edge list
    parents_with_children = set(lin.edges["parent_id"].to_list())
    expected = sum(1 for c in lin.edges["child_id"].to_list() if c in parents_with_children)
    assert rows["total"]["edges_child_has_children"] == expected
    assert per_relation["edges_child_has_children"].sum() == expected


def test_smollm2_descendant_tree(smol):
    _, lin = smol
    full = descendant_tree(lin.nodes, lin.edges, SMOL_ROOT, max_nodes=2000)
    assert full["descendants"] == 1041
    assert len(full["kept"]) == 1042 and full["omitted"] == {}
    root = full["root"]
    assert lin.nodes["model_id"][root] == SMOL_ROOT

    cut = descendant_tree(lin.nodes, lin.edges, SMOL_ROOT, max_nodes=50)
    kept = cut["kept"]
    assert len(kept) == 50 and len(set(kept)) == 50 and kept[0] == root
    omitted_models = sum(total for _, total in cut["omitted"].values())
    assert omitted_models + len(kept) == cut["descendants"] + 1 == 1042
    kept_set = set(kept)
    for u, (count, _) in cut["omitted"].items():
        assert u in kept_set
        assert count == sum(1 for v in cut["tree_children"][u] if v not in kept_set)
    # the kept set hangs together: every kept node's layout parent is kept
    assert all(cut["tree_parent"][u] in kept_set for u in kept if u != root)


# --- 3. mistral-small-family: real ModelInfo JSON through normalise --------------------

def test_mistral_family_generations_equal_crawl_depth(real_data, tmp_path):
    table = pl.read_csv(real_data / "mistral-small-family" / "models.csv")
    raw_file = tmp_path / "models.jsonl"
    raw_file.write_text("".join(json.dumps(json.loads(m)) + "\n" for m in table["metadata"]))
    out = tmp_path / "snap"
    normalise(raw_file, out, {"kind": "snapshot"})
    models = pl.read_parquet(out / "models.parquet")
    parents = pl.read_parquet(out / "parents.parquet")
    renames = pl.read_parquet(out / "renames.parquet")
    lin = build_lineage(models.select("model_id", "created_at"), parents, LineageSettings(),
                        renames)
    nodes = lin.nodes
    root_family = nodes.filter(pl.col("model_id") == MISTRAL_ROOT)["family_all"][0]
    family = nodes.filter((pl.col("family_all") == root_family) & ~pl.col("virtual"))
    assert family.height == 67
    assert set(family["family_root_all"]) == {MISTRAL_ROOT}
    counts = Counter(family["generation_all"].to_list())
    assert [counts[g] for g in range(4)] == [1, 22, 36, 8]
    assert sum(counts.values()) == 67
    depth = dict(zip(table["model_id"].to_list(), table["depth"].to_list(), strict=True))
    generation = _generations(family, "all")
    assert set(generation) == set(depth)
    misplaced = {m: (generation[m], depth[m]) for m in depth if generation[m] != depth[m]}
    assert misplaced == {}


# --- 4. the simulator's planted truth ---------------------------------------------------

@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim-lineage")
    truth = simulate(SIM_MODELS, SIM_SEED, "directed", root / "raw")
    normalise(root / "raw", root / "snap", source_record({"kind": "simulated"}, root / "raw"))
    models = pl.read_parquet(root / "snap" / "models.parquet", columns=["model_id", "created_at"])
    parents = pl.read_parquet(root / "snap" / "parents.parquet")
    renames = pl.read_parquet(root / "snap" / "renames.parquet")
    nodes_truth = pl.read_parquet(root / "raw" / raw.TRUTH_NODES)
    ground = json.loads((root / "raw" / raw.GROUND_TRUTH).read_text())
    lin = build_lineage(models, parents, LineageSettings(), renames)
    return {"models": models, "parents": parents, "renames": renames, "truth": nodes_truth,
            "ground": ground, "returned": truth, "lineage": lin}


def test_simulated_families_are_the_true_components(simulated):
    truth, lin = simulated["truth"], simulated["lineage"]
    ids = truth["model_id"].to_list()
    pairs = [(p, c) for c, ps in zip(ids, truth["parent_ids"].to_list(), strict=True)
             for p in ps]
    written = set(truth.filter(~pl.col("hidden"))["model_id"].to_list())
    assert written == set(simulated["models"]["model_id"].to_list())
    expected_all = _union_find_partition(ids, pairs)
    # restrict the true partition to the written models, relabelled by their smallest member
    expected = _partition({m: expected_all[m] for m in written})
    assert _family_partition(lin.nodes, "all") == expected
    # hidden models are there as virtual nodes (spelled as declared)
    hidden = {i.lower() for i in truth.filter(pl.col("hidden"))["model_id"].to_list()}
    virtual = {i.lower() for i in lin.nodes.filter(pl.col("virtual"))["model_id"].to_list()}
    assert virtual == hidden


def test_simulated_generations_are_true(simulated):
    truth, lin = simulated["truth"], simulated["lineage"]
    expected = dict(zip(truth["model_id"].to_list(), truth["generation"].to_list(), strict=True))
    got = _generations(lin.nodes.filter(~pl.col("virtual")), "all")
    wrong = {m: (g, expected[m]) for m, g in got.items() if g != expected[m]}
    assert wrong == {}
    assert len(got) == simulated["models"].height


def test_simulated_hygiene_matches_planted_quirks(simulated):
    quirks = simulated["ground"]["quirks"]
    assert simulated["returned"]["quirks"] == quirks
    lin = simulated["lineage"]
    counts = lin.hygiene["counts"]
    assert quirks["hidden_parents"] > 0 and quirks["self_loops"] > 0
    assert quirks["case_changed_parent_ids"] > 0
    assert counts["virtual_parents"] == quirks["hidden_parents"]
    assert counts["self_loops_removed"] == quirks["self_loops"]
    assert (counts["resolved_by_case"] > 0) == (quirks["case_changed_parent_ids"] > 0)
    assert counts["resolved_by_case"] <= quirks["case_changed_parent_ids"]
    assert counts["edges_to_virtual_parents"] == quirks["children_of_hidden_parents"]

    truth = simulated["truth"]
    true_pairs = {(p, c) for c, ps in zip(truth["model_id"].to_list(),
                                           truth["parent_ids"].to_list(), strict=True)
                  for p in ps}
    by_case = lin.edges.filter(pl.col("resolution") == "case")
    assert by_case.height == counts["resolved_by_case"]
    for row in by_case.iter_rows(named=True):
        assert (row["parent_id"], row["child_id"]) in true_pairs
        declared = row["declared_parent_ids"]
        assert all(d != row["parent_id"] and d.lower() == row["parent_id"].lower()
                   for d in declared)
    decided = lin.decisions.filter(pl.col("decision") == "resolved_by_case")
    assert decided.height == counts["resolved_by_case"]
    assert all((r, c) in true_pairs for r, c in zip(
        decided["resolved_parent_id"].to_list(), decided["child_id"].to_list(), strict=True))
    # every edge of the lineage is a true edge (hidden parents by their declared spelling)
    lower_true = {(p.lower(), c) for p, c in true_pairs}
    assert all((p.lower(), c) in lower_true for p, c in _edge_pairs(lin))


def test_simulated_top_parent_children(simulated):
    top = simulated["ground"]["counts"]["top_parents"][0]
    nodes = simulated["lineage"].nodes
    row = nodes.filter(pl.col("model_id") == top["id"])
    assert row.height == 1 and not row["virtual"][0]
    assert row["children"][0] == top["children"]
    assert tables.top_parents(nodes, 1)["model_id"][0] == top["id"]


# --- 5. hand-made hygiene cases ---------------------------------------------------------

def test_three_cycle_drops_the_edge_into_the_oldest(tmp_path):
    models = _models(["a", "b", "c"], [0, 1, 2])
    parents = _parents([("b", "a", "finetune"), ("c", "b", "finetune"),
                        ("a", "c", "finetune")])
    lin = build_lineage(models, parents, LineageSettings())
    assert _edge_pairs(lin) == {("a", "b"), ("b", "c")}
    assert _is_acyclic(_edge_pairs(lin))
    counts = lin.hygiene["counts"]
    assert counts["cycle_edges_removed"] == 1 and counts["cyclic_components"] == 1
    write_lineage(lin, **lineage_files(tmp_path))
    decisions = pl.read_csv(tmp_path / "decisions.csv")
    removed = decisions.filter(pl.col("decision") == "cycle_edge_removed")
    assert removed.select("child_id", "parent_id").rows() == [("a", "c")]
    assert _generations(lin.nodes, "all") == {"a": 0, "b": 1, "c": 2}


def test_cycle_oldest_by_id_when_dates_tie_or_are_missing():
    # b is older than a by date; c has no date (never the oldest)
    lin = build_lineage(_models(["a", "b", "c"], [5, 1, None]),
                        _parents([("b", "a", "finetune"), ("c", "b", "finetune"),
                                  ("a", "c", "finetune")]), LineageSettings())
    assert _edge_pairs(lin) == {("b", "c"), ("c", "a")}
    # no dates at all: the smallest id counts as the oldest
    lin = build_lineage(_models(["b", "a", "c"]),
                        _parents([("b", "a", "finetune"), ("c", "b", "finetune"),
                                  ("a", "c", "finetune")]), LineageSettings())
    assert _edge_pairs(lin) == {("a", "b"), ("b", "c")}


def test_nested_cycles_are_broken_repeatedly():
    # a->b->c->a and b->d->b: first the edge into a, then (inside {b, d}) the edge into b
    models = _models(["a", "b", "c", "d"], [0, 1, 2, 3])
    parents = _parents([("b", "a", "finetune"), ("c", "b", "finetune"), ("a", "c", "finetune"),
                        ("d", "b", "adapter"), ("b", "d", "adapter")])
    lin = build_lineage(models, parents, LineageSettings())
    assert _edge_pairs(lin) == {("a", "b"), ("b", "c"), ("b", "d")}
    assert _is_acyclic(_edge_pairs(lin))
    removed = lin.decisions.filter(pl.col("decision") == "cycle_edge_removed")
    assert set(removed.select("parent_id", "child_id").rows()) == {("c", "a"), ("d", "b")}
    assert lin.hygiene["counts"]["cycle_edges_removed"] == 2
    assert lin.hygiene["counts"]["cyclic_components"] == 2
    # a bigger random graph: whatever is removed, the result is acyclic
    rng = random.Random(3)
    ids = [f"m{i:02d}" for i in range(30)]
    pairs = {(rng.choice(ids), rng.choice(ids)) for _ in range(90)}
    lin = build_lineage(_models(ids, list(range(30))),
                        _parents([(c, p, "finetune") for p, c in pairs]), LineageSettings())
    kept = _edge_pairs(lin)
    assert _is_acyclic(kept)
    assert kept | {tuple(r) for r in lin.decisions.filter(
        pl.col("decision").is_in(["cycle_edge_removed", "self_loop_removed"])).select(
        "parent_id", "child_id").rows()} == pairs
    # every removed cycle edge points into a model older than its parent
    age = {m: i for i, m in enumerate(ids)}
    for p, c in lin.decisions.filter(pl.col("decision") == "cycle_edge_removed").select(
            "parent_id", "child_id").rows():
        assert age[c] < age[p]


def test_case_resolution():
    lin = build_lineage(_models(["org/model", "x/child"]),
                        _parents([("x/child", "Org/Model", "finetune")]), LineageSettings())
    counts = lin.hygiene["counts"]
    assert counts["resolved_by_case"] == 1 and counts["virtual_parents"] == 0
    assert _edge_pairs(lin) == {("org/model", "x/child")}
    assert lin.edges["resolution"].to_list() == ["case"]
    assert lin.edges["declared_parent_ids"].to_list() == [["Org/Model"]]
    decided = lin.decisions.filter(pl.col("decision") == "resolved_by_case")
    assert decided.select("child_id", "parent_id", "resolved_parent_id").rows() == [
        ("x/child", "Org/Model", "org/model")]


def test_ambiguous_case_stays_virtual():
    lin = build_lineage(_models(["org/Model", "org/model", "x/child"]),
                        _parents([("x/child", "ORG/MODEL", "finetune")]), LineageSettings())
    counts = lin.hygiene["counts"]
    assert counts["ambiguous_case_ids_in_snapshot"] == 2
    assert counts["resolved_by_case"] == 0 and counts["virtual_parents"] == 1
    assert _edge_pairs(lin) == {("ORG/MODEL", "x/child")}
    assert lin.edges["parent_virtual"].to_list() == [True]
    assert lin.nodes.filter(pl.col("virtual"))["model_id"].to_list() == ["ORG/MODEL"]


def test_renames_and_chains():
    models = _models(["new/m", "c/one", "c/two", "z/c", "c/three"])
    renames = pl.DataFrame({"old_id": ["old/m", "a/a", "b/b"], "new_id": ["new/m", "b/b", "z/c"]})
    parents = _parents([("c/one", "old/m", "finetune"), ("c/two", "a/a", "adapter"),
                        ("c/three", "b/b", "quantized")])
    lin = build_lineage(models, parents, LineageSettings(), renames)
    counts = lin.hygiene["counts"]
    assert counts["resolved_by_rename"] == 3 and counts["virtual_parents"] == 0
    assert _edge_pairs(lin) == {("new/m", "c/one"), ("z/c", "c/two"), ("z/c", "c/three")}
    decided = lin.decisions.filter(pl.col("decision") == "resolved_by_rename")
    assert set(decided.select("child_id", "parent_id", "resolved_parent_id").rows()) == {
        ("c/one", "old/m", "new/m"), ("c/two", "a/a", "z/c"), ("c/three", "b/b", "z/c")}
    assert set(lin.edges["resolution"]) == {"rename"}


def test_absent_case_variants_are_one_virtual_node_or_dropped():
    models = _models(["c/1", "c/2", "c/3"])
    parents = _parents([("c/1", "X/Y", "finetune"), ("c/2", "x/y", "finetune"),
                        ("c/3", "X/Y", "adapter")])
    lin = build_lineage(models, parents, LineageSettings())
    virtual = lin.nodes.filter(pl.col("virtual"))
    assert virtual.height == 1 and lin.hygiene["counts"]["virtual_parents"] == 1
    assert virtual["model_id"][0] == "X/Y"  # the commonest spelling
    assert virtual["children"][0] == 3
    assert lin.edges["parent_node"].n_unique() == 1
    assert lin.hygiene["counts"]["declarations_of_absent_parents"] == 3
    assert lin.hygiene["variants"]["all"]["families"] == 1

    dropped = build_lineage(models, parents, LineageSettings(keep_virtual_parents=False))
    counts = dropped.hygiene["counts"]
    assert counts["declarations_dropped_absent_parent"] == 3
    assert counts["virtual_parents"] == 0 and counts["edges"] == 0
    assert dropped.edges.height == 0 and not dropped.nodes["virtual"].any()
    assert dropped.nodes.height == 3
    assert dropped.decisions.filter(
        pl.col("decision") == "dropped_absent_parent").height == 3


def test_one_edge_per_pair_with_all_relations():
    models = _models(["p", "c"])
    parents = _parents([("c", "p", "finetune"), ("c", "p", "quantized"),
                        ("c", "p", "finetune")])
    lin = build_lineage(models, parents, LineageSettings())
    assert lin.edges.height == 1
    assert lin.edges["relations"].to_list() == [["quantized", "finetune"]]
    assert lin.edges["primary_relation"].to_list() == ["quantized"]
    assert lin.hygiene["counts"]["multi_relation_pairs"] == 1
    assert lin.hygiene["counts"]["edges_by_primary_relation"]["quantized"] == 1

    finetune_first = LineageSettings(
        precedence=("finetune", "merge", "adapter", "quantized", "unspecified"))
    lin = build_lineage(models, parents, finetune_first)
    assert lin.edges["relations"].to_list() == [["finetune", "quantized"]]
    assert lin.edges["primary_relation"].to_list() == ["finetune"]


def test_bad_rows_are_counted():
    models = _models(["p", "c", "d", "e"])
    parents = _parents([
        ("c", "p", "distilled"),  # unknown relation -> unspecified
        ("d", None, "finetune"), ("d", "", "finetune"), ("e", "   ", "adapter"),  # empty
        ("ghost", "p", "finetune"),  # child not in the snapshot
        ("e", "p", "merge"),
    ])
    lin = build_lineage(models, parents, LineageSettings())
    counts = lin.hygiene["counts"]
    assert counts["declared_rows"] == 6
    assert counts["rows_with_unknown_relation"] == 1
    assert counts["rows_with_empty_parent"] == 3
    assert counts["rows_with_child_not_in_snapshot"] == 1
    assert _edge_pairs(lin) == {("p", "c"), ("p", "e")}
    relation = dict(zip(lin.edges["child_id"].to_list(), lin.edges["primary_relation"].to_list(),
                        strict=True))
    assert relation == {"c": "unspecified", "e": "merge"}
    decisions = Counter(lin.decisions["decision"].to_list())
    assert decisions["empty_parent_dropped"] == 3
    assert decisions["unknown_relation_as_unspecified"] == 1
    assert decisions["child_not_in_snapshot"] == 1
    assert "ghost" not in set(lin.nodes["model_id"])


def test_precedence_must_rank_every_relation():
    with pytest.raises(ValueError, match="unspecified"):
        LineageSettings(precedence=("merge", "adapter", "quantized", "finetune"))
    with pytest.raises(ValueError, match="merge"):
        LineageSettings(precedence=("adapter", "quantized", "finetune", "unspecified"))


def test_finetune_variant_splits_at_an_adapter_edge():
    lin = build_lineage(_models(["a", "b", "c"], [0, 1, 2]),
                        _parents([("b", "a", "finetune"), ("c", "b", "adapter")]),
                        LineageSettings())
    nodes = lin.nodes
    assert nodes["family_all"].n_unique() == 1
    assert set(nodes["family_root_all"]) == {"a"}
    assert _generations(nodes, "all") == {"a": 0, "b": 1, "c": 2}
    fam = dict(zip(nodes["model_id"].to_list(), nodes["family_finetune"].to_list(), strict=True))
    assert fam["a"] == fam["b"] != fam["c"]
    assert _generations(nodes, "finetune") == {"a": 0, "b": 1, "c": 0}
    roots = dict(zip(nodes["model_id"].to_list(), nodes["is_root_finetune"].to_list(),
                     strict=True))
    assert roots == {"a": True, "b": False, "c": True}
    assert lin.hygiene["variants"]["finetune"]["families"] == 2
    assert lin.hygiene["variants"]["all"]["families"] == 1


def test_named_root_has_most_children():
    # family with two roots: r2 has more children than r1
    models = _models(["r1", "r2", "x", "y", "z"], [0, 1, 2, 3, 4])
    parents = _parents([("x", "r1", "merge"), ("x", "r2", "merge"), ("y", "r2", "finetune"),
                        ("z", "r2", "finetune")])
    lin = build_lineage(models, parents, LineageSettings())
    assert set(lin.nodes["family_root_all"]) == {"r2"}
    assert lin.hygiene["variants"]["all"]["families_with_several_roots"] == 1


# --- 6. determinism ---------------------------------------------------------------------

def test_same_inputs_same_output_and_order_does_not_matter(simulated):
    models, parents, renames = (simulated["models"], simulated["parents"],
                                simulated["renames"])
    first = simulated["lineage"]
    again = build_lineage(models, parents, LineageSettings(), renames)
    assert again.nodes.equals(first.nodes)
    assert again.edges.equals(first.edges)
    assert again.hygiene == first.hygiene

    shuffled = parents.sample(fraction=1.0, shuffle=True, seed=5)
    assert not shuffled["child_id"].equals(parents["child_id"])
    other = build_lineage(models, shuffled, LineageSettings(), renames)
    assert other.hygiene["counts"] == first.hygiene["counts"]
    assert other.hygiene["variants"] == first.hygiene["variants"]
    for variant in DEFAULT_VARIANTS:
        assert (_family_partition(other.nodes, variant, real_only=False)
                == _family_partition(first.nodes, variant, real_only=False))
        assert _generations(other.nodes, variant) == _generations(first.nodes, variant)
        assert (dict(zip(other.nodes["model_id"].to_list(),
                         other.nodes[f"family_root_{variant}"].to_list(), strict=True))
                == dict(zip(first.nodes["model_id"].to_list(),
                            first.nodes[f"family_root_{variant}"].to_list(), strict=True)))


# --- 7. lineage_tables ------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    """Two families: a big one under org/base (with a virtual co-parent), and b/foo alone."""
    models = _models(["org/base", "a/foo", "b/foo", "c/bar", "d/q", "e/m"],
                     [0, 1, 2, 3, 4, 5])
    parents = _parents([("a/foo", "org/base", "finetune"), ("c/bar", "org/base", "adapter"),
                        ("d/q", "a/foo", "quantized"), ("e/m", "a/foo", "merge"),
                        ("e/m", "gone/x", "merge")])
    return build_lineage(models, parents, LineageSettings())


def test_families_and_top_parents(small, simulated):
    nodes = small.nodes
    fam = tables.families(nodes, "all")
    assert fam["size"].to_list() == [6, 1]
    assert fam["family_root"].to_list() == ["org/base", "b/foo"]
    assert fam["rank"].to_list() == [1, 2]
    assert fam["virtual_nodes"].to_list() == [1, 0]
    assert fam["roots"].to_list() == [2, 1]
    assert fam["max_generation"].to_list() == [2, 0]

    top = tables.top_parents(nodes, 2)
    assert top["model_id"].to_list() == ["a/foo", "org/base"]
    assert top["children"].to_list() == [2, 2]
    assert top.row(0, named=True)["children_quantized"] == 1
    assert top.row(0, named=True)["children_merge"] == 1

    # on the simulated snapshot: families cover every node, sizes agree with a recount
    big = simulated["lineage"].nodes
    for variant in DEFAULT_VARIANTS:
        table = tables.families(big, variant)
        assert table["size"].sum() == big.height
        assert table.height == simulated["lineage"].hygiene["variants"][variant]["families"]
        sizes = table["size"].to_list()
        assert sizes == sorted(sizes, reverse=True)
        recount = Counter(_family_partition(big, variant, real_only=False).values())
        assert sorted(recount.values(), reverse=True) == sizes
    children = Counter(simulated["lineage"].edges["parent_id"].to_list())
    top = tables.top_parents(big, 10)
    expected = sorted(children.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert list(zip(top["model_id"].to_list(), top["children"].to_list(), strict=True)) == expected


def test_family_size_and_generation_distributions(simulated):
    nodes = simulated["lineage"].nodes
    variants = list(DEFAULT_VARIANTS)
    sizes = tables.family_size_distribution(nodes, variants)
    real = nodes.filter(~pl.col("virtual")).height
    generations = tables.generation_distribution(nodes, variants)
    for variant in variants:
        rows = sizes.filter(pl.col("variant") == variant).sort("size")
        ccdf = rows["ccdf"].to_numpy()
        assert ccdf[0] == pytest.approx(1.0)
        assert (np.diff(ccdf) < 0).all()
        recount = Counter(Counter(_family_partition(nodes, variant, real_only=False)
                                  .values()).values())
        total = sum(recount.values())
        assert dict(zip(rows["size"].to_list(), rows["families"].to_list(),
                        strict=True)) == recount
        for s, p in zip(rows["size"].to_list(), ccdf, strict=True):
            assert p == pytest.approx(sum(k for size, k in recount.items() if size >= s)
                                      / total)

        gen = generations.filter(pl.col("variant") == variant)
        assert gen["models"].sum() == real
        expected = Counter(nodes.filter(~pl.col("virtual"))[f"generation_{variant}"].to_list())
        assert dict(zip(gen["generation"].to_list(), gen["models"].to_list(),
                        strict=True)) == expected


def test_find_model_and_tree_start(small):
    nodes = small.nodes
    assert tables.find_model(nodes, "a/foo") == "a/foo"  # exact id
    assert tables.find_model(nodes, "foo") == "a/foo"  # name part; a/foo has most children
    assert tables.find_model(nodes, "bar") == "c/bar"
    assert tables.find_model(nodes, "x/foo") is None
    assert tables.find_model(nodes, "nothing") is None

    start, title = tables.tree_start(nodes, "all", 1, "bar")
    assert start == "c/bar" and "c/bar" in title
    start, title = tables.tree_start(nodes, "all", 1, "Llama-3-8B")
    assert start == "org/base"
    assert "Llama-3-8B" in title and "org/base" in title
    start, title = tables.tree_start(nodes, "all", 2, None)
    assert start == "b/foo"
    start, _ = tables.tree_start(nodes, "all", 99, None)  # past the end: the last family
    assert start == "b/foo"


def test_find_model_prefers_most_children():
    lin = build_lineage(_models(["a/foo", "b/foo", "k1", "k2"]),
                        _parents([("k1", "b/foo", "finetune"), ("k2", "b/foo", "adapter")]),
                        LineageSettings())
    assert tables.find_model(lin.nodes, "foo") == "b/foo"


def test_descendant_tree_on_a_small_dag(small):
    tree = descendant_tree(small.nodes, small.edges, "org/base", max_nodes=100)
    names = small.nodes["model_id"].to_list()
    assert tree["descendants"] == 4
    assert {names[u] for u in tree["kept"]} == {"org/base", "a/foo", "c/bar", "d/q", "e/m"}
    assert {names[u]: d for u, d in tree["depth"].items()} == {
        "org/base": 0, "a/foo": 1, "c/bar": 1, "d/q": 2, "e/m": 2}


def test_scipy_cross_check_of_textgen_components(textgen):
    """A second, independent count of the components (scipy on the raw CSV ids)."""
    rows, ids, _ = textgen
    position = {m: i for i, m in enumerate(ids)}
    src = np.array([position[s] for s, _, _ in rows])
    dst = np.array([position[t] for _, t, _ in rows])
    graph = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(len(ids), len(ids)))
    n, labels = connected_components(graph, directed=True, connection="weak")
    assert n == 2304
    assert np.bincount(labels).max() == 6695


def test_written_files_round_trip(small, tmp_path):
    write_lineage(small, **lineage_files(tmp_path))
    nodes = pl.read_parquet(Path(tmp_path) / "nodes.parquet")
    edges = pl.read_parquet(Path(tmp_path) / "edges.parquet")
    assert nodes.equals(small.nodes) and edges.equals(small.edges)
    hygiene = json.loads((Path(tmp_path) / "hygiene.json").read_text())
    assert hygiene["counts"]["virtual_parents"] == 1


def test_degenerate_inputs():
    lin = build_lineage(_models(["a", "b"]), _parents([]), LineageSettings())
    assert lin.edges.height == 0 and lin.hygiene["variants"]["all"]["families"] == 2
    assert set(lin.nodes["generation_all"]) == {0}
    lin = build_lineage(_models([]), _parents([("a", "b", "finetune")]), LineageSettings())
    assert lin.nodes.height == 0
    assert lin.hygiene["counts"]["rows_with_child_not_in_snapshot"] == 1
    with pytest.raises(ValueError, match="no families"):
        tables.tree_start(lin.nodes, "all", 1, "x")
    # a null relation counts as unknown and becomes unspecified
    lin = build_lineage(_models(["a", "b"]), _parents([("a", "b", None)]), LineageSettings())
    assert lin.hygiene["counts"]["rows_with_unknown_relation"] == 1
    assert lin.edges["primary_relation"].to_list() == ["unspecified"]
    # a parent resolved by case to the child itself is a self-loop
    lin = build_lineage(_models(["a/b"]), _parents([("a/b", "A/B", "finetune")]),
                        LineageSettings())
    assert lin.hygiene["counts"]["self_loops_removed"] == 1 and lin.edges.height == 0


# --- real id quirks: each cleaned or rejected with its reason (parent_ids.py) -----------

QUIRKS = [  # (declared parent id, what the lineage must make of it)
    ("ORIGINAL_REPO_NAME", "rejected:placeholder"),
    ("None", "rejected:placeholder"),
    ("{{ base_model }}", "rejected:placeholder"),
    ("/home/me/checkpoints/final", "rejected:local_path"),
    ("./", "rejected:local_path"),
    ("outputs/run-3/checkpoint-500", "rejected:local_path"),
    ("C:\\models\\mine", "rejected:local_path"),
    ("datasets/org/corpus", "rejected:dataset"),
    ("https://huggingface.co/datasets/org/corpus", "rejected:dataset"),
    ("https://huggingface.co/spaces/org/demo", "rejected:space"),
    ("https://github.com/org/model", "rejected:other_url"),
    ("org/model:v2", "rejected:not_a_repo_id"),
    ("<br>", "rejected:empty"),
    ("https://huggingface.co/org/model", "org/model"),
    ("https://huggingface.co/org/model/tree/main", "org/model"),
    ("hf.co/org/model", "org/model"),
    ("org/model<br>", "org/model"),
    ("org/model <br/><br>", "org/model"),
    ("- org/model", "org/model"),
    ("'org/model'", "org/model"),
]


def test_each_parent_id_quirk_is_cleaned_or_rejected_with_its_reason(caplog):
    children = [f"c/{i}" for i in range(len(QUIRKS))]
    models = _models(["org/model", *children])
    parents = _parents([(c, raw, "finetune") for c, (raw, _) in zip(children, QUIRKS,
                                                                     strict=True)])
    with caplog.at_level("WARNING", logger="hubanatomy.lineage.build"):
        lin = build_lineage(models, parents, LineageSettings())
    decided = {row["child_id"]: row for row in lin.decisions.iter_rows(named=True)}
    rejected = Counter()
    for child, (declared, expected) in zip(children, QUIRKS, strict=True):
        if expected.startswith("rejected:"):
            reason = expected.split(":", 1)[1]
            rejected[reason] += 1
            assert decided[child]["decision"] == f"parent_id_rejected_{reason}", declared
            assert decided[child]["parent_id"] == declared
        else:
            assert decided[child]["decision"].startswith("parent_id_cleaned_"), declared
            assert decided[child]["resolved_parent_id"] == expected
    counts = lin.hygiene["counts"]
    assert {k: v for k, v in counts["parent_ids_rejected"].items() if v} == dict(rejected)
    assert counts["parent_ids_cleaned"] == sum(not e.startswith("rejected") for _, e in QUIRKS)
    # every cleaned id reaches the real model; no rejected id becomes a (fake) virtual parent
    assert _edge_pairs(lin) == {("org/model", c) for c, (_, e) in zip(children, QUIRKS,
                                                                     strict=True)
                                if not e.startswith("rejected")}
    assert counts["virtual_parents"] == 0
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warning) == 1 and f"{sum(rejected.values())} of {len(QUIRKS)}" in warning[0]
    assert "ORIGINAL_REPO_NAME" in warning[0]


def test_a_placeholder_parent_makes_no_fake_family():
    """Dozens of unrelated models declaring a template id: without cleaning they would be one
    family around a virtual 'ORIGINAL_REPO_NAME'."""
    children = [f"u{i}/m" for i in range(48)]
    parents = _parents([(c, "ORIGINAL_REPO_NAME", "finetune") for c in children])
    kept = build_lineage(_models(children), parents, LineageSettings(clean_parent_ids=False))
    assert kept.hygiene["variants"]["all"]["families"] == 1
    cleaned = build_lineage(_models(children), parents, LineageSettings())
    assert cleaned.edges.height == 0
    assert cleaned.hygiene["variants"]["all"]["families"] == 48


def test_legacy_ids_resolve_to_the_organisation_the_hub_moved_them_to():
    models = _models(["google-bert/bert-base-uncased", "openai-community/gpt2", "c/1", "c/2",
                      "c/3"])
    parents = _parents([("c/1", "bert-base-uncased", "finetune"), ("c/2", "gpt2", "adapter"),
                        ("c/3", "not-a-moved-model", "finetune")])
    lin = build_lineage(models, parents, LineageSettings())
    counts = lin.hygiene["counts"]
    assert counts["resolved_by_legacy_id"] == 2 and counts["virtual_parents"] == 1
    assert _edge_pairs(lin) == {("google-bert/bert-base-uncased", "c/1"),
                                ("openai-community/gpt2", "c/2"), ("not-a-moved-model", "c/3")}
    decided = lin.decisions.filter(pl.col("decision") == "resolved_by_legacy_id")
    assert set(decided.select("parent_id", "resolved_parent_id").rows()) == {
        ("bert-base-uncased", "google-bert/bert-base-uncased"),
        ("gpt2", "openai-community/gpt2")}
    # a snapshot that still holds the legacy id itself matches it exactly
    old = build_lineage(_models(["bert-base-uncased", "c/1"]),
                        _parents([("c/1", "bert-base-uncased", "finetune")]), LineageSettings())
    assert old.hygiene["counts"]["resolved_exact"] == 1
    assert old.hygiene["counts"]["resolved_by_legacy_id"] == 0


def test_legacy_table_has_a_source_for_every_entry_and_the_recorded_redirect():
    from hubanatomy.datafiles import read_data_csv
    table = read_data_csv("legacy_model_ids.csv")
    assert table.columns == ["legacy_id", "current_id", "source"]
    assert table["legacy_id"].is_unique().all()
    assert (table["source"].str.len_chars() > 10).all()
    assert not table["legacy_id"].str.contains("/").any()
    assert table["current_id"].str.contains(r"^[^/]+/[^/]+$").all()
    # the real Hub answers /api/models/bert-base-uncased with a redirect to this id
    moved = dict(zip(table["legacy_id"], table["current_id"], strict=True))
    assert moved["bert-base-uncased"] == "google-bert/bert-base-uncased"


def test_paper_matching_is_exact():
    """The paper's code matched parent ids as written: no cleaning, rename, legacy id or case
    resolution (presets paper-v1 and paper-final)."""
    models = _models(["google-bert/bert-base-uncased", "org/model", "new/m", "c/1", "c/2",
                      "c/3", "c/4", "c/5"])
    parents = _parents([("c/1", "bert-base-uncased", "finetune"),
                        ("c/2", "Org/Model", "finetune"),
                        ("c/3", "old/m", "finetune"),
                        ("c/4", "https://huggingface.co/org/model", "finetune"),
                        ("c/5", "org/model", "finetune")])
    renames = pl.DataFrame({"old_id": ["old/m"], "new_id": ["new/m"]})
    paper = LineageSettings(keep_virtual_parents=False, clean_parent_ids=False,
                            resolve_parents=())
    lin = build_lineage(models, parents, paper, renames)
    assert _edge_pairs(lin) == {("org/model", "c/5")}
    counts = lin.hygiene["counts"]
    assert counts["declarations_dropped_absent_parent"] == 4
    assert counts["resolved_by_rename"] == counts["resolved_by_case"] == 0
    assert "parent_ids_rejected" not in counts
    ours = build_lineage(models, parents, LineageSettings(), renames)
    assert ours.edges.height == 5
    assert Counter(ours.edges["resolution"].to_list()) == {
        "exact": 2, "legacy_id": 1, "case": 1, "rename": 1}


def test_resolution_steps_are_validated():
    with pytest.raises(ValueError, match="unknown steps"):
        LineageSettings(resolve_parents=("rename", "fuzzy"))


def test_family_tree_drawing_follows_the_variant_it_names(tmp_path):
    from hubanatomy.lineage.plots import plot_family_tree
    lin = build_lineage(_models(["r", "a", "b", "c"]),
                        _parents([("a", "r", "finetune"), ("b", "r", "quantized"),
                                  ("c", "a", "adapter")]), LineageSettings())
    manifest = {"source": {"kind": "simulated"}}
    every = plot_family_tree(lin.nodes, lin.edges, "r", manifest, tmp_path / "all.png", None,
                             300, "all")
    assert every["descendants"] == 3
    finetunes = plot_family_tree(lin.nodes, lin.edges, "r", manifest, tmp_path / "ft.png", None,
                                 300, "finetune", relations=("finetune",))
    assert finetunes["descendants"] == 1
    assert (tmp_path / "ft.png").stat().st_size > 0
