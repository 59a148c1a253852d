"""Replay recorded traffic through the same router and monitor: fast, deterministic, what-if.

A traffic record is one JSON object per line::

    {"key": "user-17", "prompt": "...", "champion": "<answer>", "challenger": "<answer>"}

``champion``/``challenger`` may be ``null`` (that arm errored or timed out). The router
decides who answers and which requests become shadow pairs exactly as the live service
does; a challenger with no answer falls back to the champion; a rollback sends every
later request to the champion.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftlineage import readers as userfile
from ftlineage.arena import Judge
from ftlineage.canary._judging import judge_pair
from ftlineage.canary._monitor import Monitor, MonitorPolicy, MonitorStatus
from ftlineage.canary._router import Router
from ftlineage.errors import BadInputError


class ReplayResult(BaseModel):
    """What the canary would have done on this traffic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    requests: int
    served: dict[str, int]
    fallbacks: int
    pairs: int
    rollback_at_request: int | None
    rollback_at_pair: int | None
    alarm: str | None
    status: MonitorStatus


def read_traffic(path: Path) -> list[dict[str, Any]]:
    """Parse a traffic file; a bad line is a one-line error naming the file, line and fix."""
    records = []
    text = userfile.read_text(path, "traffic file", limit=None)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = userfile.parse_json(line)
        except ValueError as exc:  # also nested too deeply, a lone surrogate, a 100,000-digit number
            raise BadInputError(f"{path}:{n}: not JSON ({exc}); write one object per line") from None
        if (
            not isinstance(rec, dict)
            or not isinstance(rec.get("key"), str)
            or not isinstance(rec.get("prompt"), str)
        ):
            raise BadInputError(
                f"{path}:{n}: a record needs string fields 'key' and 'prompt' "
                "(and 'champion'/'challenger' answers or null)"
            )
        records.append(rec)
    if not records:
        raise BadInputError(f"{path}: no traffic records")
    return records


def replay(
    records: Iterable[dict[str, Any]], router: Router, judge: Judge, policy: MonitorPolicy | None = None
) -> ReplayResult:
    """Run the router and monitor over ``records`` in order."""
    monitor = Monitor(policy)
    served = {"champion": 0, "challenger": 0}
    fallbacks = requests = 0
    rollback_req = rollback_pair = None
    alarm = None
    for requests, rec in enumerate(records, 1):
        route = router.route(rec["key"])
        arm = route.arm
        if arm == "challenger" and rec.get("challenger") is None:
            arm, fallbacks = "champion", fallbacks + 1
        served[arm] += 1
        if not route.shadow:
            continue
        status = monitor.observe(
            judge_pair(
                judge, rec["key"], rec["prompt"], rec.get("champion"), rec.get("challenger"), seed=router.seed
            )
        )
        alarm = status.alarm or alarm
        if status.rollback and rollback_req is None:
            rollback_req, rollback_pair = requests, status.pairs
            router.split = 0.0  # traffic leaves the challenger at once
    return ReplayResult(
        requests=requests,
        served=served,
        fallbacks=fallbacks,
        pairs=monitor.status.pairs,
        rollback_at_request=rollback_req,
        rollback_at_pair=rollback_pair,
        alarm=alarm,
        status=monitor.status,
    )
