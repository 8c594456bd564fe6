"""Strict, fast reading of JSON-lines files with a fixed schema, bad lines isolated by bisection.

The file is read in blocks of whole lines. Each block is parsed by pyarrow's JSON reader against
an explicit schema (extra keys ignored, wrong types rejected). When a block fails, it is split
in halves until every bad line stands alone; a bad line becomes a `Reject` naming file, line
number and what was wrong, and the good lines around it are kept. Line boundaries are found
with numpy over the bytes, so no Python code runs per line unless a line is bad.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

BLOCK_BYTES = 128 << 20
NEWLINE = 10
OPEN_BRACE = ord("{")
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\r\x0b\x0c")] = True


@dataclass(frozen=True)
class Reject:
    file: str
    line: int
    reason: str
    # the line's "id" value when it can still be read (a card record rejected for a bad
    # character in its text still names its model)
    id: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass
class Chunk:
    table: pa.Table  # parsed rows (schema fields only)
    text: pa.Array | None  # the raw line of every row, as a string (if asked for)
    line: pa.Array  # 1-based line number of every row in its file
    rejects: list[Reject]


def read_jsonl(path: str | Path, schema: pa.Schema, keep_text: bool = False,
               block_bytes: int = BLOCK_BYTES) -> Iterator[Chunk]:
    """Parse `path` block by block; blank lines are skipped, bad lines rejected."""
    path = Path(path)
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    first_line = 1
    carry = b""
    with path.open("rb") as handle:
        while True:
            data = handle.read(block_bytes)
            at_end = not data
            buffer = carry + data
            cut = len(buffer) if at_end else buffer.rfind(b"\n") + 1
            if cut == 0 and not at_end:  # a line longer than the block: read on
                carry = buffer
                continue
            block, carry = buffer[:cut], buffer[cut:]
            if block:
                chunk, n_lines = _parse_block(path, block, first_line, options, keep_text)
                first_line += n_lines
                yield chunk
            if at_end:
                return


def _parse_block(path: Path, block: bytes, first_line: int, options: pj.ParseOptions,
                 keep_text: bool) -> tuple[Chunk, int]:
    raw = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(raw == NEWLINE)
    if len(raw) and raw[-1] != NEWLINE:
        ends = np.append(ends, len(raw))  # last line without a newline
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    numbers = np.arange(first_line, first_line + len(ends), dtype=np.int64)
    # a blank line holds nothing but whitespace (pyarrow skips those too); only a line that
    # starts with whitespace can be one, so only those are looked at
    lengths = ends - starts
    blank = lengths == 0
    for i in np.flatnonzero(~blank & _SPACE[raw[np.minimum(starts, len(raw) - 1)]]):
        blank[i] = not block[starts[i]:ends[i]].strip()
    # pyarrow does not check the encoding inside strings: check the block, then its lines
    rejects: list[Reject] = []
    bad_text = np.zeros(len(ends), dtype=bool)
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        for i in np.flatnonzero(~blank):
            try:
                block[starts[i]:ends[i]].decode("utf-8")
            except UnicodeDecodeError:
                bad_text[i] = True
                rejects.append(Reject(str(path), int(numbers[i]), "not valid UTF-8"))
    # pyarrow's reader with an explicit schema crashes (SIGSEGV) on input that starts with a
    # JSON null, and reads a null line among objects as a row of nulls: a line that is not an
    # object is rejected here, before pyarrow sees it
    first = raw[np.minimum(starts, len(raw) - 1)] if len(raw) else np.zeros(0, dtype=np.uint8)
    not_object = ~blank & ~bad_text & (first != OPEN_BRACE)
    for i in np.flatnonzero(not_object):
        text = block[starts[i]:ends[i]].strip()
        if text.startswith(b"{"):  # whitespace before the object
            not_object[i] = False
            continue
        rejects.append(Reject(str(path), int(numbers[i]),
                              f"not a JSON object: the line starts with "
                              f"{text[:20].decode('utf-8', 'replace')!r}"))
    keep = np.flatnonzero(~blank & ~bad_text & ~not_object)

    # a block of the reader must hold the longest line
    longest = int(lengths.max()) if len(lengths) else 0
    read_options = pj.ReadOptions(block_size=max(1 << 20, 2 * longest + 1024))
    tables, kept, parse_rejects = _parse_lines(path, block, starts[keep], ends[keep],
                                               numbers[keep], options, read_options,
                                               whole_block=not (bad_text | not_object).any())
    rejects = sorted((replace(r, id=_id_of(block[starts[r.line - first_line]:
                                                 ends[r.line - first_line]]))
                      for r in rejects + parse_rejects), key=lambda r: r.line)
    schema_table = pa.Table.from_batches([], schema=options.explicit_schema)
    table = pa.concat_tables([schema_table, *tables]) if tables else schema_table
    rows = keep[kept]
    text = _line_strings(block, starts[rows], ends[rows]) if keep_text else None
    return Chunk(table, text, pa.array(numbers[rows]), rejects), len(ends)


def _parse_lines(path, block, starts, ends, numbers, options, read_options, whole_block):
    """Parse lines [starts, ends) of block; returns tables, indices of parsed lines, rejects.
    whole_block: the block holds just these lines (plus blank ones), so it is parsed as is."""
    tables: list[pa.Table] = []
    kept: list[np.ndarray] = []
    rejects: list[Reject] = []
    # an explicit stack keeps the bisection (and so the output) in file order
    stack = [(0, len(starts))]
    while stack:
        lo, hi = stack.pop()
        if lo == hi:
            continue
        try:
            if whole_block and hi - lo == len(starts):
                data = block
            else:
                data = b"\n".join(block[starts[i]:ends[i]] for i in range(lo, hi))
            table = pj.read_json(io.BytesIO(data), read_options=read_options,
                                 parse_options=options)
            if table.num_rows != hi - lo:
                raise pa.ArrowInvalid("a line holds more or less than one JSON object")
            tables.append(table)
            kept.append(np.arange(lo, hi))
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as error:
            if hi - lo == 1:
                rejects.append(Reject(str(path), int(numbers[lo]), _explain(error)))
            else:
                mid = (lo + hi) // 2
                stack += [(mid, hi), (lo, mid)]
    return tables, (np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)), rejects


def _line_strings(block: bytes, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The lines as a string array over the block's own bytes: each value spans its line and
    the newline after it (so the offsets are contiguous), which is then stripped."""
    if len(starts) == 0:
        return pa.array([], pa.large_string())
    if len(starts) > 1 and not np.array_equal(starts[1:], ends[:-1] + 1):
        # lines were dropped (blank or rejected): gather the kept ones into a fresh buffer
        block = b"\n".join(block[s:e] for s, e in zip(starts, ends, strict=True)) + b"\n"
        lengths = ends - starts + 1
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ends = starts + lengths - 1
    offsets = np.append(starts, min(ends[-1] + 1, len(block))).astype(np.int64)
    buffer = pa.py_buffer(block)
    array = pa.Array.from_buffers(pa.large_string(), len(starts),
                                  [None, pa.py_buffer(offsets), buffer])
    array.validate(full=True)
    return pc.utf8_rtrim(array, characters="\r\n")


_ID = re.compile(rb'"id"\s*:\s*"((?:[^"\\\x00-\x1f]|\\.){1,1000})"')


def _id_of(line: bytes) -> str | None:
    """The first "id": "..." string of a bad line, if it is itself valid."""
    match = _ID.search(line)
    if match is None:
        return None
    try:
        value = orjson.loads(b'"' + match.group(1) + b'"')
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def _explain(error: Exception) -> str:
    """pyarrow's message without its internal row counter, prefixed with what failed."""
    message = re.sub(r"\s*in row \d+\s*$", "", str(error).strip().splitlines()[0])
    message = message.replace("JSON parse error: ", "")
    if "changed from" in message:
        return f"wrong type: {message}"
    if message.startswith("Failed to convert"):
        return f"wrong value: {message}"
    return f"not a valid JSON object: {message}"
