import json
import re
from pathlib import Path

import polars as pl
import pycountry
import pytest

from hubanatomy.datafiles import read_data_csv
from hubanatomy.snapshot.languages import (
    REGION_SUFFIX,
    canonical_language,
    excluded_tags,
    language_code_expr,
    language_code_table,
    language_name,
    normalise_language_tags,
)

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real Hub samples not available at {REAL} (outside the workplace)"
)


def normalise(rows):
    return normalise_language_tags(pl.Series("tags", rows, dtype=pl.List(pl.String))).to_list()


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("eng", "en"),
        ("EN", "en"),
        ("en-us", "en"),
        ("en_US", "en"),
        ("fra", "fr"),
        ("fre", "fr"),  # ISO 639-2/B
        ("zho", "zh"),
        ("chi", "zh"),
        ("zh-cn", "zh"),
        ("zh-Hant", "zh"),  # script subtag
        ("zh-hans-cn", "zh"),  # script + region
        ("pt-BR", "pt"),
        ("es-419", "es"),  # UN M49 region
        ("eng_Latn", "en"),  # NLLB / FLORES style
        ("yue", "yue"),  # no 639-1 code: stays 639-3
        ("yue_Hant", "yue"),
        ("fil", "fil"),
        ("ast", "ast"),
        ("ml", "ml"),  # Malayalam is real and kept
        ("roa", "roa"),  # ISO 639-5 family
    ],
)
def test_canonical_language(tag, code):
    assert canonical_language(tag) == code


@pytest.mark.parametrize(
    "tag",
    [
        "transformers",
        "license:mit",
        "dataset:en",
        "language:en",
        "region:us",
        "text-generation",
        "yi-34b",  # not Yiddish: "34b" is no region subtag
        "ms-marco",  # not Malay
        "vit-base",
        "sam-hq",
        "",
    ],
)
def test_non_language_tags(tag):
    assert canonical_language(tag) is None


@pytest.mark.parametrize(
    "tag", ["gan", "GAN", "art", "llm", "opt", "sam", "trl", "mlx", "jax", "mul", "und", "sci-fi"]
)
def test_excluded_tags_are_not_languages(tag):
    assert canonical_language(tag) is None
    assert tag.lower() in excluded_tags() or re.sub(REGION_SUFFIX, "", tag) in excluded_tags()


def test_exclusions_file_lists_only_iso_codes_with_reasons():
    rows = read_data_csv("language_tag_exclusions.csv", infer_schema=False).to_dicts()
    tags = [row["tag"] for row in rows]
    assert len(tags) == len(set(tags)) == len(excluded_tags())
    iso = {f.alpha_3 for f in pycountry.language_families}
    for lang in pycountry.languages:
        iso |= {getattr(lang, key, None) for key in ("alpha_2", "alpha_3", "bibliographic")}
    for row in rows:
        assert row["reason"].strip(), row
        # Whole-tag exclusions ("sci-fi") must be code + region, else they would be pointless.
        base = re.sub(REGION_SUFFIX, "", row["tag"])
        assert base in iso, row
    # Real, used languages must never be excluded.
    for code in ["en", "ml", "sd", "mt", "it", "ast", "cat", "fin", "kan", "mri", "yue"]:
        assert code not in excluded_tags()


def test_table_maps_every_iso_code():
    table = language_code_table()
    assert table["en"] == table["eng"] == "en"
    assert table["ger"] == table["deu"] == "de"
    assert table["cmn"] == "cmn"
    assert all(key == key.lower() for key in table)
    assert len(table) > 8000


def test_normalise_dedup_order_and_ignores_non_languages():
    rows = [
        ["transformers", "en", "eng", "EN", "en-US"],
        ["fr", "dataset:en", "license:mit", "gan", "yue", "fra", "de"],
        ["zh-CN", "pytorch", "zh", "zho", "ja"],
    ]
    assert normalise(rows) == [["en"], ["fr", "yue", "de"], ["zh", "ja"]]


def test_normalise_empty_and_null():
    assert normalise([[], None, ["pytorch"], [None, "en"]]) == [[], [], [], ["en"]]
    assert normalise([]) == []
    assert normalise([None, None]) == [[], []]
    out = normalise_language_tags(pl.Series("tags", [None], dtype=pl.List(pl.String)))
    assert out.dtype == pl.List(pl.String)
    assert out.name == "tags"


def test_normalise_agrees_with_canonical_language():
    tags = ["en", "EN", "eng_Latn", "zh-hant", "yue-Hant-419", "gan", "sci-fi", "dataset:fr", "fre"]
    expected = [[c] if (c := canonical_language(t)) else [] for t in tags]
    assert normalise([[t] for t in tags]) == expected
    exprs = pl.DataFrame({"t": tags}).select(language_code_expr(pl.col("t")))["t"].to_list()
    assert exprs == [canonical_language(t) for t in tags]


def test_normalise_keeps_row_alignment_on_sliced_input():
    series = pl.Series("tags", [["en"], ["de"], [], ["fr", "it"], None, ["es"]])
    assert normalise_language_tags(series.slice(1, 4)).to_list() == [["de"], [], ["fr", "it"], []]


def test_language_name():
    assert language_name("en") == "English"
    assert language_name("yue") == "Yue Chinese"
    assert language_name("fra") == "French"
    assert language_name("sw") == "Swahili"  # "(macrolanguage)" dropped
    assert language_name("roa") == "Romance languages"
    assert language_name("not-a-code") == "not-a-code"


@needs_real
def test_real_mistral_small_family():
    models = pl.read_csv(REAL / "mistral-small-family" / "models.csv")
    tags = pl.Series("tags", [json.loads(m)["tags"] for m in models["metadata"]])
    languages = dict(zip(models["model_id"], normalise_language_tags(tags).to_list(), strict=True))
    assert languages["mistralai/Mistral-Small-24B-Base-2501"] == [
        "en", "fr", "de", "es", "it", "pt", "zh", "ja", "ru", "ko"
    ]  # fmt: skip
    # Several of these models carry "mlx" and "trl" tags, both ISO 639-3 codes.
    found = {code for codes in languages.values() for code in codes}
    assert found.isdisjoint({"mlx", "trl", "not"})
    assert found <= set(language_code_table().values())


@needs_real
def test_real_api_response_bert_base_uncased():
    body = (REAL / "api-responses" / "InferenceApiTest.test_simple_inference.yaml").read_text()
    tags = json.loads(re.search(r'"tags":(\[[^\]]*\])', body).group(1))
    assert "jax" in tags  # would be Jambi Malay without the exclusion list
    assert normalise([tags]) == [["en"]]
