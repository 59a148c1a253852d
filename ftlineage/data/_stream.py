"""Stream a corpus in chunks: JSONL, Parquet or a saved Hugging Face dataset.

A corpus is cut into independent chunks (byte ranges of a JSONL file, row groups of a Parquet
file, row ranges of a dataset's Arrow files) that a worker reads on its own, so no process holds
the corpus. Records carry a locator (byte offset or row number) to fetch them again later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ftlineage.errors import CorpusError
from ftlineage.readers import chat_turns, flatten_turns, parse_json

REQUIRED = ("prompt", "completion")
OPTIONAL = ("id", "source", "label")
DEFAULT_MAX_ROW_BYTES = 1_000_000
CHUNK_BYTES = 4 << 20
ARROW_CHUNK_ROWS = 8192
Kind = Literal["jsonl", "parquet", "arrow"]


@dataclass(frozen=True)
class Chunk:
    """One unit of work: ``[start, end)`` bytes (jsonl), a row group (parquet) or rows (arrow)."""

    file: str
    kind: Kind
    start: int
    end: int
    first_line: int = 0


@dataclass(frozen=True)
class Record:
    """One record read from a chunk: a valid row, or the reason it is malformed."""

    where: str
    locator: int
    row: dict[str, Any] | None
    error: str | None


def _check_messages(raw: Any, file: Path, lineno: int) -> list[dict[str, str]]:
    """A conversation row's turns (OpenAI fine-tuning / TRL ``messages``), ending with an answer."""
    turns = chat_turns(raw, f"{file}:{lineno}", CorpusError)
    if turns[-1]["role"] != "assistant":
        raise CorpusError(
            f"{file}:{lineno}: the last of 'messages' is a {turns[-1]['role']!r} turn; a training "
            "conversation must end with the assistant's answer"
        )
    return turns


def _from_messages(row: dict[str, Any], file: Path, lineno: int) -> dict[str, Any]:
    """``prompt`` (every turn before the answer, as ``Role: content`` lines) and ``completion``.

    The audit scans and deduplicates these, so every turn is scanned and dedup and leakage
    see the whole conversation; training reads ``messages`` itself.
    """
    if "prompt" in row or "completion" in row:
        raise CorpusError(
            f"{file}:{lineno}: row has both 'messages' and 'prompt'/'completion'; keep one format per row"
        )
    turns = _check_messages(row["messages"], file, lineno)
    return {"prompt": flatten_turns(turns[:-1]), "completion": turns[-1]["content"], "messages": turns}


def check_row(row: Any, file: Path, lineno: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise CorpusError(
            f"{file}:{lineno}: row is {type(row).__name__}, expected a JSON object "
            "with 'prompt' and 'completion' (or 'messages')"
        )
    if "messages" in row:
        out = _from_messages(row, file, lineno)
    else:
        for key in REQUIRED:
            if key not in row:
                raise CorpusError(
                    f"{file}:{lineno}: row has no {key!r}; every row needs string fields "
                    f"'prompt' and 'completion', or a 'messages' list (got keys {sorted(row)})"
                )
            if not isinstance(row[key], str):
                raise CorpusError(
                    f"{file}:{lineno}: {key!r} must be a string but got {type(row[key]).__name__}"
                )
        out = {k: row[k] for k in REQUIRED}
    out["id"] = str(row["id"]) if "id" in row else f"{file.stem}-{lineno}"
    out["source"] = str(row["source"]) if "source" in row else file.stem
    if row.get("label") is not None:
        out["label"] = str(row["label"])
    return out


def corpus_files(path: Path) -> list[tuple[Path, Kind]]:
    """The data files behind a corpus path, with their format."""
    if path.is_dir():
        state = path / "state.json"
        if not state.is_file():
            raise CorpusError(
                f"{path}: a directory corpus must be a saved Hugging Face dataset "
                "(Dataset.save_to_disk) with a state.json; pass a .jsonl or .parquet file"
            )
        try:
            files = [path / f["filename"] for f in json.loads(state.read_text("utf-8"))["_data_files"]]
        except (ValueError, KeyError, TypeError):
            raise CorpusError(f"{state}: not a saved dataset's state.json; use save_to_disk") from None
        return [(f, "arrow") for f in files]
    if not path.is_file():
        raise CorpusError(f"{path}: corpus not found; pass a .jsonl or .parquet file or a saved dataset")
    if path.suffix == ".parquet":
        return [(path, "parquet")]
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return [(path, "jsonl")]
    raise CorpusError(
        f"{path}: unknown corpus format {path.suffix!r}; use .jsonl, .parquet or a saved "
        "Hugging Face dataset directory"
    )


def plan_chunks(paths: Sequence[Path], chunk_bytes: int = CHUNK_BYTES) -> list[Chunk]:
    """Cut the corpus into independent chunks, in corpus order."""
    import pyarrow as pa

    chunks: list[Chunk] = []
    for path in paths:
        for file, kind in corpus_files(Path(path)):
            try:
                chunks += _plan_file(file, kind, chunk_bytes)
            except (pa.ArrowException, OSError) as exc:
                first = " ".join(str(exc).split())[:200]
                raise CorpusError(f"{file}: not a readable {kind} file ({first}); write it again") from None
    return chunks


def _plan_file(file: Path, kind: Kind, chunk_bytes: int) -> list[Chunk]:
    if kind == "parquet":
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(file).num_row_groups
        return [Chunk(str(file), kind, g, g + 1) for g in range(groups)]
    if kind == "arrow":
        n = _arrow_table(str(file)).num_rows
        return [
            Chunk(str(file), kind, s, min(s + ARROW_CHUNK_ROWS, n)) for s in range(0, n, ARROW_CHUNK_ROWS)
        ]
    chunks: list[Chunk] = []
    with file.open("rb") as fh:
        start = lines = 0
        while block := fh.read(chunk_bytes):
            newlines = block.count(b"\n")
            if not block.endswith(b"\n"):  # finish the last line, in pieces
                while piece := fh.readline(1 << 20):
                    if piece.endswith(b"\n"):
                        newlines += 1
                        break
            end = fh.tell()
            chunks.append(Chunk(str(file), kind, start, end, first_line=lines))
            lines, start = lines + newlines, end
    return chunks


def _skip_line(fh: Any) -> int:
    """Read past the next newline in pieces (a 50 MB line is never held); return bytes skipped."""
    skipped = 0
    while True:
        piece = fh.readline(1 << 20)
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped


def _arrow_table(file: str) -> Any:
    import pyarrow as pa

    source = pa.memory_map(file)
    try:
        return pa.ipc.open_stream(source).read_all()
    except pa.ArrowInvalid:
        return pa.ipc.open_file(source).read_all()


def table_rows(path: Path) -> list[dict[str, Any]] | None:
    """Every row of a Parquet file or a saved HF dataset, as dicts; ``None`` for a JSONL file."""
    kinds = corpus_files(path)
    if all(kind == "jsonl" for _, kind in kinds):
        return None
    rows: list[dict[str, Any]] = []
    for file, kind in kinds:
        if kind == "parquet":
            import pyarrow.parquet as pq

            rows += pq.read_table(file).to_pylist()
        else:
            rows += _arrow_table(str(file)).to_pylist()
    return rows


def read_chunk(chunk: Chunk, max_row_bytes: int) -> Iterator[Record]:
    """Every record of ``chunk``; malformed ones carry a line-numbered reason instead of a row."""
    if chunk.kind == "jsonl":
        yield from _read_jsonl(chunk, max_row_bytes)
        return
    table = _chunk_table(chunk)
    first = _first_row(chunk)
    for i, obj in enumerate(table.to_pylist()):
        yield _validate(obj, Path(chunk.file), first + i + 1, first + i, "row")


def _chunk_table(chunk: Chunk) -> Any:
    if chunk.kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(chunk.file).read_row_group(chunk.start)
    return _arrow_table(chunk.file).slice(chunk.start, chunk.end - chunk.start)


def _first_row(chunk: Chunk) -> int:
    if chunk.kind == "parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(chunk.file).metadata
        return sum(meta.row_group(g).num_rows for g in range(chunk.start))
    return chunk.start


def _validate(obj: Any, file: Path, number: int, locator: int, unit: str) -> Record:
    where = f"{file}:{number}" if unit == "line" else f"{file} row {number}"
    try:
        return Record(where, locator, check_row(obj, file, number), None)
    except CorpusError as exc:
        return Record(where, locator, None, str(exc).replace(f"{file}:{number}", where))


def _read_jsonl(chunk: Chunk, max_row_bytes: int) -> Iterator[Record]:
    file = Path(chunk.file)
    lineno = chunk.first_line
    with file.open("rb") as fh:
        fh.seek(chunk.start)
        pos = chunk.start
        while pos < chunk.end:
            line = fh.readline(max_row_bytes + 1)
            start, lineno = pos, lineno + 1
            pos += len(line)
            if len(line) > max_row_bytes and not line.endswith(b"\n"):
                pos += _skip_line(fh)
                yield Record(
                    f"{file}:{lineno}",
                    start,
                    None,
                    f"{file}:{lineno}: row is over {max_row_bytes:,} bytes ({pos - start:,}); split "
                    "it or raise the audit's max_row_bytes",
                )
                continue
            if not line.strip():
                continue
            yield _parse_line(line, file, lineno, start)


def _parse_line(line: bytes, file: Path, lineno: int, start: int) -> Record:
    try:
        obj = parse_json(line)
    except ValueError as exc:  # also a lone surrogate or a 100,000-digit number: unusable as text
        return Record(
            f"{file}:{lineno}",
            start,
            None,
            f"{file}:{lineno}: invalid JSON ({exc}); each line must be one JSON object",
        )
    return _validate(obj, file, lineno, start, "line")


def fetch_rows(
    chunks: Sequence[Chunk], wanted: dict[int, list[int]], max_row_bytes: int
) -> dict[tuple[int, int], dict[str, Any]]:
    """Rows by ``(chunk index, locator)``; ``wanted`` maps a chunk index to locators."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for ci, locators in wanted.items():
        chunk = chunks[ci]
        if chunk.kind == "jsonl":
            with open(chunk.file, "rb") as fh:
                for loc in sorted(set(locators)):
                    fh.seek(loc)
                    rec = _parse_line(fh.readline(max_row_bytes + 1), Path(chunk.file), 0, loc)
                    if rec.row is not None:
                        out[(ci, loc)] = rec.row
            continue
        want = set(locators)
        for rec in read_chunk(chunk, max_row_bytes):
            if rec.locator in want and rec.row is not None:
                out[(ci, rec.locator)] = rec.row
    return out
