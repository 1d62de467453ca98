"""Matplotlib figures from run directories (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve(
    rows: list[dict[str, float]],
    path: Path,
    title: str,
    references: dict[str, float] | None = None,
) -> None:
    """Training episode return against env steps: one thin line per seed, the mean thick, and
    horizontal ``references`` (e.g. a baseline's evaluation mean)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    seeds = sorted({int(r.get("seed", 0)) for r in rows})
    curves = []
    for seed in seeds:
        mine = [r for r in rows if int(r.get("seed", 0)) == seed and "episode_return" in r]
        x = np.array([r["env_steps"] for r in mine])
        y = np.array([r["episode_return"] for r in mine])
        curves.append((x, y))
        if len(seeds) > 1:
            ax.plot(x, y, lw=0.8, alpha=0.4)
    if curves:
        x = curves[0][0]
        mean = np.mean([c[1] for c in curves if len(c[1]) == len(x)], axis=0)
        ax.plot(x, mean, lw=2, color="C0", label=f"training return (mean of {len(seeds)} seeds)")
    for i, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, ls="--", lw=1, color=f"C{i + 1}", label=f"{name}: {value:.1f}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
