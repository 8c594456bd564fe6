# hubanatomy: every figure and table of Laufer, Oderinwale & Kleinberg, "Anatomy of a Machine
# Learning Ecosystem: 2 Million Models on Hugging Face" (2025), rebuilt from raw Hub data.
# This file is the table of contents; the stages live in workflow/rules, the logic in
# workflow/hubanatomy. Usage: README.md.

from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# the defaults live beside this file, so the workflow runs from any working directory (-d)
configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


try:
    validate(config, "config/schema.yaml")
except WorkflowError as _error:
    # a nested --config entry gives text where numbers are wanted: name the cause and the fix
    from hubanatomy.errors import config_given_as_text, config_text_hint

    _text = config_given_as_text(
        config, yaml.safe_load((Path(workflow.basedir) / "config" / "schema.yaml").read_text()))
    if _text:
        raise WorkflowError(f"{_error}\n\n{config_text_hint(_text)}") from None
    raise


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/acquire.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/lineage.smk"
include: "workflow/rules/drift.smk"
include: "workflow/rules/orderings.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),


# every output in workflow/outputs.tsv is written by the rule it names
check_registry(rules)
