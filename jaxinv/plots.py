"""Matplotlib figures from run directories (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        label = "training return" + (
            f" ({len(seeds)} seeds: each thin, mean thick)" if len(seeds) > 1 else ""
        )
        ax.plot(x, mean, lw=2, color="C0", label=label)
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


FEW_SEEDS = 5  # below this, seeds are drawn one by one: a 95% t-band of 2 is mostly t (12.7)


def seed_label(label: str, seeds: int) -> str:
    """The legend entry of a learner drawn from ``seeds`` seeds, saying how it is drawn."""
    if seeds < 2:
        return f"{label} (1 seed)"
    if seeds < FEW_SEEDS:
        return f"{label} ({seeds} seeds: each thin, mean thick)"
    return f"{label} ({seeds} seeds: mean, 95% band)"


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 and the t 95% interval of that mean (no band for one row)."""
    from scipy import stats

    mean = values.mean(axis=0)
    n = values.shape[0]
    if n < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def seed_curves(rows: list[dict[str, float]], x_key: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (chunks,) and training episode return (seeds, chunks) from a run's metrics rows;
    chunks where some seed finished no episode are dropped."""
    seeds = sorted({int(r.get("seed", 0)) for r in rows})
    updates = sorted({int(r["update"]) for r in rows})
    table = {(int(r.get("seed", 0)), int(r["update"])): r for r in rows}
    keep = [u for u in updates if all("episode_return" in table.get((s, u), {}) for s in seeds)]
    x = np.array([np.mean([table[(s, u)][x_key] for s in seeds]) for u in keep])
    y = np.array([[table[(s, u)]["episode_return"] for u in keep] for s in seeds])
    return x, y.reshape(len(seeds), len(keep))


def focus_limits(
    levels: list[float], lows: list[float], highs: list[float]
) -> tuple[float, float] | None:
    """y-limits that show where the policies end up rather than where training started.

    ``levels`` are the values that matter (final training returns, baseline lines); the
    window reaches one span of them below the lowest and half a span above the highest.
    ``None`` when the curves' bands (``lows``, ``highs``) already fit in that window.
    """
    finite = [v for v in levels if np.isfinite(v)]
    if not finite:
        return None
    bottom, top = min(finite), max(finite)
    span = max(top - bottom, 0.05 * max(abs(top), abs(bottom)), 1e-9)
    window = (bottom - span, top + 0.5 * span)
    if min(lows, default=window[0]) >= window[0] and max(highs, default=window[1]) <= window[1]:
        return None
    return window


def compare_curves(
    learners: dict[str, list[dict[str, float]]],
    references: dict[str, float],
    path: Path,
    title: str,
) -> list[str]:
    """Two panels: each learner's training return against env steps and against wall-clock
    seconds of training, the mean over seeds with, from ``FEW_SEEDS`` seeds on, its 95% band,
    and below that each seed's own curve (thin); ``references`` as dashed horizontal lines.
    Returns the legend's entries."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True)
    finals, lows, highs = [], [], []
    for ax, x_key, xlabel in (
        (axes[0], "env_steps", "env steps per seed"),
        (axes[1], "wall_s", "training wall-clock seconds (all seeds at once)"),
    ):
        for i, (label, rows) in enumerate(learners.items()):
            x, y = seed_curves(rows, x_key)
            if not len(x):
                continue
            mean, lo, hi = _band(y)
            if y.shape[0] < FEW_SEEDS:
                for curve in y if y.shape[0] > 1 else ():
                    ax.plot(x, curve, lw=0.7, alpha=0.45, color=f"C{i}")
                lo, hi = y.min(axis=0), y.max(axis=0)
            else:
                ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
            ax.plot(x, mean, lw=1.8, color=f"C{i}", label=seed_label(label, y.shape[0]))
            finals.append(float(mean[-1]))
            lows.append(float(np.min(lo)))
            highs.append(float(np.max(hi)))
        for j, (name, value) in enumerate(references.items()):
            style = ("--", ":", "-.")[j % 3]
            ax.axhline(value, ls=style, lw=1, color="0.3", label=f"{name}: {value:,.1f}")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    limits = focus_limits([*finals, *references.values()], lows, highs)
    if limits is not None:
        axes[0].set_ylim(*limits)
        axes[0].text(
            0.01,
            0.01,
            f"axis cut to {limits[0]:,.0f} .. {limits[1]:,.0f}; early training lies outside",
            transform=axes[0].transAxes,
            fontsize=7,
            color="0.35",
        )
    axes[0].set_ylabel("training episode return")
    legend = axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [text.get_text() for text in legend.get_texts()]


def test_year(
    trajectories: dict[str, dict[str, Any]], path: Path, title: str, days: int = 56
) -> None:
    """Stock on the shelf (end of day) and orders placed over the first ``days`` days of one
    year, one colour per policy; each policy's profit for the whole year in the legend.
    ``trajectories[name]`` holds ``stock`` and ``order`` (days,) and ``profit``; a year shorter
    than ``days`` is drawn whole."""
    days = min(days, *(len(run["stock"]) for run in trajectories.values()))
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    n = len(trajectories)
    width = 0.84 / max(n, 1)
    day = np.arange(1, days + 1)
    for i, (name, run) in enumerate(trajectories.items()):
        label = f"{name}: {run['profit']:,.0f} for the year"
        top.step(day, run["stock"][:days], where="post", color=f"C{i}", label=label)
        offset = (i - (n - 1) / 2) * width
        bottom.bar(day + offset, run["order"][:days], width, color=f"C{i}")
    top.set_ylabel("cases on the shelf (end of day)")
    top.legend(fontsize=8)
    top.set_title(f"{title}: first {days} days")
    bottom.set_ylabel("cases ordered")
    bottom.set_xlabel("day (day 1 = Monday)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
