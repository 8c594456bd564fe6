"""The registry of outputs (workflow/outputs.tsv): it is read strictly, the README's table is
rendered from it, every function it names exists and is called by a rule's script, and every
script reads only the inputs, outputs and params its rule declares."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from hubanatomy.errors import InputError
from hubanatomy.outputs import (
    COLUMNS,
    expand_target,
    read_outputs,
    readme_with_table,
    targets,
    wildcard_values,
)
from hubanatomy.resources import workflow_rules

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "workflow" / "outputs.tsv"


def _script(body: str) -> str | None:
    found = re.search(r'script:\n\s+"\.\./scripts/(\w+\.py)"', body)
    return (ROOT / "workflow" / "scripts" / found.group(1)).read_text() if found else None


def test_the_readme_table_is_the_registry_rendered():
    rows = read_outputs(REGISTRY)
    readme = (ROOT / "README.md").read_text()
    assert readme_with_table(readme, rows) == readme, \
        "README.md's table of outputs is out of step: run `python -m hubanatomy.outputs`"


def test_every_output_names_a_rule_that_writes_it_and_functions_that_exist():
    rules = workflow_rules()
    scripts = "\n".join(s for s in map(_script, rules.values()) if s)
    for row in read_outputs(REGISTRY):
        assert row["rule"] in rules, row
        # a search for the target lands on its rule (a rule writing a set of files by the
        # library's names spreads them; the Snakefile checks those at parse time)
        assert f'"{row["target"]}"' in rules[row["rule"]] or "**" in rules[row["rule"]], row
        for function in row["functions"].split():
            module, _, name = function.rpartition(".")
            assert callable(getattr(importlib.import_module(f"hubanatomy.{module}"), name))
            assert re.search(rf"\b{name}\b", scripts), f"{function}: no script calls it"
        if row["caption"]:
            assert (ROOT / "workflow" / "report" / row["caption"]).is_file(), row


def test_the_ci_preset_asks_for_every_registered_output():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    rows = read_outputs(REGISTRY)
    paths = targets(rows, wildcard_values(config), {"arxiv": False})
    assert "results/figures/family_tree_rank3.png" in paths
    assert "results/figures/similarity_cards_levenshtein.png" in paths
    assert "results/tables/arxiv_categories.csv" not in paths
    with_arxiv = targets(rows, wildcard_values(config), {"arxiv": True})
    assert set(with_arxiv) - set(paths) == {"results/tables/arxiv_categories.csv"}
    assert len(paths) == len(set(paths))


def test_scripts_read_only_what_their_rule_declares():
    """`snakemake.input.x` (or `i.x`) in a script must be declared by its rule: otherwise
    the declared inputs and the files read drift apart silently."""
    problems = []
    for rule, body in workflow_rules().items():
        script = _script(body)
        if script is None:
            continue
        for kind, short in (("input", "i"), ("output", "o")):
            block = re.search(rf"    {kind}:\n(.*?)(?=\n    \w+:|\Z)", body, re.S)
            text = block.group(1) if block else ""
            declared = set(re.findall(r"^\s{8}(\w+)=", text, re.M))
            if "**" in text:   # a spread dict: its keys are checked where it is defined
                continue
            used = set(re.findall(rf"\b(?:{short}|snakemake\.{kind})\.(\w+)\b", script))
            used -= {"get", "items", "keys"}
            if used - declared:
                problems.append(f"{rule}: {kind} {sorted(used - declared)} not declared")
    assert problems == []


def test_bad_registries_are_refused(tmp_path):
    header = "\t".join(COLUMNS)
    row = "results/tables/x.csv\tr\tsummary.tables.top_tens\t—\tsummary\t\t\twhat"
    path = tmp_path / "outputs.tsv"
    path.write_text(f"{header}\n{row}\n{row}\n")
    with pytest.raises(InputError, match="listed twice"):
        read_outputs(path)
    path.write_text(f"{header}\n{row.replace('summary', 'nowhere')}\n")
    with pytest.raises(InputError, match="stage"):
        read_outputs(path)
    path.write_text("target\trule\n")
    with pytest.raises(InputError, match="columns"):
        read_outputs(path)


def test_wildcards_expand_to_every_combination():
    assert expand_target("f_{text}_{measure}.png", {"text": ["a", "b"], "measure": [1, 2]}) \
        == ["f_a_1.png", "f_a_2.png", "f_b_1.png", "f_b_2.png"]
    with pytest.raises(InputError, match="no values for rank"):
        expand_target("t{rank}.png", {})
