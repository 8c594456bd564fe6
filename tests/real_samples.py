"""The real Hub samples of ../shared/data/real, each assembled into a raw directory (list-API
JSON lines, and card records where the sample has cards) that the snapshot source reads.

The samples come in three shapes: full huggingface_hub ModelInfo records (mistral-small), a
node/edge graph cut from the paper's own lineage graph (smollm2), and an edge list with a
metadata table (textgen-lineage). Graph samples become list-API objects whose tags declare
each parent the way the Hub writes them: `base_model:<parent>` and, when the relation is known,
`base_model:<relation>:<parent>`. Nothing is made up: a field the sample lacks stays absent.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

csv.field_size_limit(1 << 30)

# the textgen sample's edge labels -> the Hub's relation names
TEXTGEN_RELATIONS = {"finetuned": "finetune", "quantized": "quantized", "merged": "merge",
                     "adapter": "adapter"}


def _write_jsonl(path: Path, records) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
            n += 1
    return n


def _parent_tags(parents: list[tuple[str, str | None]], typed: bool = True) -> list[str]:
    tags = []
    for parent, relation in parents:
        tags.append(f"base_model:{parent}")
        if typed and relation:
            tags.append(f"base_model:{relation}:{parent}")
    return list(dict.fromkeys(tags))


def mistral_records(real: Path) -> list[dict]:
    """The 67 ModelInfo records of the mistral-small family (BFS from its base model)."""
    with open(real / "mistral-small-family" / "models.csv", newline="") as handle:
        return [json.loads(row["metadata"]) for row in csv.DictReader(handle)]


def graph_records(real: Path, typed: bool = True) -> list[dict]:
    """The smollm2 family (1,042 nodes, 1,041 typed edges) as list-API objects; typed=False
    keeps only the generic `base_model:` tags (every relation unspecified)."""
    graph = json.loads((real / "smollm2-family" / "graph.json").read_text())
    parents = defaultdict(list)
    for edge in graph["edges"]:
        parents[edge["target"]].append((edge["source"], edge["type"]))
    records = []
    for node in graph["nodes"]:
        record = {"id": node["id"], "likes": node["likes"], "downloads": node["downloads"],
                  "createdAt": node["createdAt"], "pipeline_tag": node["pipeline_tag"],
                  "library_name": node["library_name"],
                  "tags": _parent_tags(parents[node["id"]], typed)}
        records.append(record)
    return records


def textgen_records(real: Path) -> list[dict]:
    """The 29,973 text-generation models of the textgen-lineage sample (metadata rows and
    every edge end) with their typed parent tags."""
    folder = real / "textgen-lineage"
    parents = defaultdict(list)
    with open(folder / "edges.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            parents[row["target"]].append((row["source"], TEXTGEN_RELATIONS[row["edge"]]))
    owners = {}
    with open(folder / "metadata.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            owners[row["id"]] = row["owner"]
    ids = list(dict.fromkeys([*owners, *(p for ps in parents.values() for p, _ in ps),
                              *parents]))
    records = []
    for model_id in ids:
        record = {"id": model_id, "pipeline_tag": "text-generation",
                  "tags": _parent_tags(parents[model_id])}
        if model_id in owners:
            record["author"] = owners[model_id]
        records.append(record)
    return records


def raw_cards(real: Path, ids) -> list[dict]:
    """Card records for the models among `ids` whose raw README.md is in model-cards/."""
    wanted = set(ids)
    cards = []
    for path in sorted((real / "model-cards").glob("*.md")):
        model_id = path.stem.replace("@", "/", 1)
        if model_id in wanted:
            cards.append({"id": model_id, "status": "ok",
                          "card": path.read_text(encoding="utf-8")})
    return cards


def write_raw(out: Path, records: list[dict], cards: list[dict] | None = None) -> Path:
    """A raw directory: models.jsonl, and cards.jsonl when cards are given."""
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "models.jsonl", records)
    if cards is not None:
        _write_jsonl(out / "cards.jsonl", cards)
    return out


def without_parents(records: list[dict]) -> list[dict]:
    """The same models with every base_model tag removed: a snapshot without a single edge."""
    return [{**r, "tags": [t for t in r.get("tags") or [] if not t.startswith("base_model:")]}
            for r in records]


SAMPLES = {
    "mistral_small": lambda real: (mistral_records(real), None),
    "ten_models": lambda real: (mistral_records(real)[:10], None),
    "no_edges": lambda real: (without_parents(mistral_records(real)), None),
    "smollm2": lambda real: (graph_records(real), None),
    "smollm2_generic": lambda real: (graph_records(real, typed=False), None),
    "textgen": lambda real: (records := textgen_records(real),
                             raw_cards(real, (r["id"] for r in records))),
}


def write_sample(real: Path, name: str, out: Path) -> Path:
    records, cards = SAMPLES[name](real)
    return write_raw(out, records, cards)
