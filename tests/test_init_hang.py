"""The vmapped-init hang (issue 17, item 6): on the CPU backend (JAX 0.10.2) ``jit(vmap(init))``
of 16 or more PPO training states never returns (``scripts/repro_init_hang.py`` reproduces
it). jaxinv initialises runs one after another (``training.make_init``: ``lax.map``) and then
places them over the devices; this checks that path finishes, in a subprocess under a
timeout, so a regression fails here instead of hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sequential_init_then_placement_over_two_devices_finishes():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "repro_init_hang.py"), "sequential_then_placed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,  # 5-25 s here; the vmapped init it replaces never returns
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sequential_then_placed: ok, 2 devices" in done.stdout
