"""Versioned eval suites: cases, rubric version, lock file, verification."""

from ftlineage.suites._suite import (
    PARTS,
    Suite,
    SuiteLock,
    SuiteMeta,
    bundled_names,
    compute_lock,
    load,
    resolve,
    verify,
)

__all__ = [
    "PARTS",
    "Suite",
    "SuiteLock",
    "SuiteMeta",
    "bundled_names",
    "compute_lock",
    "load",
    "resolve",
    "verify",
]
