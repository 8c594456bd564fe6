"""Parent ids as authors write them, cleaned into Hub repo ids or rejected with a reason.

A `base_model:` declaration is free text in a card's YAML, and the Hub copies it into the tags
as written. Besides `namespace/name` and the legacy `name`, real snapshots hold:

* leftovers of Markdown and YAML around an id: a trailing `<br>`, a leading `- ` of a list
  item, quotes -> stripped;
* a Hub URL (`https://huggingface.co/org/name/tree/main`) -> `org/name`;
* templates and null words (`ORIGINAL_REPO_NAME`, `{{base_model}}`, `None`, `N/A`) -> rejected:
  they name no model, and taken as ids they join unrelated models into one fake family;
* local paths (`/home/me/ckpt`, `./`, `C:\\models`, `out/checkpoint-500/final`) -> rejected;
* datasets and Spaces (`datasets/org/name`, a `/datasets/` or `/spaces/` URL) -> rejected;
* anything else that is not `name` or `namespace/name` -> rejected.

Legacy ids without a namespace (`bert-base-uncased`) are valid ids; the lineage resolves them
through data/legacy_model_ids.csv (the Hub moved them into organisations in January 2024).
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl

from hubanatomy.datafiles import read_data_csv

# a Hub repo id: "name" (legacy, no namespace) or "namespace/name"
REPO_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)?$"

REJECTIONS = {
    "empty": "nothing left once quotes and list or HTML leftovers are stripped",
    "placeholder": "a template or null word, not a model (ORIGINAL_REPO_NAME, None, {{...}})",
    "local_path": "a path on the author's machine",
    "dataset": "a dataset, not a model",
    "space": "a Space, not a model",
    "other_url": "a URL that does not point at a Hub model",
    "not_a_repo_id": "not of the form name or namespace/name",
}
CLEANINGS = {
    "hub_url": "a Hub URL reduced to namespace/name",
    "markup": "a trailing <br>, a leading '- ' of a YAML list item or quotes stripped",
}

_NULL_WORDS = {"none", "null", "nil", "nan", "n/a", "na", "~", "undefined", "unknown", "tbd",
               "todo", "-"}
# ORIGINAL_REPO_NAME, {{base_model}}, ${MODEL}, <model-id>, [your model]
_TEMPLATE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|.*(?:\{\{|\$\{).*|<[^<>]+>|\[[^\[\]]+\]")
_TRAILING_BREAK = re.compile(r"(?:\s*<br\s*/?>)+\s*$", re.IGNORECASE)
_HUB_URL = re.compile(r"(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/+(.*)", re.IGNORECASE)
_OTHER_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_REPO_ID = re.compile(REPO_ID)
# the parts of a Hub URL after namespace/name that address something inside the repo
_REPO_PAGES = {"tree", "blob", "resolve", "raw", "commit", "commits", "discussions", "files"}


@cache
def clean_parent_id(raw: str) -> tuple[str | None, str | None, str | None]:
    """(cleaned id or None, rejection reason or None, cleaning applied or None)."""
    text = raw.strip()
    cleaned = text
    if cleaned.startswith("- "):
        cleaned = cleaned[2:]
    cleaned = _TRAILING_BREAK.sub("", cleaned).strip().strip("'\"`").strip()
    cleaning = "markup" if cleaned != text else None
    if not cleaned:
        return None, "empty", cleaning
    if cleaned.lower() in _NULL_WORDS or _TEMPLATE.fullmatch(cleaned):
        return None, "placeholder", cleaning

    url = _HUB_URL.fullmatch(cleaned)
    if url:
        parts = [p for p in re.split(r"[?#]", url.group(1))[0].split("/") if p]
        if parts[:1] == ["datasets"]:
            return None, "dataset", "hub_url"
        if parts[:1] == ["spaces"]:
            return None, "space", "hub_url"
        if parts[:1] == ["models"]:  # huggingface.co/models/org/name is an old URL form
            parts = parts[1:]
        if len(parts) > 2 and parts[2] not in _REPO_PAGES:
            return None, "other_url", "hub_url"
        cleaned, cleaning = "/".join(parts[:2]), "hub_url"
        if not cleaned:
            return None, "other_url", cleaning
    elif _OTHER_URL.match(cleaned):
        return None, "other_url", cleaning

    if cleaned.startswith("datasets/"):
        return None, "dataset", cleaning
    if (cleaned in (".", "..") or cleaned.startswith(("/", "./", "../", "~", ".\\"))
            or _WINDOWS_DRIVE.match(cleaned) or "\\" in cleaned or cleaned.count("/") > 1):
        return None, "local_path", cleaning
    if not _REPO_ID.match(cleaned):
        return None, "not_a_repo_id", cleaning
    return cleaned, None, cleaning


def clean_parent_ids(parent_ids: pl.Series) -> pl.DataFrame:
    """For each id: parent_id (cleaned, null if rejected), rejection, cleaning (null if none).
    Each distinct spelling is cleaned once."""
    distinct = parent_ids.drop_nulls().unique().to_list()
    table = pl.DataFrame(
        [(raw, *clean_parent_id(raw)) for raw in distinct],
        schema={"raw": pl.String, "parent_id": pl.String, "rejection": pl.String,
                "cleaning": pl.String}, orient="row")
    frame = pl.DataFrame({"raw": parent_ids.cast(pl.String)}).join(
        table, on="raw", how="left", maintain_order="left")
    # a null id is an empty declaration
    return frame.select("parent_id", pl.when(pl.col("raw").is_null()).then(pl.lit("empty"))
                        .otherwise(pl.col("rejection")).alias("rejection"), "cleaning")


@cache
def legacy_model_ids() -> pl.DataFrame:
    """legacy_id -> current_id of the models the Hub moved into organisations (the file gives
    the source of each entry)."""
    return read_data_csv("legacy_model_ids.csv", columns=["legacy_id", "current_id"],
                         schema_overrides={"legacy_id": pl.String, "current_id": pl.String})
