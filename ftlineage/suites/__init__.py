"""Versioned eval suites: cases, rubric version, lock file, verification."""

from ftlineage.suites._suite import (
    BUNDLED_DIGESTS,
    PARTS,
    RETIRED_DIGESTS,
    PartSpec,
    Suite,
    SuiteLock,
    SuiteMeta,
    bundled_names,
    bundled_root,
    check_identity,
    compute_lock,
    load,
    read_meta,
    resolve,
    retired_hint,
    verify,
)

__all__ = [
    "BUNDLED_DIGESTS",
    "PARTS",
    "RETIRED_DIGESTS",
    "PartSpec",
    "Suite",
    "SuiteLock",
    "SuiteMeta",
    "bundled_names",
    "bundled_root",
    "check_identity",
    "compute_lock",
    "load",
    "read_meta",
    "resolve",
    "retired_hint",
    "verify",
]
