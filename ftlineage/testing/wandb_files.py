"""Read a W&B offline run file (``run-<id>.wandb``) back: history, summary and config.

The file is W&B's LevelDB-style log: a 7-byte header (``:W&B``, magic, version), then
32 KiB blocks of chunks (CRC32, length, type FULL/FIRST/MIDDLE/LAST) that carry
serialized ``Record`` protobufs. wandb's own Python reader was removed when its core
moved to Go; this one is enough to check what an offline run recorded.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _records(data: bytes) -> list[bytes]:
    if data[:4] != b":W&B":
        raise ValueError("not a W&B run file (bad header)")
    out, parts, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            parts = chunk
        elif kind == MIDDLE:
            parts += chunk
        elif kind == LAST:
            out.append(parts + chunk)
        elif kind == 0 and length == 0:
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0
    return out


@dataclass
class OfflineRun:
    """What an offline run recorded."""

    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def _complete_records(path: Path, wait_s: float) -> list[Any]:
    """The file's records once its ``exit`` record is written; after ``wait_s``, whatever is there.

    wandb-core may still be writing when ``finish`` returns on a loaded machine.
    """
    import time

    from wandb.proto import wandb_internal_pb2 as pb

    deadline = time.monotonic() + wait_s
    while True:
        records = []
        for raw in _records(path.read_bytes()):
            rec = pb.Record()  # type: ignore[attr-defined]
            rec.ParseFromString(raw)
            records.append(rec)
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def read_offline_run(path: str | Path, *, wait_s: float = 20.0) -> OfflineRun:
    """Parse ``run-<id>.wandb`` (or the offline run folder holding it), waiting for it to be complete."""
    path = Path(path)
    if path.is_dir():
        path = next(path.glob("run-*.wandb"))
    run = OfflineRun()
    for rec in _complete_records(path, wait_s):
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            run.summary.update({_key(i): json.loads(i.value_json) for i in rec.summary.update})
        elif kind in ("config", "run"):
            updates = rec.config.update if kind == "config" else rec.run.config.update
            for i in updates:
                value = json.loads(i.value_json)
                run.config[_key(i)] = value.get("value", value) if isinstance(value, dict) else value
    return run
