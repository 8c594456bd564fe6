"""Parent -> child edges of a graph variant with both ends' traits: what every drift measure
reads. Edges to virtual parents are left out (a virtual parent has no traits); each edge
carries its primary relation and the child's family in that variant, the unit of resampling."""

from __future__ import annotations

import numpy as np
import polars as pl

ALL = "all"


def drift_edges(edges: pl.DataFrame, nodes: pl.DataFrame, traits: pl.DataFrame, variant: str,
                relations: list[str]) -> pl.DataFrame:
    """Edges of a variant with parent (p_*) and child (c_*) traits and the child's family."""
    family = nodes.select(pl.col("node").alias("child_node"),
                          pl.col(f"family_{variant}").alias("family"))
    e = (edges.filter(~pl.col("parent_virtual") & pl.col("primary_relation").is_in(relations))
         .select("parent_id", "child_id", "child_node",
                 pl.col("primary_relation").alias("relation"))
         .join(family, on="child_node", maintain_order="left"))
    p = traits.rename(lambda c: c if c == "model_id" else f"p_{c}")
    c = traits.rename(lambda c: c if c == "model_id" else f"c_{c}")
    return (e.join(p, left_on="parent_id", right_on="model_id", maintain_order="left")
            .join(c, left_on="child_id", right_on="model_id", maintain_order="left")
            .sort(["child_id", "parent_id"]))


def all_drift_edges(edges: pl.DataFrame, nodes: pl.DataFrame, traits: pl.DataFrame,
                    variants: dict[str, list[str]]) -> pl.DataFrame:
    """drift_edges of every variant, stacked with a `variant` column."""
    return pl.concat([drift_edges(edges, nodes, traits, v, relations)
                      .select(pl.lit(v).alias("variant"), pl.all())
                      for v, relations in variants.items()])


def split_variants(stacked: pl.DataFrame, variants: list[str]) -> dict[str, pl.DataFrame]:
    """The edges of each configured variant, an empty frame for a variant without edges."""
    return {v: stacked.filter(pl.col("variant") == v).drop("variant") for v in variants}


def relation_groups(frame: pl.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(relation label, edge mask): all edges, then each relation present (none when there is
    just one: its rows would repeat the first)."""
    relation = frame["relation"].to_numpy()
    present = sorted(set(relation.tolist()))
    out = [(ALL, np.ones(frame.height, dtype=bool))]
    if len(present) > 1:
        out += [(r, relation == r) for r in present]
    return out
