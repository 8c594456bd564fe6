"""The registry of the workflow's outputs (workflow/outputs.tsv): every figure and table once,
with the rule that writes it, the library functions behind it (the one that computes its data,
then the one that draws it; dotted paths under hubanatomy), the paper's figure or table it
rebuilds, its stage, its report caption, a condition (a config switch it needs) and what it
shows. The Snakefile takes its targets from here, the README's table of
outputs is rendered from here (tests check that it is in step), and so are the tests' lists
of what a run must produce."""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

from hubanatomy.errors import InputError

COLUMNS = ("target", "rule", "functions", "paper", "stage", "caption", "condition", "what")
STAGES = ("summary", "lineage", "drift", "orderings", "licenses", "similarity", "replication")
# the report's section of each stage
REPORT_CATEGORIES = {"summary": "Summary", "lineage": "Lineage", "drift": "Traits and drift",
                     "orderings": "Orderings and licenses", "licenses": "Orderings and licenses",
                     "similarity": "Similarity", "replication": "Replication"}
README_BEGIN = "<!-- outputs: rendered from workflow/outputs.tsv; do not edit by hand -->"
README_END = "<!-- end of outputs -->"
_WILDCARD = re.compile(r"\{(\w+)\}")


def read_outputs(path: str | Path) -> list[dict]:
    """The registry's rows, checked: the right columns, each target once, known stages."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise InputError(f"{path}: columns {reader.fieldnames} are not {list(COLUMNS)}")
        rows = list(reader)
    seen = set()
    for line, row in enumerate(rows, start=2):
        if row["target"] in seen:
            raise InputError(f"{path} line {line}: {row['target']} is listed twice")
        seen.add(row["target"])
        if row["stage"] not in STAGES:
            raise InputError(f"{path} line {line}: stage {row['stage']!r} is not one of "
                             f"{', '.join(STAGES)}")
        if not row["rule"] or not row["functions"] or not row["what"]:
            raise InputError(f"{path} line {line}: every output needs its rule, its "
                             "functions and a 'what'")
    return rows


def wildcards(target: str) -> list[str]:
    return _WILDCARD.findall(target)


def expand_target(target: str, values: dict[str, list]) -> list[str]:
    """The files a target pattern stands for, each wildcard taking its configured values."""
    names = wildcards(target)
    missing = [n for n in names if n not in values]
    if missing:
        raise InputError(f"{target}: no values for {', '.join(missing)}")
    return [target.format(**dict(zip(names, combo, strict=True)))
            for combo in itertools.product(*(values[n] for n in names))]


def wildcard_values(config: dict) -> dict[str, list]:
    """The values each wildcard of the registry takes under a workflow config."""
    from hubanatomy.drift.labels import SET_TRAITS
    from hubanatomy.similarity.score import MEASURES, TEXTS

    return {"rank": list(config["lineage"]["tree_ranks"]), "trait": list(SET_TRAITS),
            "text": list(TEXTS), "measure": list(MEASURES)}


def targets(rows: list[dict], values: dict[str, list], conditions: dict[str, bool]) -> list[str]:
    """Every file the registry asks for under this configuration (rows whose condition is off
    are left out)."""
    out = []
    for row in rows:
        if row["condition"] and not conditions[row["condition"]]:
            continue
        out += expand_target(row["target"], values)
    return out


def by_name(paths: list[str], folder: str, suffix: str) -> dict[str, str]:
    """name -> path of the targets in a folder with a suffix (figures: .png, tables: .csv)."""
    return {Path(p).stem: p for p in paths
            if p.startswith(folder) and p.endswith(suffix)}


def readme_table(rows: list[dict]) -> str:
    """The README's table of outputs, between its markers."""
    lines = [README_BEGIN, "| target | rule | paper | what |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| `{row['target']}` | `{row['rule']}` | {row['paper']} | {row['what']} |")
    return "\n".join([*lines, README_END])


def readme_with_table(readme: str, rows: list[dict]) -> str:
    """The README text with its table of outputs replaced by the registry's."""
    start, end = readme.find(README_BEGIN), readme.find(README_END)
    if start < 0 or end < start:
        raise InputError(f"README: the markers {README_BEGIN!r} and {README_END!r} are missing")
    return readme[:start] + readme_table(rows) + readme[end + len(README_END):]


def main() -> None:
    """`python -m hubanatomy.outputs`: render the README's table from the registry."""
    root = Path.cwd()
    readme = root / "README.md"
    rows = read_outputs(root / "workflow" / "outputs.tsv")
    readme.write_text(readme_with_table(readme.read_text(), rows))
    print(f"{readme}: table of {len(rows)} outputs rendered from workflow/outputs.tsv")


if __name__ == "__main__":
    main()
