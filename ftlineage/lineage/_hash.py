"""Canonical SHA-256 digests over whole contents.

Every digest hashes a domain tag and a canonicalization version *inside* the hashed
bytes, so a change of canonical form can never collide with an old digest. Nothing is
sampled or truncated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CANON_VERSION = 1


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` to canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _hasher(domain: str) -> Any:
    h = hashlib.sha256()
    h.update(f"ftlineage:{domain}:v{CANON_VERSION}\n".encode())
    return h


def sha256_json(value: Any, *, domain: str = "json") -> str:
    """Digest of a JSON-able value in canonical form."""
    h = _hasher(domain)
    h.update(canonical_json(value))
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Plain SHA-256 of raw bytes (used for file locks: what ``sha256sum`` prints)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Plain SHA-256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_files(paths: Iterable[Path], *, domain: str = "files") -> str:
    """Digest of several files' bytes, in order, each prefixed by its size (streamed)."""
    h = _hasher(domain)
    for path in paths:
        h.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - consumed at once
                h.update(block)
    return h.hexdigest()


def sha256_rows(rows: Iterable[Mapping[str, Any]], *, domain: str = "rows") -> str:
    """Digest of an ordered sequence of rows; each row is canonical JSON, length-prefixed."""
    h = _hasher(domain)
    for row in rows:
        data = canonical_json(dict(row))
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def sha256_prompt(template: str) -> str:
    """Digest of a prompt template."""
    return sha256_json({"template": template}, domain="prompt")


def sha256_tree(root: Path, *, suffixes: tuple[str, ...] = (".py",)) -> str:
    """Digest of every file under ``root`` with a given suffix: sorted relative paths and bytes."""
    h = _hasher("tree")
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        h.update(len(rel).to_bytes(8, "big") + rel)
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def sha256_content(root: Path) -> str:
    """Digest of a served artifact folder: every file (any suffix), sorted relative paths and bytes.

    This is what evidence binds a registered model version to: the guard recomputes it from the
    artifact store, the promoting client from the files it logged, and both must agree.
    A single file is hashed as a folder holding that file under its name.
    """
    h = _hasher("content")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    base = root.parent if root.is_file() else root
    for path in sorted(files, key=lambda p: p.relative_to(base).as_posix()):
        rel = path.relative_to(base).as_posix().encode()
        h.update(len(rel).to_bytes(8, "big") + rel)
        h.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - consumed at once
                h.update(block)
    return h.hexdigest()


def sha256_prompt_content(tags: Mapping[str, str]) -> str:
    """Digest of what a registered prompt version serves: its text, type, response format, config.

    ``tags`` are the version's tags as the registry stores them; only the keys that change what
    ``load_prompt`` returns are hashed (absent keys hash as absent, not as empty).
    """
    served = {k: str(tags[k]) for k in sorted(PROMPT_CONTENT_TAGS) if k in tags}
    return sha256_json(served, domain="prompt-content")


PROMPT_CONTENT_TAGS = frozenset(
    {
        "mlflow.prompt.text",
        "_mlflow_prompt_type",
        "_mlflow_prompt_response_format",
        "_mlflow_prompt_model_config",
    }
)


def sha256_state_dict(state: Mapping[str, Any]) -> str:
    """Digest of model weights: sorted names, dtype, shape and raw tensor bytes.

    Independent of the file format the weights were saved in.
    """
    h = _hasher("weights")
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        header = f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode()
        h.update(len(header).to_bytes(8, "big") + header)
        raw = tensor.view(-1).view(_byte_dtype()).numpy().tobytes() if tensor.numel() else b""
        h.update(len(raw).to_bytes(8, "big") + raw)
    return h.hexdigest()


def _byte_dtype() -> Any:
    import torch

    return torch.uint8
