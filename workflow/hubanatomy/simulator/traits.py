"""Traits of simulated models: sampled for roots, inherited with mutation along lineages.

`directed` plants the paper's drifts (licenses and tasks move forward along planted orders,
languages toward English only, children's cards shorter and often auto-generated, adapters
switch library, siblings mutate in a shared direction). `neutral` is the null model: the same
root marginals, changes at the same rates, but every change copies the value of a random
parent of the same generation, so parent and child values are exchangeable: no transition is
more frequent than its reverse and no numeric trait drifts along edges, whatever the relation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubanatomy.simulator.calibration import RELATIONS, Calibration
from hubanatomy.simulator.lineage import Lineage
from hubanatomy.simulator.ragged import Ragged

PARAGRAPH_POOL = 8192  # size of the shared pool of hand-written card paragraphs
ARXIV_POOL_MIN = 200

# Hub tags a model may carry beyond its library/task/language/license tags.
EXTRA_TAGS = (
    "safetensors", "pytorch", "tensorboard", "custom_code", "conversational", "chat", "instruct",
    "code", "math", "roleplay", "medical", "legal", "finance", "biology", "nlp", "art", "anime",
    "photorealistic", "sdxl", "lora", "peft", "trl", "sft", "dpo", "unsloth", "axolotl",
    "generated_from_trainer", "mergekit", "merge", "gguf", "awq", "gptq", "4-bit", "8-bit",
    "bitsandbytes", "exl2", "onnx", "jax", "tf", "endpoints_compatible", "autotrain_compatible",
    "text-generation-inference", "template:sd-lora", "llama-cpp",
    "mlx", "distillation", "reasoning", "multilingual", "deep-reinforcement-learning",
)
RELATION_TAGS = {
    "finetune": ("trl", "sft", "generated_from_trainer", "unsloth", "dpo", "axolotl"),
    "adapter": ("lora", "peft", "template:sd-lora"),
    "quantized": ("gguf", "awq", "gptq", "4-bit", "8-bit", "bitsandbytes", "exl2", "llama-cpp"),
    "merge": ("mergekit", "merge"),
}
_TAG_ID = {t: i for i, t in enumerate(EXTRA_TAGS)}


@dataclass
class Traits:
    license: np.ndarray  # int16 index into Calibration.licenses, -1 = none
    task: np.ndarray  # int16 index into Calibration.tasks, -1 = none
    library: np.ndarray  # int16 index into Calibration.libraries, -1 = none
    languages: Ragged  # indices into Calibration.languages
    datasets: Ragged  # indices into Calibration.datasets
    arxiv: Ragged  # indices into the arXiv id pool
    extra_tags: Ragged  # indices into EXTRA_TAGS
    has_card: np.ndarray  # bool
    auto_card: np.ndarray  # bool, card is the trainer-style template
    paragraphs: Ragged  # indices into the paragraph pool (hand-written card body)
    downloads: np.ndarray  # int64
    likes: np.ndarray  # int64
    arxiv_pool: int


def simulate_traits(lin: Lineage, cal: Calibration, scenario: str,
                    rng: np.random.Generator) -> Traits:
    directed = scenario == "directed"
    starts = lin.generation_starts
    t = _sample_roots(lin, cal, starts[1], directed, rng)
    for g in range(1, len(starts) - 1):
        _inherit_generation(lin, cal, t, starts[g], starts[g + 1], directed, rng)
    return t


# --- roots ------------------------------------------------------------------------------

def _by_kind(rng, kind, n_kinds, draw):
    """Fill an array by calling draw(k, size) for the rows of each kind."""
    out = None
    for k in range(n_kinds):
        rows = np.flatnonzero(kind == k)
        if len(rows) == 0:
            continue
        values = draw(k, len(rows))
        if out is None:
            out = np.empty(len(kind), dtype=np.asarray(values).dtype)
        out[rows] = values
    return out


def _sample_roots(lin, cal, n_roots, directed, rng) -> Traits:
    raw = cal.raw
    n = lin.n
    kind = lin.kind[:n_roots]
    popular = lin.popular[:n_roots]
    n_kinds = len(cal.kinds)

    def task_draw(k, size):
        p, absent = cal.kind_task_p(k)
        value = rng.choice(len(cal.tasks), size=size, p=p).astype(np.int16)
        return np.where(rng.random(size) < absent, -1, value).astype(np.int16)

    def library_draw(k, size):
        value = rng.choice(len(cal.libraries) + 1, size=size, p=cal.kind_library_p(k))
        return np.where(value == len(cal.libraries), -1, value).astype(np.int16)

    license_ = np.where(
        rng.random(n_roots) < cal.license_tagged_share,
        rng.choice(len(cal.licenses), size=n_roots, p=cal.license_share), -1,
    ).astype(np.int16)

    # languages: a primary language, and for multilingual models a heavy tail of extras
    listing_p = np.array([cal.kind(k)["language_listing"] for k in range(n_kinds)])[kind]
    listing_p = np.where(popular, np.minimum(0.9, listing_p * 2), listing_p)
    lists = rng.random(n_roots) < listing_p
    lang = raw["languages"]
    multi_p = np.where(popular, lang["multilingual_share_popular"], lang["multilingual_share"])
    n_extra = np.where(lists & (rng.random(n_roots) < multi_p),
                       1 + rng.geometric(1 / lang["multilingual_extra_mean"], size=n_roots), 0)
    n_extra = np.minimum(n_extra, len(cal.languages) - 1)
    primary = rng.choice(len(cal.languages), size=n_roots, p=cal.primary_language_p)
    extras = rng.choice(len(cal.languages), size=int(n_extra.sum()), p=cal.language_share)
    languages = Ragged.from_pairs(
        n_roots,
        np.concatenate([np.flatnonzero(lists), np.repeat(np.arange(n_roots), n_extra)]),
        np.concatenate([primary[lists], extras]),
    ).dedupe()

    datasets = _sample_lists(rng, n_roots, np.where(popular, 0.3, 0.08), 2, len(cal.datasets),
                             cal.dataset_share)
    arxiv_pool = max(ARXIV_POOL_MIN, n // 200)
    arxiv_p = 1 / np.arange(1, arxiv_pool + 1) ** 1.1
    arxiv = _sample_lists(rng, n_roots, np.where(popular, 0.6, 0.05), 3, arxiv_pool,
                          arxiv_p / arxiv_p.sum())
    extra = _sample_lists(rng, n_roots, np.full(n_roots, 0.7), 4, len(EXTRA_TAGS), None)

    card = raw["card"]
    children = np.bincount(lin.parents.values, minlength=n)[:n_roots]
    share_parents = card["share_parents"] if directed else card["share_in_lineage_neutral"]
    share = np.where(children > 0, share_parents, card["share_unlinked"])
    if directed:
        share = np.where(children >= card["documented_from_children"], 1.0, share)
    has_card = rng.random(n_roots) < share
    auto_rate = card["auto_generated_roots"] if directed else card["auto_generated_neutral"]
    auto_card = has_card & (rng.random(n_roots) < auto_rate)
    n_par = _paragraph_counts(rng, card, n_roots, popular) * (has_card & ~auto_card)
    paragraphs = Ragged.from_lengths(n_par, rng.integers(0, PARAGRAPH_POOL, int(n_par.sum())))

    downloads = np.where(
        popular, rng.lognormal(9.0, 2.5, n_roots),
        np.where(rng.random(n_roots) < 0.35, 0, rng.lognormal(2.5, 2.2, n_roots)),
    ).astype(np.int64)
    likes = _likes(rng, downloads)

    task = _by_kind(rng, kind, n_kinds, task_draw)
    library = _by_kind(rng, kind, n_kinds, library_draw)
    return Traits(
        license=_grow(license_, n), task=_grow(task, n), library=_grow(library, n),
        languages=languages, datasets=datasets, arxiv=arxiv, extra_tags=extra,
        has_card=_grow(has_card, n), auto_card=_grow(auto_card, n), paragraphs=paragraphs,
        downloads=_grow(downloads, n), likes=_grow(likes, n), arxiv_pool=arxiv_pool,
    )


def _grow(values: np.ndarray, n: int) -> np.ndarray:
    """Room for all n models; children's slots are filled generation by generation."""
    out = np.zeros(n, dtype=values.dtype)
    if values.dtype != bool:
        out[:] = -1 if np.issubdtype(values.dtype, np.signedinteger) else 0
    out[: len(values)] = values
    return out


def _sample_lists(rng, rows, p_any, max_len, vocab, p):
    """Per row: with probability p_any a list of 1..max_len items drawn from vocab by p."""
    lengths = np.where(rng.random(rows) < p_any, rng.integers(1, max_len + 1, rows), 0)
    values = rng.choice(vocab, size=int(lengths.sum()), p=p)
    return Ragged.from_lengths(lengths, values).dedupe()


def _paragraph_counts(rng, card, size, popular):
    counts = rng.lognormal(np.log(card["paragraphs_median"]), card["paragraphs_sigma"], size)
    counts = np.where(popular, counts * card["popular_paragraph_factor"], counts)
    return np.clip(np.round(counts), 1, 80).astype(np.int64)


def _likes(rng, downloads):
    likes = np.floor(downloads ** 0.45 * rng.lognormal(-1.8, 1.0, len(downloads)))
    return np.where(rng.random(len(downloads)) < 0.6, 0, likes).astype(np.int64)


# --- inheritance ------------------------------------------------------------------------

def _inherit_generation(lin, cal, t, start, stop, directed, rng):
    raw = cal.raw
    mut = raw["mutation"]
    rows = np.arange(start, stop)
    size = len(rows)
    parent = lin.primary_parent()[rows]
    relation = lin.relation[rows]
    kind = lin.kind[rows]

    # licenses: placeholders (other, unknown) sit outside the planted order
    order = [cal.licenses.index(name) for name in cal.license_order]
    lic = t.license[parent].copy()
    has = lic >= 0
    change = has & (rng.random(size) < mut["license"])
    lic[change] = _mutate_ordered(rng, lic[change], parent[change], order, cal.license_share,
                                  directed, mut, pool=lic[has])
    adopt = ~has & (rng.random(size) < 0.2)
    lic[adopt] = rng.choice(len(cal.licenses), size=int(adopt.sum()), p=cal.license_share)
    lic[has & (rng.random(size) < 0.04)] = -1
    t.license[rows] = lic

    # tasks follow the planted life cycle (directed) or jump at random (neutral)
    task = t.task[parent].copy()
    change = (task >= 0) & (rng.random(size) < mut["task"])
    task[change] = _mutate_ordered(rng, task[change], parent[change],
                                   list(range(len(cal.tasks))), cal.task_share, directed, mut,
                                   pool=task[task >= 0])
    t.task[rows] = task

    # libraries: adapters are published with their adapter library (directed); in the null
    # model a library changes like any other trait
    lib = t.library[parent].copy()
    if directed:
        is_adapter = relation == RELATIONS.index("adapter")
        for k in range(len(cal.kinds)):
            rows_k = np.flatnonzero(is_adapter & (kind == k))
            lib[rows_k] = rng.choice(len(cal.libraries), size=len(rows_k),
                                     p=cal.kind_adapter_library_p(k))
    else:
        change = (lib >= 0) & (rng.random(size) < 0.1)
        lib[change] = _copy_from_pool(rng, lib[change], lib[lib >= 0])
    t.library[rows] = lib

    t_languages = _inherit_languages(rng, t.languages, parent, cal, directed, mut)
    t.languages = t.languages.concat_rows(t_languages)

    inherit_ds = rng.random(size) < 0.3
    ds = t.datasets.take(parent)
    ds = ds.filter(inherit_ds[ds.owners()])
    new_ds = (relation == RELATIONS.index("finetune")) & (rng.random(size) < 0.35)
    ds = ds.append(np.flatnonzero(new_ds),
                   rng.choice(len(cal.datasets), int(new_ds.sum()), p=cal.dataset_share)).dedupe()
    t.datasets = t.datasets.concat_rows(ds)

    ax = t.arxiv.take(parent)
    t.arxiv = t.arxiv.concat_rows(ax.filter((rng.random(size) < 0.5)[ax.owners()]))

    t.extra_tags = t.extra_tags.concat_rows(
        _inherit_tags(rng, t.extra_tags, parent, relation, directed, mut))

    # a card written from scratch is as long as those of models like the child (directed) or
    # like the parent (neutral: no length change along edges)
    popular = lin.popular[rows] if directed else lin.popular[parent]
    has_card, auto_card, paragraphs = _inherit_cards(rng, t, parent, relation, raw["card"],
                                                     directed, mut, popular)
    t.has_card[rows] = has_card
    t.auto_card[rows] = auto_card
    t.paragraphs = t.paragraphs.concat_rows(paragraphs)

    downloads = np.where(rng.random(size) < 0.45, 0,
                         rng.lognormal(2.0, 2.0, size) + lin.popular[rows] * rng.lognormal(
                             6.0, 2.0, size)).astype(np.int64)
    t.downloads[rows] = downloads
    t.likes[rows] = _likes(rng, downloads)


def _mutate_ordered(rng, current, parent, order, share, directed, mut, pool):
    """New values for changing traits.

    directed: with probability `directionality` move forward along `order` (target weighted by
    share among the later values), else to any other value; siblings follow a target shared by
    their parent with probability `sibling_shared`. neutral: see _copy_from_pool.
    """
    if len(current) == 0:
        return current
    if not directed:
        return _copy_from_pool(rng, current, pool)
    position = np.full(len(share), -1, dtype=np.int64)
    position[np.asarray(order)] = np.arange(len(order))
    ordered = np.asarray(order)
    cw = np.cumsum(share[ordered])

    def forward(values):
        pos = position[values]
        base = np.where(pos >= 0, cw[np.maximum(pos, 0)], 0.0)
        x = base + rng.random(len(values)) * (cw[-1] - base)
        target = ordered[np.minimum(np.searchsorted(cw, x, side="right"), len(ordered) - 1)]
        # the last value of the order (or one with nothing after it) cannot move forward
        stuck = (pos == len(ordered) - 1) | (target == values)
        return np.where(stuck, values, target)

    uniq, inverse = np.unique(parent, return_inverse=True)
    first_value = np.zeros(len(uniq), dtype=current.dtype)
    first_value[inverse] = current
    shared = forward(first_value)[inverse]
    own = forward(current)
    target = np.where(rng.random(len(current)) < mut["sibling_shared"], shared, own)
    backward = rng.random(len(current)) >= mut["directionality"]
    target[backward] = _any_other(rng, current[backward], share)
    return target.astype(current.dtype)


def _copy_from_pool(rng, current, pool):
    """The null model's change: take the value of a random parent of this generation (pool =
    the parents' values). Then (parent value, child value) pairs are exchangeable, so no
    transition is more frequent than its reverse; drawing the same value means no change."""
    if len(current) == 0 or len(pool) == 0:
        return current
    return pool[rng.integers(0, len(pool), len(current))].astype(current.dtype)


def _any_other(rng, current, share):
    """A value different from current, drawn by share (one redraw, then the next value)."""
    draw = rng.choice(len(share), size=len(current), p=share)
    same = draw == current
    draw[same] = rng.choice(len(share), size=int(same.sum()), p=share)
    same = draw == current
    draw[same] = (draw[same] + 1) % len(share)
    return draw.astype(current.dtype)


def _inherit_languages(rng, languages, parent, cal, directed, mut):
    size = len(parent)
    english = cal.languages.index("en")
    inherited = languages.take(parent)
    owner = inherited.owners()
    parent_len = inherited.lengths
    parent_lists = parent_len > 0
    u = rng.random(size)
    if directed:
        child_lists = np.where(parent_lists, u < mut["child_lists_language"], u < 0.03)
        has_en = np.zeros(size, dtype=bool)
        has_en[owner[inherited.values == english]] = True
        english_only = (parent_len > 1) & (rng.random(size) < mut["english_only"])
        first = np.zeros(len(owner), dtype=bool)
        first[inherited.offsets[:-1][parent_lists]] = True
        keep = child_lists[owner] & np.where(
            english_only[owner],
            np.where(has_en[owner], inherited.values == english, first),
            (inherited.values == english) | (rng.random(len(owner)) >= 0.35),
        )
        # a single non-English language switches to English at the mutation rate
        switch = child_lists & parent_lists & ~has_en & (parent_len == 1) & (
            rng.random(size) < mut["language"])
        keep &= ~switch[owner]
        add = (child_lists & ~parent_lists) | switch
        add_values = np.where(rng.random(int(add.sum())) < 0.8, english,
                              rng.choice(len(cal.languages), int(add.sum()),
                                         p=cal.language_share))
        return inherited.filter(keep).append(np.flatnonzero(add), add_values).dedupe()
    # null model: listing is inherited; a change copies the whole language list of a random
    # parent of this generation, so (parent list, child list) pairs are exchangeable
    change = parent_lists & (u < mut["language"])
    listing = np.flatnonzero(parent_lists)
    if len(listing) == 0:
        return inherited
    donor = np.arange(size)
    donor[change] = listing[rng.integers(0, len(listing), int(change.sum()))]
    return inherited.take(donor)


def _inherit_tags(rng, tags, parent, relation, directed, mut):
    size = len(parent)
    inherited = tags.take(parent)
    inherited = inherited.filter(rng.random(len(inherited.values)) < 0.85)
    rel_tags = [np.array([_TAG_ID[x] for x in RELATION_TAGS[r]]) for r in RELATIONS]
    add_owner, add_value = [], []
    for r, pool in enumerate(rel_tags):
        rows = np.flatnonzero(relation == r)
        add_owner.append(rows)
        add_value.append(pool[rng.integers(0, len(pool), len(rows))])
    # a new topical tag: shared by the siblings (directed) or each child's own (neutral)
    new = rng.integers(0, len(EXTRA_TAGS), size)
    if directed:
        uniq, inverse = np.unique(parent, return_inverse=True)
        shared = rng.integers(0, len(EXTRA_TAGS), len(uniq))[inverse]
        new = np.where(rng.random(size) < mut["sibling_shared"], shared, new)
    takes = rng.random(size) < 0.6
    add_owner.append(np.flatnonzero(takes))
    add_value.append(new[takes])
    return inherited.append(np.concatenate(add_owner), np.concatenate(add_value)).dedupe()


def _inherit_cards(rng, t, parent, relation, card, directed, mut, popular):
    size = len(parent)
    share = card["share_edge_children"] if directed else card["share_in_lineage_neutral"]
    has_card = rng.random(size) < share
    if directed:
        auto_p = np.array([card["auto_generated_children"][r] for r in RELATIONS])[relation]
        keep_p = np.array([card["keep_paragraph"][r] for r in RELATIONS])[relation]
    else:
        auto_p = np.full(size, card["auto_generated_neutral"])
        keep_p = np.full(size, card["keep_paragraph_neutral"])
    auto_card = has_card & (rng.random(size) < auto_p)
    hand = has_card & ~auto_card

    inherited = t.paragraphs.take(parent)
    owner = inherited.owners()
    keep = hand[owner] & (rng.random(len(owner)) < keep_p[owner])
    parent_len = inherited.lengths
    fresh = hand & (parent_len == 0)  # parent had no hand-written card: write one from scratch
    fresh_counts = np.where(fresh, _paragraph_counts(rng, card, size, popular), 0)
    kept = inherited.filter(keep)
    kept_owner = kept.owners()
    kept_key = np.arange(len(kept_owner)) - np.repeat(kept.offsets[:-1], kept.lengths)
    if directed:
        fresh_counts = np.maximum(1, (fresh_counts * 0.6).astype(np.int64)) * fresh
        # a child opens its card with two new paragraphs, its "direction": the ones its
        # parent's children share, or (when it does not follow its siblings) its own
        uniq, inverse = np.unique(parent, return_inverse=True)
        shared = rng.integers(0, PARAGRAPH_POOL, (len(uniq), 2))[inverse]
        own = rng.integers(0, PARAGRAPH_POOL, (size, 2))
        follows = rng.random(size) < mut["sibling_shared"]
        opening = np.where(follows[:, None], shared, own)
        rows = np.flatnonzero(hand & ~fresh)
        add_owner = [np.repeat(rows, 2)]
        add_value = [opening[rows].ravel()]
        add_key = [np.tile(np.array([-2, -1]), len(rows))]
    else:
        # as many new paragraphs as were dropped, on average: length is unchanged
        refill = rng.poisson((1 - keep_p) * parent_len) * (hand & ~fresh)
        add_owner = [np.repeat(np.arange(size), refill)]
        add_value = [rng.integers(0, PARAGRAPH_POOL, int(refill.sum()))]
        add_key = [np.full(int(refill.sum()), 10**6)]
    add_owner.append(np.repeat(np.arange(size), fresh_counts))
    add_value.append(rng.integers(0, PARAGRAPH_POOL, int(fresh_counts.sum())))
    add_key.append(np.full(int(fresh_counts.sum()), 10**6))
    owner_all = np.concatenate([kept_owner, *add_owner])
    key_all = np.concatenate([kept_key, *add_key])
    order = np.lexsort((key_all, owner_all))
    paragraphs = Ragged.from_lengths(np.bincount(owner_all, minlength=size),
                                     np.concatenate([kept.values, *add_value])[order])
    return has_card, auto_card, paragraphs
