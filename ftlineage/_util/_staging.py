"""Outputs that appear whole or not at all: a command that fails leaves no partial files behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _existing_ancestor(path: Path) -> Path:
    """``path``'s nearest folder that exists (the current folder at worst)."""
    for folder in path.absolute().parents:
        if folder.is_dir():
            return folder
    return Path.cwd()


def _move_into(src: Path, dest: Path) -> None:
    """Move every entry of ``src`` into ``dest``, replacing files of the same name."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        target = dest / item.name
        if item.is_dir() and target.is_dir():
            _move_into(item, target)
        else:
            os.replace(item, target)


@contextmanager
def staged_folder(dest: Path) -> Iterator[Path]:
    """A fresh folder for ``dest``'s files; they reach ``dest`` only when the block succeeds.

    The staging folder is a hidden sibling (on the same file system, so the final moves are
    renames). On an error it is removed and ``dest`` is left as it was; ``dest`` and its missing
    parents are created only on success. Files already in ``dest`` under other names are kept.
    """
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name or 'out'}.partial-", dir=_existing_ancestor(dest)))
    try:
        yield stage
        _move_into(stage, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
