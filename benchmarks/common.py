"""What the benchmark scripts share: timing a compiled call, and writing a results file.

Run the scripts from the repository root (``python benchmarks/NAME.py``); Python then finds
this module beside them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jax

from jaxinv import runs

RESULTS = Path(__file__).parent / "results"
LOAD_NOTE = "CPU shared with other work while measured unless the load averages are ~0"


def best_of(compiled: Any, state: Any, repeats: int) -> tuple[Any, float]:
    """Call ``compiled(state) -> (state, metrics)`` once to warm up, then ``repeats`` times,
    each on the state the last call left; returns that state and the fastest call's wall
    seconds."""
    state, _ = jax.block_until_ready(compiled(state))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        state, _ = jax.block_until_ready(compiled(state))
        best = min(best, time.perf_counter() - start)
    return state, best


def write_results(name: str, body: dict[str, Any], load_before: tuple[float, ...]) -> Path:
    """``results/<name>.json``: ``body`` with the machine's load averages before and after the
    measurement (figures taken while other work shared the CPU are noisy) and the machine."""
    report = {
        **body,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "note": LOAD_NOTE,
        "machine": runs.machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    runs.write_json(path, report)
    return path
