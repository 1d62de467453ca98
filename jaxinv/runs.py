"""Run directories: what a ``jaxinv`` command leaves behind, and how it is read back.

A run directory holds ``config.json`` (the resolved env and algorithm config), ``metrics.csv``
(one row per logged chunk of updates), ``checkpoint.msgpack`` (the learned parameters, flax
serialization, never pickle), ``summary.json`` (the contract in ARCHITECTURE.md: command, env, algo
or policy, config, eval, total_steps, wall_s, compile_s; a learner's run has exactly
``RUN_SUMMARY_KEYS``) and figures. Writes go to a
temporary file first and are renamed into place, so an interrupted write never leaves a
half-written file under the real name.

A training run also keeps its whole training state (every seed, every leaf: weights, optimizer
state, RNG keys, replay buffer, observation statistics) and its progress in ``state.msgpack``,
so ``jaxinv train --resume`` can continue it exactly. Each new state is written complete to
``state.msgpack.tmp`` first; only then does the old state become ``state.prev.msgpack`` and the
new one ``state.msgpack``. A state file is framed by a magic line and a SHA-256 of its body, so
a truncated or damaged file is recognised, and ``read_state`` falls back to the previous one.
A finished run keeps its final state only (about 33 MB per seed for DQN's default replay buffer
on InvManagement, 10 MB on the retail store, 0.5 MB for PPO).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "config.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.msgpack"
SUMMARY = "summary.json"
STATE = "state.msgpack"  # the newest complete training state (``jaxinv train --resume``)
STATE_PREV = "state.prev.msgpack"  # the one before it, kept until the newest is in place
STATE_MAGIC = b"jaxinv training state v1\n"

# The summary.json of a learner's run directory, whichever command wrote it (``jaxinv train``,
# ``compare``'s learners, each configuration ``runs/c<i>`` of a ``sweep``): exactly these keys,
# in this order (``training.run_summary`` builds it). It holds the comparison contract (command,
# env, algo, config, eval{episodes, mean, std, ci95}, total_steps, wall_s, compile_s).
RUN_SUMMARY_KEYS = (
    "command",  # "train", "compare" or "sweep": the command that trained it
    "env",  # env id
    "algo",  # "ppo", "a2c", "dqn"
    "config",  # the learner's whole config (every field of its config dataclass)
    "env_config",  # the "env." overrides given to jaxinv.make
    "seeds",  # independent agents (seed s starts from split(PRNGKey(seed), seeds)[s])
    "devices",  # devices it trained on
    "eval",  # every seed's episodes pooled: episodes, mean, std, ci95 [lo, hi] (+ across_seeds
    #          {episodes, mean, std, ci95} of the seed means when seeds > 1)
    "eval_per_seed",  # one {episodes, mean, std, ci95} per seed
    "total_steps",  # env steps per seed
    "steps_per_s",  # env steps per second of training, all runs trained together
    "train_s",  # training alone: no compilation, init, checkpoints or evaluation
    "compile_s",  # compiling and initialising
    "wall_s",  # the whole command for this run, evaluation included
    "checkpoint_s",  # writing training states
    "resumed_at",  # updates done where each resume began (times add up over resumes)
    "eval_crn",  # the name of the evaluation's common random numbers (pairs runs up)
    "machine",  # runs.machine()
)
# In a sweep's run directory train_s, compile_s, wall_s and steps_per_s are those of the group
# of configurations it trained with (one compilation, trained as one batch); checkpoint_s is 0
# and resumed_at empty (sweeps do not save training states).


def prepare(out: str | Path) -> Path:
    """Create the run directory ``out`` (parents too); fine if it exists."""
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_state(run_dir: Path, body: bytes) -> Path:
    """Store ``body`` (a serialized training state) as ``run_dir/state.msgpack``, keeping the
    state it replaces as ``state.prev.msgpack``; returns the path written.

    The framed body goes to ``state.msgpack.tmp`` (synced) first, so a crash at any point
    leaves at least one complete state file: the old one, or both.
    """
    path = run_dir / STATE
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(STATE_MAGIC)
        f.write(hashlib.sha256(body).digest())
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    if path.exists():
        os.replace(path, run_dir / STATE_PREV)
    os.replace(tmp, path)
    _sync_dir(run_dir)
    return path


def _sync_dir(run_dir: Path) -> None:
    """Make the renames in ``run_dir`` durable where the OS allows it."""
    try:
        fd = os.open(run_dir, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _state_body(path: Path) -> bytes:
    """The body of the state file ``path``; ``ValueError`` naming the file if it is not a
    complete training state, ``FileNotFoundError`` if it is missing."""
    data = path.read_bytes()
    if not data.startswith(STATE_MAGIC):
        raise ValueError(f"{path} is not a jaxinv training state (no {STATE_MAGIC[:-1]!r} header)")
    digest_end = len(STATE_MAGIC) + hashlib.sha256().digest_size
    digest, body = data[len(STATE_MAGIC) : digest_end], data[digest_end:]
    if len(data) < digest_end or hashlib.sha256(body).digest() != digest:
        raise ValueError(
            f"{path} is truncated or corrupt ({len(data)} bytes; its checksum does not match)"
        )
    return body


def read_state(run_dir: Path) -> tuple[Path, bytes]:
    """The newest complete training state in ``run_dir``: ``(file, body)``.

    Falls back to ``state.prev.msgpack`` (with a note on stderr) when ``state.msgpack`` is
    missing, truncated or corrupt; ``ValueError`` naming both files when neither is complete,
    ``FileNotFoundError`` when the directory holds no state at all.
    """
    newest, previous = run_dir / STATE, run_dir / STATE_PREV
    if not newest.exists() and not previous.exists():
        raise FileNotFoundError(
            f"{newest} not found: {run_dir} holds no training state to resume from"
        )
    problems = []
    for path in (newest, previous):
        try:
            body = _state_body(path)
        except FileNotFoundError:
            problems.append(f"{path} not found")
            continue
        except ValueError as error:
            problems.append(str(error))
            continue
        if problems:
            print(f"note: {problems[0]}; using {path} instead", file=sys.stderr)
        return path, body
    raise ValueError("no complete training state to resume from: " + "; ".join(problems))


def remove_state(run_dir: Path) -> None:
    """Delete ``run_dir``'s training-state files (a fresh run must not resume an old one)."""
    for name in (STATE, STATE_PREV, STATE + ".tmp"):
        (run_dir / name).unlink(missing_ok=True)


def jsonable(value: Any) -> Any:
    """Plain JSON types from numpy/JAX scalars, arrays, tuples and dataclass-like configs."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: is this a jaxinv run directory?") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None


def write_metrics(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """All logged rows as CSV, columns in first-seen order."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
    os.replace(tmp, path)


def _csv_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return value


def read_metrics(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def machine() -> dict[str, Any]:
    """Where and when a figure was measured: CPU model, cores, Python, JAX and its backend,
    the date (UTC)."""
    import datetime

    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.local_devices()],
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
    }
