"""Ragged integer arrays: one variable-length list of ids per row, stored as offsets + values.

The simulator keeps every list-valued trait (languages, datasets, card paragraphs, parents) in
this form so inheritance along millions of edges stays a handful of numpy calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Ragged:
    offsets: np.ndarray  # int64, len = rows + 1, offsets[0] == 0
    values: np.ndarray  # int64

    @staticmethod
    def empty(rows: int) -> Ragged:
        return Ragged(np.zeros(rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @staticmethod
    def from_lengths(lengths: np.ndarray, values: np.ndarray) -> Ragged:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return Ragged(offsets, np.asarray(values, dtype=np.int64))

    @staticmethod
    def from_pairs(rows: int, owner: np.ndarray, values: np.ndarray) -> Ragged:
        """Build from (row, value) pairs; values keep their order within each row."""
        order = np.argsort(owner, kind="stable")
        lengths = np.bincount(owner, minlength=rows)
        return Ragged.from_lengths(lengths, np.asarray(values)[order])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def owners(self) -> np.ndarray:
        """Row index of every value."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def take(self, rows: np.ndarray) -> Ragged:
        """The lists of `rows`, in that order (rows may repeat)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        out_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_offsets[1:])
        # position of each output value inside its source list, then its global index
        within = np.arange(out_offsets[-1], dtype=np.int64) - np.repeat(out_offsets[:-1], lengths)
        source = np.repeat(self.offsets[:-1][rows], lengths) + within
        return Ragged(out_offsets, self.values[source])

    def filter(self, keep: np.ndarray) -> Ragged:
        """Drop the values where `keep` (aligned with `values`) is False."""
        lengths = np.bincount(self.owners()[keep], minlength=len(self))
        return Ragged.from_lengths(lengths, self.values[keep])

    def append(self, owner: np.ndarray, values: np.ndarray) -> Ragged:
        """Add values to the end of the given rows."""
        all_owner = np.concatenate([self.owners(), np.asarray(owner, dtype=np.int64)])
        all_values = np.concatenate([self.values, np.asarray(values, dtype=np.int64)])
        return Ragged.from_pairs(len(self), all_owner, all_values)

    def dedupe(self) -> Ragged:
        """Remove repeated values within each row, keeping the first occurrence."""
        owner = self.owners()
        if len(owner) == 0:
            return self
        key = owner * (int(self.values.max()) + 1) + self.values
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(key), dtype=bool)
        keep[first] = True
        return self.filter(keep)

    def concat_rows(self, other: Ragged) -> Ragged:
        """Stack the rows of `other` after the rows of self."""
        return Ragged(
            np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]),
            np.concatenate([self.values, other.values]),
        )

    def slice_rows(self, start: int, stop: int) -> Ragged:
        offsets = self.offsets[start : stop + 1]
        return Ragged(offsets - offsets[0], self.values[offsets[0] : offsets[-1]])

    def to_arrow(self, vocabulary: pa.Array) -> pa.ListArray:
        """A list<string> array whose items are vocabulary[value]."""
        items = vocabulary.take(pa.array(self.values))
        return pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32)), items)
