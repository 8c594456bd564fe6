"""Family structure of the simulated Hub: who descends from whom, by which relation, and when.

Nodes are numbered generation by generation (roots first), so every parent has a smaller index
than its children and traits can be inherited one generation block at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubanatomy.simulator.calibration import RELATIONS, Calibration
from hubanatomy.simulator.ragged import Ragged

MERGE = RELATIONS.index("merge")


@dataclass
class Lineage:
    kind: np.ndarray  # int8, index into Calibration.kinds
    generation: np.ndarray  # int8, 0 for roots
    relation: np.ndarray  # int8, index into RELATIONS, -1 for roots
    parents: Ragged  # node -> parent nodes, primary parent first
    family: np.ndarray  # int64, index of the root of the primary-parent chain
    popular: np.ndarray  # bool, node was eligible to receive children
    created_days: np.ndarray  # float64, days after the calibration's first_date
    generation_starts: list[int]  # first node index of each generation, plus n at the end

    @property
    def n(self) -> int:
        return len(self.kind)

    def primary_parent(self) -> np.ndarray:
        """First parent of every node, -1 for roots."""
        out = np.full(self.n, -1, dtype=np.int64)
        has = self.parents.lengths > 0
        out[has] = self.parents.values[self.parents.offsets[:-1][has]]
        return out


def _zipf_p(n: int, exponent: float, offset: float) -> np.ndarray:
    w = (np.arange(1, n + 1, dtype=float) + offset) ** -exponent
    return w / w.sum()


def _generation_sizes(children: int, shares: list[float]) -> list[int]:
    shares_arr = np.asarray(shares, dtype=float) / sum(shares)
    sizes = np.floor(children * shares_arr).astype(int)
    sizes[0] += children - sizes.sum()
    return [int(s) for s in sizes]


def build_lineage(n_models: int, cal: Calibration, rng: np.random.Generator) -> Lineage:
    raw = cal.raw
    n_children = int(round(n_models * raw["child_fraction"]))
    n_roots = n_models - n_children
    sizes = _generation_sizes(n_children, raw["generation_shares"])
    exponent, offset = raw["zipf_exponent"], raw["zipf_offset"]
    can_parent = np.array([raw["child_can_parent"][r] for r in RELATIONS])

    kind = [rng.choice(len(cal.kinds), size=n_roots, p=cal.root_kind_p).astype(np.int8)]
    relation = [np.full(n_roots, -1, dtype=np.int8)]
    popular_roots = rng.random(n_roots) < raw["eligible_parent_share"]["root"]
    popular = [popular_roots]
    owners: list[np.ndarray] = []
    parent_values: list[np.ndarray] = []
    family = [np.arange(n_roots, dtype=np.int64)]
    starts = [0, n_roots]

    prev_start, prev_stop = 0, n_roots
    for gen, size in enumerate(sizes, start=1):
        if size == 0:
            break
        start = starts[-1]
        cand = np.arange(prev_start, prev_stop)
        eligible = cand[np.concatenate(popular)[prev_start:prev_stop]]
        all_kind = np.concatenate(kind)
        if len(eligible) == 0:
            break
        # popularity rank is the (random) order of eligible nodes; Zipf weights over it
        eligible = rng.permutation(eligible)
        if gen == 1:
            # the mix of kinds among first-generation children is calibrated directly
            child_kind = rng.choice(len(cal.kinds), size=size, p=cal.child_kind_p)
            first_parent = np.empty(size, dtype=np.int64)
            for k in range(len(cal.kinds)):
                slots = np.flatnonzero(child_kind == k)
                pool = eligible[all_kind[eligible] == k]
                if len(slots) == 0:
                    continue
                if len(pool) == 0:
                    pool = eligible
                first_parent[slots] = pool[rng.choice(len(pool), size=len(slots),
                                                      p=_zipf_p(len(pool), exponent, offset))]
        else:
            first_parent = eligible[rng.choice(len(eligible), size=size,
                                               p=_zipf_p(len(eligible), exponent, offset))]
        child_kind = all_kind[first_parent]
        child_rel = np.empty(size, dtype=np.int8)
        for k in range(len(cal.kinds)):
            slots = np.flatnonzero(child_kind == k)
            child_rel[slots] = rng.choice(len(RELATIONS), size=len(slots), p=cal.relation_p(k))

        child_family = np.concatenate(family)[first_parent]
        extra_owner, extra_parent = _merge_coparents(
            rng, raw, np.flatnonzero(child_rel == MERGE), first_parent, cand, eligible,
            np.concatenate(family), all_kind,
        )
        nodes = np.arange(start, start + size, dtype=np.int64)
        owners += [nodes, nodes[extra_owner]]
        parent_values += [first_parent, extra_parent]

        kind.append(child_kind.astype(np.int8))
        relation.append(child_rel)
        family.append(child_family)
        popular.append(rng.random(size) < can_parent[child_rel])
        starts.append(start + size)
        prev_start, prev_stop = start, start + size

    n = starts[-1]
    parents = Ragged.from_pairs(
        n,
        np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64),
        np.concatenate(parent_values) if parent_values else np.zeros(0, dtype=np.int64),
    ).dedupe()
    generation = np.zeros(n, dtype=np.int8)
    for g in range(1, len(starts) - 1):
        generation[starts[g] : starts[g + 1]] = g
    lineage = Lineage(
        kind=np.concatenate(kind),
        generation=generation,
        relation=np.concatenate(relation),
        parents=parents,
        family=np.concatenate(family),
        popular=np.concatenate(popular),
        created_days=np.zeros(n),
        generation_starts=starts,
    )
    lineage.created_days = _creation_days(lineage, cal, rng)
    return lineage


def _pick_in_group(rng, members, member_group, query_group) -> np.ndarray:
    """For each query, a random member with the same group value (-1 if the group is empty)."""
    order = np.argsort(member_group, kind="stable")
    sorted_members, sorted_groups = members[order], member_group[order]
    lo = np.searchsorted(sorted_groups, query_group, side="left")
    hi = np.searchsorted(sorted_groups, query_group, side="right")
    offset = (rng.random(len(query_group)) * (hi - lo)).astype(np.int64)
    pick = sorted_members[np.minimum(lo + offset, len(members) - 1)]
    return np.where(hi > lo, pick, -1)


def _merge_coparents(rng, raw, merges, first_parent, cand, eligible, family, kind):
    """Extra parents of merge children: mostly from the first parent's family (same generation),
    otherwise any eligible node of the same kind.

    Returns (index into the generation's children, parent node) pairs.
    """
    if len(merges) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    counts_spec = raw["merge_extra_parents"]
    extra_counts = rng.choice(
        np.array(list(counts_spec), dtype=np.int64), size=len(merges),
        p=np.asarray(list(counts_spec.values()), dtype=float) / sum(counts_spec.values()),
    )
    child = np.repeat(merges, extra_counts)
    primary = first_parent[child]
    pick = _pick_in_group(rng, cand, family[cand], family[primary])
    cross = (rng.random(len(child)) < raw["merge_cross_family"]) | (pick == primary) | (pick < 0)
    pick[cross] = _pick_in_group(rng, eligible, kind[eligible], kind[primary[cross]])
    keep = (pick >= 0) & (pick != primary)
    return child[keep], pick[keep]


def _creation_days(lin: Lineage, cal: Calibration, rng: np.random.Generator) -> np.ndarray:
    """Creation dates with exponential growth of the Hub; children always after their parents."""
    raw = cal.raw
    span = float(
        (np.datetime64(raw["snapshot_date"]) - np.datetime64(raw["first_date"])).astype(int)
    )
    rate = np.log(2) / raw["growth_doubling_days"]
    total = np.expm1(rate * span)

    def cdf(days):
        return np.expm1(rate * days) / total

    def inverse_cdf(u):
        return np.log1p(u * total) / rate

    days = np.zeros(lin.n)
    starts = lin.generation_starts
    days[: starts[1]] = inverse_cdf(rng.random(starts[1]))
    for g in range(1, len(starts) - 1):
        rows = np.arange(starts[g], starts[g + 1])
        sub = lin.parents.take(rows)
        latest_parent = np.zeros(len(rows))
        np.maximum.at(latest_parent, sub.owners(), days[sub.values])
        floor = cdf(latest_parent)
        # spread children over the rest of the Hub's history after their parents, front-loaded
        u = floor + (1 - floor) * rng.random(len(rows)) ** 2
        days[rows] = np.maximum(inverse_cdf(u), latest_parent + 0.01)
    return np.minimum(days, span)
