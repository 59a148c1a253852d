"""Run ``ftlineage promote RUN_ID`` and kill -9 the process inside registration (issue 37 tests).

Usage: ``python _kill_in_promote.py POINT RUN_ID``, POINT one of ``created`` (the version exists,
pending, unsigned), ``signed`` (signed, not aliased) or ``aliased`` (aliased, not marked done).
The process kills itself with SIGKILL: nothing is flushed or marked, as with ``kill -9``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ftlineage import tags as T
from ftlineage.tracking import MlflowRegistry


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(method: str, when: Any) -> None:
    original = getattr(MlflowRegistry, method)

    def wrapped(self: Any, *args: Any, **kw: Any) -> Any:
        result = original(self, *args, **kw)
        if when(*args):
            _die()
        return result

    setattr(MlflowRegistry, method, wrapped)


POINTS = {
    "created": ("create_version", lambda *a: True),
    "signed": ("set_version_tag", lambda *a: a[2] == T.DECISION_HMAC),
    "aliased": ("set_alias", lambda *a: True),
}

if __name__ == "__main__":
    point, run_id = sys.argv[1], sys.argv[2]
    _after(*POINTS[point])
    from ftlineage.cli import main

    sys.exit(main(["promote", run_id]))
