"""Tables of the family trees (docs/method.md#lineage), computed from results/lineage/."""

from __future__ import annotations

import polars as pl

from hubanatomy.lineage.build import ALL_RELATIONS


def edges_by_relation(edges: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """Per primary relation: edges, edges declaring it at all, edges to virtual parents,
    edges whose child has children of its own; and a total row."""
    has_children = nodes.filter(pl.col("children") > 0)["node"].implode()
    e = edges.with_columns(child_has_children=pl.col("child_node").is_in(has_children))
    rows = []
    for relation in ALL_RELATIONS:
        primary = e.filter(pl.col("primary_relation") == relation)
        rows.append({
            "relation": relation,
            "edges": primary.height,
            "edges_declaring": int(e["relations"].list.contains(relation).sum()),
            "edges_to_virtual_parents": int(primary["parent_virtual"].sum()),
            "edges_child_has_children": int(primary["child_has_children"].sum()),
        })
    rows.append({"relation": "total", "edges": e.height, "edges_declaring": e.height,
                 "edges_to_virtual_parents": int(e["parent_virtual"].sum()),
                 "edges_child_has_children": int(e["child_has_children"].sum())})
    return pl.DataFrame(rows)


def top_parents(nodes: pl.DataFrame, n: int) -> pl.DataFrame:
    """Models with most direct children (any relation), with the split by relation."""
    per_relation = [c for c in nodes.columns if c.startswith("children_")]
    return (nodes.filter(pl.col("children") > 0)
            .sort(["children", "model_id"], descending=[True, False]).head(n)
            .select(pl.int_range(1, pl.len() + 1).alias("rank"), "model_id", "virtual",
                    "children", *per_relation))


def families(nodes: pl.DataFrame, variant: str) -> pl.DataFrame:
    """One row per family of a graph variant, largest first."""
    return (nodes.group_by(f"family_{variant}")
            .agg(family_root=pl.col(f"family_root_{variant}").first(),
                 size=pl.len(),
                 roots=pl.col(f"is_root_{variant}").sum(),
                 virtual_nodes=pl.col("virtual").sum(),
                 max_generation=pl.col(f"generation_{variant}").max(),
                 first_created=pl.col("created_at").min())
            .sort(["size", "family_root"], descending=[True, False])
            .select(pl.int_range(1, pl.len() + 1).alias("rank"), pl.lit(variant).alias("variant"),
                    pl.col(f"family_{variant}").alias("family"), "family_root", "size", "roots",
                    "virtual_nodes", "max_generation", "first_created"))


def family_size_distribution(nodes: pl.DataFrame, variants: list[str]) -> pl.DataFrame:
    """Per variant and family size: number of families and the CCDF P(size >= s)."""
    frames = []
    for variant in variants:
        sizes = nodes.group_by(f"family_{variant}").len()["len"]
        counts = sizes.value_counts().sort("len", descending=True).rename(
            {"len": "size", "count": "families"})
        frames.append(counts.with_columns(
            ccdf=pl.col("families").cum_sum() / sizes.len()).sort("size")
            .select(pl.lit(variant).alias("variant"), pl.col("size").cast(pl.Int64),
                    pl.col("families").cast(pl.Int64), "ccdf"))
    return pl.concat(frames)


def generation_distribution(nodes: pl.DataFrame, variants: list[str]) -> pl.DataFrame:
    """Per variant and generation: number of models (virtual parents excluded)."""
    models = nodes.filter(~pl.col("virtual"))
    return pl.concat([
        models.group_by(f"generation_{variant}").len().sort(f"generation_{variant}")
        .select(pl.lit(variant).alias("variant"),
                pl.col(f"generation_{variant}").cast(pl.Int64).alias("generation"),
                pl.col("len").cast(pl.Int64).alias("models"))
        for variant in variants])


def largest_families_over_time(nodes: pl.DataFrame, variant: str, n: int) -> pl.DataFrame:
    """Cumulative size by createdAt month of the n largest families of a variant."""
    top = families(nodes, variant).head(n)
    members = nodes.filter(pl.col(f"family_{variant}").is_in(top["family"].implode())
                           & pl.col("created_at").is_not_null())
    monthly = (members.group_by(pl.col(f"family_{variant}").alias("family"),
                                pl.col("created_at").dt.truncate("1mo").dt.date().alias("month"))
               .len("models").sort(["family", "month"]))
    return (monthly.join(top.select("family", "rank", "family_root"), on="family")
            .sort(["rank", "month"])
            .with_columns(cumulative=pl.col("models").cum_sum().over("family"))
            .select("rank", "family_root", "month", pl.col("models").cast(pl.Int64),
                    pl.col("cumulative").cast(pl.Int64)))


def find_model(nodes: pl.DataFrame, name: str) -> str | None:
    """The model id a paper name refers to: the exact id, else the id whose name part (after
    '/') equals it, the one with most children if several."""
    exact = nodes.filter(pl.col("model_id") == name)
    if exact.height:
        return name
    if "/" in name:
        return None
    hits = nodes.filter(pl.col("model_id").str.ends_with("/" + name)).sort(
        ["children", "model_id"], descending=[True, False])
    return hits["model_id"][0] if hits.height else None


def tree_start(nodes: pl.DataFrame, variant: str, rank: int,
               named_model: str | None = None) -> tuple[str, str]:
    """(model to draw the descendants of, title): the named model if the data has it, else the
    named root of the rank-th largest family of the variant."""
    if named_model:
        found = find_model(nodes, named_model)
        if found is not None:
            return found, f"The family of {found} ({variant} graph)"
    table = families(nodes, variant)
    if table.height == 0:
        raise ValueError("no families to draw: the snapshot has no models")
    row = table.row(min(rank, table.height) - 1, named=True)
    title = f"Family {row['rank']} by size ({variant} graph): {row['family_root']}"
    if named_model:
        title += f" ({named_model} is not in this snapshot)"
    return row["family_root"], title
