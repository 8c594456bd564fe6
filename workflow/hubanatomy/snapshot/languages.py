"""Which Hub tags are language tags, and their canonical codes.

A tag counts as a language when, lowercased and with at most two trailing region/script
subtags removed (``en-US``, ``zh_CN``, ``pt-br``, ``es-419``, ``zh-Hant``, ``eng_Latn``), it
is an ISO 639-1, 639-2 (T or B) or 639-3 code, or an ISO 639-5 family code (``roa``, ``gem``:
Helsinki-NLP translation models tag language groups this way), as listed by pycountry.
Every code is mapped to one canonical form: the ISO 639-1 two-letter code when the language
has one (``eng``, ``en-us``, ``en_US`` -> ``en``; ``fre``/``fra`` -> ``fr``), else the
three-letter 639-3 / 639-5 code (``yue``, ``fil``, ``roa``). Unlike the paper, which kept only
two-letter tags, three-letter ones are kept. Prefixed tags (``dataset:en``) never count.
ISO-valid tags that on the Hub nearly always mean something else (``gan``, ``llm``, ``opt``,
``trl``...) are refused; they are listed with a reason in
``data/language_tag_exclusions.csv``, which also drops the special codes ``mul``, ``und``,
``zxx`` and ``mis`` (they name no language; a "multilingual" flag, if wanted, is the raw tag)
and a few whole tags such as ``sci-fi`` that would otherwise parse as code plus region.
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl
import pycountry

from hubanatomy.datafiles import read_data_csv


def _suffix_pattern() -> str:
    # Only real subtags (ISO 3166 regions, UN M49 numbers, ISO 15924 scripts), so that model
    # tags such as "yi-34b", "ms-marco" or "vit-base" are never cut down to a language code.
    regions = sorted(c.alpha_2.lower() for c in pycountry.countries)
    scripts = sorted(s.alpha_4.lower() for s in pycountry.scripts)
    subtag = "|".join(scripts + regions + ["[0-9]{3}"])
    return rf"(?:[-_](?:{subtag})){{1,2}}$"


#: Region/script suffix to remove from a lowercased tag before looking it up in
#: ``language_code_table()``; valid in both Python ``re`` and polars (Rust) regexes.
#: Vectorised callers: ``pl.col(t).str.to_lowercase().str.replace(REGION_SUFFIX, "")``, drop
#: whole tags in ``excluded_tags()``, then join on the table -- or simply use
#: ``language_code_expr``, which does all of it.
REGION_SUFFIX = _suffix_pattern()

_SUFFIX_RE = re.compile(REGION_SUFFIX)

# Longest language tag the rules accept: code + script + region, e.g. "yue-hant-419".
_MAX_TAG_BYTES = 12


@cache
def excluded_tags() -> frozenset[str]:
    """Lowercased tags that are never languages (see ``data/language_tag_exclusions.csv``)."""
    tags = read_data_csv("language_tag_exclusions.csv", columns=["tag"], infer_schema=False)
    return frozenset(t.strip().lower() for t in tags["tag"])


@cache
def _all_codes() -> dict[str, tuple[str, str]]:
    """Every ISO 639 code (lowercase) -> (canonical code, English name); no exclusions."""
    codes: dict[str, tuple[str, str]] = {}
    for family in pycountry.language_families:
        codes[family.alpha_3] = (family.alpha_3, family.name)
    # Languages after families so an individual language wins on any shared code.
    for lang in pycountry.languages:
        alpha_2 = getattr(lang, "alpha_2", None)
        entry = (alpha_2 or lang.alpha_3, lang.name.removesuffix(" (macrolanguage)"))
        for key in (alpha_2, lang.alpha_3, getattr(lang, "bibliographic", None)):
            if key:
                codes[key] = entry
    return codes


@cache
def language_code_table() -> dict[str, str]:
    """Raw lowercase tag -> canonical language code, for every tag that counts as a language.

    Keys carry no region suffix; strip it first with ``REGION_SUFFIX``. The dict is shared:
    do not mutate it.
    """
    excluded = excluded_tags()
    return {key: code for key, (code, _) in _all_codes().items() if key not in excluded}


def canonical_language(tag: str) -> str | None:
    """Canonical language code of one tag (``"en_US"`` -> ``"en"``), or None if not a language."""
    key = tag.strip().lower()
    if key in excluded_tags():
        return None
    return language_code_table().get(_SUFFIX_RE.sub("", key, count=1))


def language_code_expr(tag: pl.Expr) -> pl.Expr:
    """Polars expression: string tag -> canonical language code, null if not a language."""
    key = tag.str.strip_chars().str.to_lowercase()
    code = key.str.replace(REGION_SUFFIX, "").replace_strict(
        language_code_table(), default=None, return_dtype=pl.String
    )
    return pl.when(~key.is_in(sorted(excluded_tags()))).then(code)


def normalise_language_tags(tags: pl.Series) -> pl.Series:
    """Per model, the canonical language codes among its tags.

    ``tags`` is a list[str] Series (one list of tags per model). Returns list[str] of the same
    length: codes deduplicated in order of first appearance; null or empty input gives [].
    """
    tags = tags.cast(pl.List(pl.String))
    rows = tags.rename("tag").to_frame().lazy().with_row_index("row")
    # Long tags (arxiv:, base_model:, dataset: ...) can't be languages; dropping them first
    # leaves few distinct tags, so the lowercase/regex work runs once per distinct short tag.
    short = rows.explode("tag").filter(pl.col("tag").str.len_bytes() <= _MAX_TAG_BYTES)
    hits = (
        short.select(pl.col("tag").unique())
        .with_columns(code=language_code_expr(pl.col("tag")))
        .drop_nulls()
    )
    found = (
        short.join(hits, on="tag", how="inner", maintain_order="left")
        .group_by("row", maintain_order=True)
        .agg(pl.col("code").unique(maintain_order=True))
    )
    codes = (
        rows.select("row")
        .join(found, on="row", how="left", maintain_order="left")
        .collect()
        .get_column("code")
    )
    return codes.fill_null([]).alias(tags.name)


def language_name(code: str) -> str:
    """English name of an ISO 639 code (``"yue"`` -> ``"Yue Chinese"``); else ``code`` itself."""
    entry = _all_codes().get(code.strip().lower())
    return entry[1] if entry else code
