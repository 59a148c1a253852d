"""Render checkpoint scores as a PNG: held-out and each drift family against step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ftlineage.training._callback import CheckpointScore


def plot_checkpoints(
    baseline: dict[str, float],
    checkpoints: Sequence[CheckpointScore],
    out: Path,
    *,
    fail_points: float,
    best_step: int | None = None,
) -> Path:
    """Write ``out`` (PNG). Step 0 is the base model; dotted lines mark each family's fail line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [0] + [c.step for c in checkpoints]
    series = [baseline] + [c.metrics for c in checkpoints]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    held = [k for k in baseline if k.startswith("heldout/") and k.count(".") < 2][:6]  # no per-field/label
    for key in held:
        left.plot(steps, [s.get(key, float("nan")) for s in series], marker="o", label=key)
    left.set(title="held-out task", xlabel="step (0 = base)", ylabel="score", ylim=(0, 1.02))
    families = sorted(k for k in baseline if k.startswith("drift/") and k != "drift/overall")
    for key in families:
        line = right.plot(steps, [s.get(key, float("nan")) for s in series], marker=".", label=key)
        floor = baseline[key] - fail_points / 100
        if floor > 0:
            right.axhline(floor, color=line[0].get_color(), linestyle=":", linewidth=1)
    right.set(
        title=f"frozen drift suite (dotted: {fail_points:g} points below base fails)",
        xlabel="step (0 = base)",
        ylim=(0, 1.02),
    )
    for ax in (left, right):
        if best_step is not None:
            ax.axvline(best_step, color="grey", linestyle="--", linewidth=1)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
