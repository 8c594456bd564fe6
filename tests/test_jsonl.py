"""hubanatomy.snapshot.jsonl.read_jsonl: strict schema parsing, bad lines isolated to their line."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pyarrow as pa
import pytest

from hubanatomy.snapshot.jsonl import read_jsonl

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("downloads", pa.int64()),
    ("tags", pa.list_(pa.string())),
])
BLOCK_SIZES = (16, 100, 1 << 20)


def read_all(path, keep_text=False, block_bytes=None):
    """Everything read_jsonl yields, flattened: rows, line numbers, texts, rejects."""
    kwargs = {} if block_bytes is None else {"block_bytes": block_bytes}
    rows, lines, texts, rejects = [], [], [], []
    for chunk in read_jsonl(path, SCHEMA, keep_text=keep_text, **kwargs):
        assert chunk.table.schema == SCHEMA
        assert chunk.table.num_rows == len(chunk.line)
        rows += chunk.table.to_pylist()
        lines += chunk.line.to_pylist()
        if keep_text:
            assert len(chunk.text) == chunk.table.num_rows
            texts += chunk.text.to_pylist()
        else:
            assert chunk.text is None
        rejects += chunk.rejects
    return rows, lines, texts, rejects


def expected_row(obj: dict) -> dict:
    return {name: obj.get(name) for name in SCHEMA.names}


def good(i: int) -> bytes:
    return json.dumps({"id": f"org/m{i}", "downloads": i, "tags": [f"t{i}", "x"],
                       "extra": {"ignored": [1, 2]}}).encode()


BAD_LINES = {
    "invalid JSON": b'{"id": "org/broken", "downloads": ',
    "unquoted key": b'{id: "org/x"}',
    "downloads as string": b'{"id": "org/str", "downloads": "7"}',
    "tags as string": b'{"id": "org/tags", "tags": "a,b"}',
    "id as number": b'{"id": 12}',
    "invalid UTF-8": b'\xff\xfe{"id": "org/bom-like"}',
    "invalid UTF-8 in a value": b'{"id": "org/latin1", "tags": ["caf\xe9"]}',
    "two objects": b'{"id": "org/a1"} {"id": "org/a2"}',
    "array": b'[{"id": "org/in-array"}]',
    "bare string": b'"org/just-a-string"',
    "null": b"null",
    "indented null": b"  null",
    "number": b"12",
}

# kinds mixed into the many-line files below (the in-value UTF-8 case has dedicated tests)
MIXABLE = sorted(set(BAD_LINES) - {"invalid UTF-8 in a value"})


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
@pytest.mark.parametrize("position", [0, 3, 6])
def test_bad_line_isolated_to_its_own_line(tmp_path, kind, position):
    lines = [good(i) for i in range(6)]
    lines.insert(position, BAD_LINES[kind])
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for block in (None, *BLOCK_SIZES):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert [(r.file, r.line) for r in rejects] == [(str(path), position + 1)], kind
        assert rejects[0].reason.strip(), "a reject must say why"
        good_numbers = [n for n in range(1, 8) if n != position + 1]
        assert numbers == good_numbers
        assert rows == [expected_row(json.loads(lines[n - 1])) for n in good_numbers]
        assert texts == [lines[n - 1].decode() for n in good_numbers]


def reject_reason(tmp_path, line: bytes) -> str:
    path = tmp_path / "one.jsonl"
    path.write_bytes(good(1) + b"\n" + line + b"\n" + good(2) + b"\n")
    rows, numbers, _, rejects = read_all(path)
    assert numbers == [1, 3]
    assert [r.line for r in rejects] == [2]
    return rejects[0].reason


def test_reason_for_wrong_type_names_the_column(tmp_path):
    reason = reject_reason(tmp_path, BAD_LINES["downloads as string"])
    assert "wrong type" in reason
    assert "downloads" in reason


def test_reason_for_wrong_type_of_list_names_the_column(tmp_path):
    reason = reject_reason(tmp_path, BAD_LINES["tags as string"])
    assert "wrong type" in reason
    assert "tags" in reason


def test_reason_for_invalid_utf8(tmp_path):
    assert reject_reason(tmp_path, BAD_LINES["invalid UTF-8"]) == "not valid UTF-8"


def test_reason_for_invalid_utf8_inside_a_string_value(tmp_path):
    """Latin-1 bytes inside a JSON string: the line is not valid UTF-8 either."""
    assert reject_reason(tmp_path, BAD_LINES["invalid UTF-8 in a value"]) == "not valid UTF-8"


def test_invalid_utf8_inside_a_value_with_keep_text(tmp_path):
    """keep_text=True (as normalise reads) must isolate the line, not fail the whole file."""
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(good(1) + b"\n" + BAD_LINES["invalid UTF-8 in a value"] + b"\n"
                     + good(2) + b"\n")
    rows, numbers, texts, rejects = read_all(path, keep_text=True)
    assert numbers == [1, 3]
    assert [(r.line, r.reason) for r in rejects] == [(2, "not valid UTF-8")]
    assert texts == [good(1).decode(), good(2).decode()]


def test_reason_for_invalid_json_is_not_a_type_or_utf8_reason(tmp_path):
    reason = reject_reason(tmp_path, BAD_LINES["invalid JSON"])
    assert "JSON" in reason
    assert "UTF-8" not in reason and "wrong type" not in reason


def test_reasons_for_two_objects_and_array_are_given(tmp_path):
    for kind in ("two objects", "array"):
        reason = reject_reason(tmp_path, BAD_LINES[kind])
        assert reason and "UTF-8" not in reason, kind


def test_all_bad_kinds_in_one_file(tmp_path):
    """Every kind of bad line in one file, each between good neighbours."""
    content, bad_numbers, good_numbers = [], [], []
    for i, kind in enumerate(MIXABLE):
        content.append(good(i))
        good_numbers.append(len(content))
        content.append(BAD_LINES[kind])
        bad_numbers.append(len(content))
    content.append(good(99))
    good_numbers.append(len(content))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(content) + b"\n")
    for block in (None, *BLOCK_SIZES):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert sorted(r.line for r in rejects) == bad_numbers
        assert numbers == good_numbers
        assert [r["id"] for r in rows] == [json.loads(content[n - 1])["id"]
                                           for n in good_numbers]


def test_good_lines_parsed_with_nulls_and_extra_keys(tmp_path):
    objects = [
        {"id": "a/b", "downloads": 3, "tags": ["x", "y"]},
        {"id": "c/d"},  # missing fields are null
        {"id": "e/f", "downloads": None, "tags": None, "likes": 5, "nested": {"k": [1]}},
        {"id": "ünï/cødé", "downloads": 2**40, "tags": []},
    ]
    path = tmp_path / "good.jsonl"
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects),
                    encoding="utf-8")
    rows, numbers, _, rejects = read_all(path)
    assert rejects == []
    assert numbers == [1, 2, 3, 4]
    assert rows == [expected_row(o) for o in objects]


def test_blank_lines_skipped_and_counted_as_lines(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n" + good(1) + b"\n\n   \n\t\n" + good(2) + b"\n \r\n\n"
                     + good(3) + b"\n\n")
    for block in (None, *BLOCK_SIZES):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert rejects == []
        assert numbers == [2, 6, 9]
        assert [r["id"] for r in rows] == ["org/m1", "org/m2", "org/m3"]
        assert texts == [good(1).decode(), good(2).decode(), good(3).decode()]


def test_long_whitespace_only_line_is_blank(tmp_path):
    """A line of nothing but whitespace is blank however long it is."""
    path = tmp_path / "spaces.jsonl"
    path.write_bytes(good(1) + b"\n" + b" " * 40 + b"\n" + b"\t \t" * 10 + b"\n" + good(2) + b"\n")
    rows, numbers, _, rejects = read_all(path)
    assert rejects == []
    assert numbers == [1, 4]


def test_empty_file_yields_nothing(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    rows, numbers, _, rejects = read_all(path)
    assert (rows, numbers, rejects) == ([], [], [])


LINES_FOR_TEXT = [
    '{"id": "a/b", "downloads": 1}',
    '{"id":"c/d","tags":["x"]}',
    '  {"id": "spaced/out" ,  "downloads" : 2 }  ',
    '{"id": "uni/\u00e9\u4f60", "note": "caf\\u00e9 \\" quoted \\\\ backslash"}',
    '{"id": "e/f", "tags": ["a", "b", "c"], "deep": {"x": [1, {"y": null}]}}',
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_keep_text_gives_exact_original_lines(tmp_path, newline, trailing):
    text = newline.join(LINES_FOR_TEXT) + (newline if trailing else "")
    path = tmp_path / "text.jsonl"
    path.write_bytes(text.encode("utf-8"))
    for block in (None, *BLOCK_SIZES):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert rejects == []
        assert numbers == [1, 2, 3, 4, 5]
        assert texts == LINES_FOR_TEXT
        assert [r["id"] for r in rows] == [json.loads(t)["id"] for t in LINES_FOR_TEXT]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_keep_text_with_dropped_lines_between(tmp_path, newline):
    """Blank and rejected lines between kept ones do not shift any kept line's text."""
    lines = [LINES_FOR_TEXT[0], "", BAD_LINES["invalid JSON"].decode(), LINES_FOR_TEXT[1],
             "   ", LINES_FOR_TEXT[2], BAD_LINES["downloads as string"].decode(),
             LINES_FOR_TEXT[3], LINES_FOR_TEXT[4]]
    path = tmp_path / "gaps.jsonl"
    path.write_bytes(newline.join(lines).encode("utf-8"))  # no trailing newline either
    for block in (None, *BLOCK_SIZES):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert numbers == [1, 4, 6, 8, 9]
        assert [r.line for r in rejects] == [3, 7]
        assert texts == LINES_FOR_TEXT


def random_file(rng: random.Random, n: int) -> tuple[bytes, list]:
    """n lines of random good, blank and bad lines, and what each should become."""
    lines, truth = [], []
    for i in range(n):
        roll = rng.random()
        if roll < 0.6:
            obj = {"id": f"org/r{i}", "downloads": rng.randrange(10**6),
                   "tags": [rng.choice("abc") * rng.randrange(1, 30)
                            for _ in range(rng.randrange(4))],
                   "pad": "z" * rng.randrange(200)}
            lines.append(json.dumps(obj).encode())
            truth.append(("good", expected_row(obj)))
        elif roll < 0.7:
            lines.append(rng.choice([b"", b" ", b"\t", b"  \t  "]))
            truth.append(("blank", None))
        else:
            lines.append(BAD_LINES[rng.choice(MIXABLE)])
            truth.append(("bad", None))
    return b"\n".join(lines) + b"\n", truth


def test_results_identical_across_block_sizes(tmp_path):
    rng = random.Random(20250809)
    data, truth = random_file(rng, 300)
    path = tmp_path / "random.jsonl"
    path.write_bytes(data)
    expected_numbers = [i + 1 for i, (kind, _) in enumerate(truth) if kind == "good"]
    expected_rows = [row for kind, row in truth if kind == "good"]
    expected_bad = [i + 1 for i, (kind, _) in enumerate(truth) if kind == "bad"]
    results = {}
    for block in (16, 100, 1000, 4096, 1 << 20, None):
        rows, numbers, texts, rejects = read_all(path, keep_text=True, block_bytes=block)
        assert numbers == expected_numbers, block
        assert rows == expected_rows, block
        assert sorted(r.line for r in rejects) == expected_bad, block
        assert texts == [data.split(b"\n")[n - 1].decode() for n in numbers]
        results[block] = (rows, numbers, texts, sorted((r.line, r.reason) for r in rejects))
    reference = results[None]
    for block, result in results.items():
        assert result == reference, f"block_bytes={block} differs from the default"


def test_line_of_several_megabytes_is_parsed(tmp_path):
    """A valid object on one long line (full=true objects of repos with many files) is good."""
    big = {"id": "big/repo", "downloads": 1,
           "siblings": [{"rfilename": f"shard-{i:06d}.safetensors"} for i in range(80_000)]}
    line = json.dumps(big).encode()
    assert len(line) > 3 << 20
    path = tmp_path / "big.jsonl"
    path.write_bytes(good(1) + b"\n" + line + b"\n" + good(2) + b"\n")
    rows, numbers, texts, rejects = read_all(path, keep_text=True)
    assert rejects == []
    assert numbers == [1, 2, 3]
    assert rows[1] == expected_row(big)
    assert texts[1] == line.decode()


NOT_OBJECTS = [b"null", b" null", b"true", b"12", b'"x"', b"[]", b"[null]"]


def test_lines_that_are_not_objects_never_reach_pyarrow(tmp_path):
    """pyarrow's reader with an explicit schema segfaults on input that starts with `null`:
    read in a child process, so a crash fails this test instead of killing pytest. Each kind
    stands alone and beside another bad line, which sends the block through the bisection."""
    lines = [good(0)]
    for i, line in enumerate(NOT_OBJECTS, 1):
        lines += [line, BAD_LINES["invalid JSON"], good(i)]
    lines.append(b"null")  # the very last line, without a newline
    path = tmp_path / "nulls.jsonl"
    path.write_bytes(b"\n".join(lines))
    script = (
        "import json, sys\n"
        "import pyarrow as pa\n"
        "from hubanatomy.snapshot.jsonl import read_jsonl\n"
        "schema = pa.schema([('id', pa.string()), ('downloads', pa.int64()),\n"
        "                    ('tags', pa.list_(pa.string()))])\n"
        "out = []\n"
        "for block in (None, 16, 100):\n"
        "    kw = {} if block is None else {'block_bytes': block}\n"
        "    rows, rejects = [], []\n"
        "    for chunk in read_jsonl(sys.argv[1], schema, keep_text=True, **kw):\n"
        "        rows += chunk.line.to_pylist()\n"
        "        rejects += [(r.line, r.reason) for r in chunk.rejects]\n"
        "    out.append([rows, sorted(rejects)])\n"
        "print(json.dumps(out))\n")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    good_lines = [n for n, line in enumerate(lines, 1) if line in {good(i) for i in range(9)}]
    not_objects = [n for n, line in enumerate(lines, 1) if line.strip() in
                   {x.strip() for x in NOT_OBJECTS}]
    for rows, rejects in json.loads(result.stdout):
        # in = out + rejected, and every non-object is rejected as such
        assert len(rows) + len(rejects) == len(lines)
        assert rows == good_lines
        rejected = dict(rejects)
        assert all(rejected[n].startswith("not a JSON object") for n in not_objects)
