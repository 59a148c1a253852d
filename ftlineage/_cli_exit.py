"""How the command line ends: one line on stderr per error, and the exit code its kind maps to.

:func:`ftlineage.cli.main` routes every exception here. Our own errors and usage mistakes carry
their message; a few foreign ones are bad input too (an MLflow lookup of a name or run id that
does not exist); anything else is a bug: one line naming the exception and a file holding the
traceback, exit 1. A traceback is never printed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from ftlineage.readers import shown

_SURROGATE = re.compile("[\ud800-\udfff]")
# MLflow's codes for a lookup of something that is not there, or a value it refuses.
MLFLOW_BAD_INPUT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def say(line: str) -> None:
    """Write ``line`` to stderr as one line, whatever it holds (newlines, lone surrogates)."""
    text = " ".join(str(line).split())
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace") + "\n")
    sys.stderr.flush()


def bad_argument(argv: Sequence[str]) -> str | None:
    """The usage error for an argument that is not text (undecodable bytes), else ``None``.

    Python hands such bytes over as lone surrogates, which no file, hash or request can hold.
    """
    for i, arg in enumerate(argv, start=1):
        if _SURROGATE.search(arg):
            return (
                f"ftlineage: usage error: argument {i} ({shown(arg)}) is not valid UTF-8; "
                "pass it as UTF-8 text (see 'ftlineage --help')"
            )
    return None


def mlflow_bad_input(exc: BaseException) -> str | None:
    """The one-line error for an MLflow refusal of a user's value or name, else ``None``."""
    module = sys.modules.get("mlflow.exceptions")
    if module is None or not isinstance(exc, module.MlflowException):
        return None
    if getattr(exc, "error_code", None) not in MLFLOW_BAD_INPUT:
        return None
    message = str(getattr(exc, "message", exc)).splitlines()[0] if str(exc) else type(exc).__name__
    return f"ftlineage: error: {message[:300]}; check the name or run id (`ftlineage status` lists models)"


def crash_line(exc: BaseException) -> str:
    """The one line for a bug: the exception, and where its traceback was saved for a report."""
    where = _save_traceback(exc)
    saved = f" with the traceback in {where}" if where else ""
    return (
        f"ftlineage: internal error (a bug, please report it{saved}): "
        f"{type(exc).__name__}: {shown(str(exc), 300)}"
    )


def _save_traceback(exc: BaseException) -> Path | None:
    try:
        fd, name = tempfile.mkstemp(prefix="ftlineage-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return None
    return Path(name)
