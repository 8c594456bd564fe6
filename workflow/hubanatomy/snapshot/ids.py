"""Model ids -> integer positions, vectorised: the index every graph and join builds on.

Ids are hashed to 64 bits (polars' hash), sorted once, and looked up with a binary search;
a hit is confirmed by comparing the strings, so the answer is exact even if two ids collide.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_SEED = 0x6875_6261  # any fixed value: positions must not depend on the process


class IdIndex:
    def __init__(self, ids: pl.Series):
        self.ids = ids.cast(pl.String).rename("id")
        hashes = self.ids.hash(seed=_SEED).to_numpy()
        self._order = np.argsort(hashes, kind="stable")
        self._sorted = hashes[self._order]

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, query: pl.Series) -> np.ndarray:
        """Position of each queried id in the index (int64), -1 where it is absent or null."""
        query = query.cast(pl.String)
        hashes = query.hash(seed=_SEED).to_numpy()
        slot = np.minimum(np.searchsorted(self._sorted, hashes), len(self._sorted) - 1)
        if len(self._sorted) == 0:
            return np.full(len(query), -1, dtype=np.int64)
        candidate = self._order[slot]
        hit = self._sorted[slot] == hashes
        # confirm by string equality (also rejects nulls); colliding hashes fall back to a scan
        same = (self.ids.gather(candidate) == query).fill_null(False).to_numpy()
        out = np.where(hit & same, candidate, -1).astype(np.int64)
        unsure = np.flatnonzero(hit & ~same & query.is_not_null().to_numpy())
        for i in unsure:  # only on a genuine 64-bit hash collision
            lo = np.searchsorted(self._sorted, hashes[i], side="left")
            hi = np.searchsorted(self._sorted, hashes[i], side="right")
            for j in self._order[lo:hi]:
                if self.ids[int(j)] == query[int(i)]:
                    out[i] = j
        return out

    def contains(self, query: pl.Series) -> np.ndarray:
        return self.positions(query) >= 0
