"""hubanatomy.snapshot.cards: word counts, card features and front-matter parents."""

from __future__ import annotations

import random
import string

import polars as pl
import pytest

from hubanatomy.snapshot.cards import (
    broken_front_matter,
    card_features,
    count_words,
    front_matter,
    front_matter_parents,
)

ASCII_SPACE = " \t\n\r\x0b\x0c"


def random_texts(rng: random.Random, n: int, alphabet: str) -> list[str | None]:
    texts: list[str | None] = ["", None, " ", "\t\n", "word", "  lead", "trail  ", "a  b\t\tc"]
    for _ in range(n):
        if rng.random() < 0.05:
            texts.append(None)
            continue
        length = rng.choice([0, 1, 2, 5, 20, 100, 1000])
        # bias toward runs of whitespace and of letters
        texts.append("".join(rng.choice(alphabet if rng.random() < 0.5 else ASCII_SPACE)
                             for _ in range(length)))
    return texts


def reference_str(texts):
    return [0 if t is None else len(t.split()) for t in texts]


def test_count_words_random_ascii_against_str_split():
    rng = random.Random(7)
    texts = random_texts(rng, 1500, string.printable)
    assert count_words(pl.Series("card", texts)).to_list() == reference_str(texts)


def test_count_words_with_non_ascii_letters():
    rng = random.Random(8)
    texts = random_texts(rng, 500, string.ascii_letters + "éü你好—🙂")
    assert count_words(pl.Series(texts)).to_list() == reference_str(texts)


def test_count_words_all_ascii_bytes_against_ascii_whitespace_definition():
    """Over every ASCII character, words are runs of non-(ASCII whitespace) as bytes.split."""
    rng = random.Random(9)
    texts = random_texts(rng, 800, "".join(map(chr, range(128))))
    expected = [0 if t is None else len(t.encode().split()) for t in texts]
    assert count_words(pl.Series(texts)).to_list() == expected


def test_count_words_result_shape():
    series = pl.Series("card", ["a b", None, ""])
    out = count_words(series)
    assert out.dtype == pl.Int64 and out.name == "card" and out.to_list() == [2, 0, 0]
    empty = count_words(pl.Series("card", [], dtype=pl.String))
    assert empty.dtype == pl.Int64 and empty.len() == 0
    assert count_words(pl.Series([None, None], dtype=pl.String)).to_list() == [0, 0]
    assert count_words(pl.Series(["", "", ""])).to_list() == [0, 0, 0]


def test_count_words_on_slices_filters_and_chunks():
    rng = random.Random(10)
    texts = random_texts(rng, 300, string.ascii_letters + ".,")
    series = pl.Series(texts)
    for _ in range(60):
        lo = rng.randrange(len(texts))
        hi = rng.randrange(lo, len(texts) + 1)
        assert count_words(series[lo:hi]).to_list() == reference_str(texts[lo:hi]), (lo, hi)
    mask = [rng.random() < 0.5 for _ in texts]
    kept = [t for t, m in zip(texts, mask, strict=True) if m]
    assert count_words(series.filter(pl.Series(mask))).to_list() == reference_str(kept)
    chunked = pl.concat([series[:100], series[100:250], series[250:]], rechunk=False)
    assert count_words(chunked).to_list() == reference_str(texts)
    assert count_words(chunked[90:260]).to_list() == reference_str(texts[90:260])


def test_card_features():
    texts = ["This card was Automatically Generated.", "generated automatically", None,
             "hand written, automatic generation", "héllo wörld 你好", ""]
    out = card_features(pl.DataFrame({"card": texts}, schema={"card": pl.String}))
    assert out["length_chars"].to_list() == [0 if t is None else len(t) for t in texts]
    assert out["length_words"].to_list() == reference_str(texts)
    assert out["auto_generated"].to_list() == [True, True, False, False, False, False]
    assert out["auto_generated"].null_count() == 0


def fm_frame(cards: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame({"model_id": list(cards), "card": list(cards.values())},
                        schema={"model_id": pl.String, "card": pl.String}).with_columns(
        fm=front_matter(pl.col("card")))


def parents(cards: dict[str, str | None]) -> set[tuple]:
    out = front_matter_parents(fm_frame(cards))
    assert out.columns == ["child_id", "parent_id", "relation"]
    rows = out.rows()
    assert len(rows) == len(set(rows))
    return set(rows)


def test_front_matter_extraction():
    frame = fm_frame({
        "lf": "---\nlicense: mit\n---\nbody",
        "crlf": "---\r\nlicense: mit\r\n---\r\nbody",
        "bom": "\ufeff---\nlicense: mit\n---\n",
        "eof": "---\nlicense: mit\n---",
        "none": "# Title\n---\nlicense: mit\n---\n",
        "open": "---\nlicense: mit\nno closing line",
        "null": None,
    })
    assert frame["fm"].to_list() == ["license: mit"] * 4 + [None, None, None]
    broken = frame.select(broken_front_matter(pl.col("card"), pl.col("fm")))
    assert broken.to_series().fill_null(False).to_list() == [
        False, False, False, False, False, True, False]


def test_empty_front_matter_is_not_broken():
    """'---' directly followed by the closing '---' is an empty, closed front matter."""
    frame = fm_frame({"empty": "---\n---\n# Model\n"})
    broken = frame.select(broken_front_matter(pl.col("card"), pl.col("fm"))).item()
    assert broken is False


def test_inline_flow_and_block_parents():
    got = parents({
        "c/inline": "---\nlicense: mit\nbase_model: a/b\ntags:\n- x\n---\n",
        "c/quoted": "---\nbase_model: 'a/b'  # the base\n---\n",
        "c/flow": "---\nbase_model: [a/b, \"c/d\", 'e/f']\n---\n",
        "c/block": "---\nbase_model:\n- a/b\n- c/d\nlicense: mit\ntags:\n- not/a-parent\n---\n",
        "c/indented": "---\nbase_model:\n  - 'a/b'\n  - \"c/d\"\n---\n",
        "c/legacy": "---\nbase_model: gpt2\n---\n",
    })
    assert got == {
        ("c/inline", "a/b", "unspecified"), ("c/quoted", "a/b", "unspecified"),
        ("c/flow", "a/b", "unspecified"), ("c/flow", "c/d", "unspecified"),
        ("c/flow", "e/f", "unspecified"),
        ("c/block", "a/b", "unspecified"), ("c/block", "c/d", "unspecified"),
        ("c/indented", "a/b", "unspecified"), ("c/indented", "c/d", "unspecified"),
        ("c/legacy", "gpt2", "unspecified"),
    }


def test_relation_from_base_model_relation():
    got = parents({
        "c/q": "---\nbase_model: a/b\nbase_model_relation: quantized\n---\n",
        "c/f": "---\nbase_model_relation: Finetune\nbase_model:\n- a/b\n- c/d\n---\n",
        "c/m": "---\nbase_model: [a/b, c/d]\nbase_model_relation: 'merge'\n---\n",
        "c/u": "---\nbase_model: a/b\nbase_model_relation: distillation\n---\n",
    })
    assert got == {
        ("c/q", "a/b", "quantized"), ("c/f", "a/b", "finetune"), ("c/f", "c/d", "finetune"),
        ("c/m", "a/b", "merge"), ("c/m", "c/d", "merge"), ("c/u", "a/b", "unspecified"),
    }


def test_no_parents_without_top_level_base_model_in_front_matter():
    got = parents({
        "n/none": None,
        "n/nofm": "base_model: a/b\n# text",
        "n/body": "---\nlicense: mit\n---\nbase_model: a/b\n",
        "n/nested": "---\nmodel-index:\n  base_model: a/b\n---\n",
        "n/relation-only": "---\nbase_model_relation: finetune\n---\n",
        "n/broken": "---\nbase_model: a/b\n",
        "n/empty": "---\nbase_model:\nlicense: mit\n---\n",
        "n/invalid": "---\nbase_model: not a repo id\n---\n",
    })
    assert got == set()


@pytest.mark.parametrize("value", ["null", "~", "Null", "NULL", "''", '""', "[]"])
def test_yaml_null_or_empty_base_model_declares_no_parent(value):
    assert parents({"n/null": f"---\nbase_model: {value}\nlicense: mit\n---\n"}) == set()


def test_crlf_front_matter_parents():
    got = parents({
        "w/inline": "---\r\nbase_model: a/b\r\nlicense: mit\r\n---\r\n",
        "w/last": "---\r\nlicense: mit\r\nbase_model: a/b\r\n---\r\n",
        "w/block": "---\r\nbase_model:\r\n- a/b\r\n- c/d\r\n---\r\n",
        "w/flow": "---\r\nbase_model: [a/b]\r\nbase_model_relation: adapter\r\n---\r\n",
    })
    assert got == {
        ("w/inline", "a/b", "unspecified"), ("w/last", "a/b", "unspecified"),
        ("w/block", "a/b", "unspecified"), ("w/block", "c/d", "unspecified"),
        ("w/flow", "a/b", "adapter"),
    }
