"""The monitor's operating characteristics on seeded simulated traffic (pure)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ftlineage.arena import RubricJudge
from ftlineage.canary._monitor import MonitorPolicy
from ftlineage.canary._replay import replay
from ftlineage.canary._router import Router
from ftlineage.canary._simulate import simulate_traffic
from ftlineage.tasks import Rubric


@dataclass(frozen=True)
class AlarmStudy:
    """False alarms under an equal challenger; detection delay under a degraded one."""

    runs: int
    false_alarms: int
    detected: int
    delay_requests: tuple[int, ...]
    delay_pairs: tuple[int, ...]

    @property
    def false_alarm_rate(self) -> float:
        """Share of equal-challenger runs that rolled back."""
        return self.false_alarms / self.runs

    def render(self) -> str:
        """Two lines for people."""
        lines = [
            f"equal challenger: {self.false_alarms}/{self.runs} runs rolled back "
            f"(false-alarm rate {self.false_alarm_rate:.1%})"
        ]
        if self.delay_pairs:
            pairs, reqs = statistics.median(self.delay_pairs), statistics.median(self.delay_requests)
            lines.append(
                f"degraded challenger: {self.detected}/{self.runs} rolled back; detection delay median "
                f"{pairs:.0f} pairs / {reqs:.0f} requests, max {max(self.delay_pairs)} pairs / "
                f"{max(self.delay_requests)} requests"
            )
        return "\n".join(lines)


def alarm_study(
    *,
    runs: int,
    requests: int,
    fault: float,
    base_fault: float,
    split: float,
    shadow: float,
    policy: MonitorPolicy | None = None,
    suite_name: str = "healthcare_v17",
) -> AlarmStudy:
    """Replay ``runs`` seeded equal and degraded scenarios through the router and monitor."""
    from ftlineage import suites

    suite = suites.load(suite_name)
    judge = RubricJudge(Rubric.for_suite(suite))
    false_alarms, delays_r, delays_p = 0, [], []
    for seed in range(runs):
        equal = simulate_traffic(
            suite, requests, seed=seed, champion_faults=base_fault, challenger_faults=base_fault
        )
        false_alarms += (
            replay(equal, Router(split, shadow, seed), judge, policy).rollback_at_request is not None
        )
        bad = simulate_traffic(
            suite, requests, seed=10_000 + seed, champion_faults=base_fault, challenger_faults=fault
        )
        result = replay(bad, Router(split, shadow, seed), judge, policy)
        if result.rollback_at_request is not None:
            delays_r.append(result.rollback_at_request)
            delays_p.append(result.rollback_at_pair or 0)
    return AlarmStudy(runs, false_alarms, len(delays_r), tuple(delays_r), tuple(delays_p))
