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

Guarding a directory (what the command line does with ``--out``): ``find_run`` says which
jaxinv run a directory holds (its summary.json, config.json or training state), and ``lock``
/ ``locked`` let one process at a time write it (``.jaxinv.lock``: an flock, so a crashed
process leaves no stuck lock, and the pid and host of its holder for the message).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import platform
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaxinv import faults

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
        f.write(body[: len(body) // 2])
        f.flush()
        faults.kill_point("state-write")  # the fault tests' crash mid-write (jaxinv.faults)
        f.write(body[len(body) // 2 :])
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


# -- what a directory holds, and who is writing it ----------------------------------------------

LOCK = ".jaxinv.lock"  # held (flock) by the process writing the directory; holds its pid, host
COMMANDS = ("train", "baseline", "compare", "sweep")


@dataclass(frozen=True)
class Found:
    """A jaxinv run found in a directory: the command that wrote it, whether it finished, a
    few words on it (``what``); ``state``: it holds a training state; ``resumable``: its
    command can continue it (``--resume``: a training run with a state, a comparison, a
    sweep)."""

    command: str
    finished: bool
    what: str
    state: bool
    resumable: bool


def _jaxinv_json(path: Path) -> dict[str, Any] | None:
    """``path`` as a dict if it is a JSON file a jaxinv command wrote, else None."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "env" not in data:
        return None
    if data.get("command") in COMMANDS or "configurations" in data:
        return data
    return None


def _words(data: dict[str, Any]) -> str:
    """``ppo on InvManagement-v1, 4 seeds`` from a summary.json or config.json."""
    name = data.get("algo") or data.get("policy") or data.get("algos")
    if isinstance(name, dict):
        name = ",".join(name)
    words = f"{name} on {data['env']}" if name else str(data["env"])
    if isinstance(data.get("seeds"), int):
        words += f", {data['seeds']} seed{'s' if data['seeds'] != 1 else ''}"
    steps = data.get("total_steps") or (data.get("config") or {}).get("total_steps")
    if isinstance(steps, int) and steps > 0:
        words += f", {steps:,} env steps"
    return words


def find_run(path: str | Path) -> Found | None:
    """The jaxinv run in directory ``path`` (its own summary.json, config.json or training
    state; not those of its subdirectories), or None if it holds none or does not exist."""
    path = Path(path)
    state = any((path / name).exists() for name in (STATE, STATE_PREV))
    config = _jaxinv_json(path / CONFIG)
    whole = config is not None and (  # a comparison's or a sweep's own config.json
        (config.get("command") == "compare" and "algos" in config) or "configurations" in config
    )
    summary = _jaxinv_json(path / SUMMARY)
    if summary is not None:
        command = summary.get("command", "sweep")
        what = f"a finished jaxinv {command} run ({_words(summary)})"
        return Found(command, True, what, state, whole or (command == "train" and state))
    if config is not None:
        command = config.get("command", "sweep")
        saved = "; its training state is saved" if state else "; no training state saved yet"
        if command != "train":
            saved = ""
        what = f"an unfinished jaxinv {command} run ({_words(config)}{saved})"
        return Found(command, False, what, state, whole or (command == "train" and state))
    if state:
        return Found("train", False, "a jaxinv training state (state.msgpack)", True, True)
    return None


def entries(path: str | Path) -> list[str]:
    """The names in directory ``path`` (sorted), leaving out the lock; [] if it is missing."""
    try:
        return sorted(p.name for p in Path(path).iterdir() if p.name != LOCK)
    except FileNotFoundError:
        return []


def clear(path: str | Path) -> None:
    """Delete everything in directory ``path`` but its lock (``--overwrite`` of a run)."""
    for name in entries(path):
        entry = Path(path) / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


class Locked(Exception):
    """Another live process holds the directory's lock (the message names it)."""


@dataclass
class Lock:
    """A held directory lock: release it with ``unlock`` (``locked`` does)."""

    path: Path
    fd: int
    made_dir: bool  # the directory was created for it: removed again if left empty


def _holder_words(text: str) -> tuple[str, int | None, str | None]:
    """``(words, pid, host)`` of a lock file's JSON text (``pid 123 on host h, jaxinv train
    since ...``); pid and host None where unreadable."""
    try:
        holder = json.loads(text)
        pid, host = int(holder["pid"]), str(holder["host"])
    except (ValueError, KeyError, TypeError):
        return "an unknown process (the lock file is unreadable)", None, None
    command, since = holder.get("command", "?"), holder.get("since", "?")
    return f"pid {pid} on host {host} (jaxinv {command}, since {since})", pid, host


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` runs on this host (or exists and is not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_flock(fd: int) -> bool | None:
    """Take the exclusive lock on ``fd`` without waiting: True if taken, False if another
    open file holds it, None where this file system has no such locks."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # e.g. ENOLCK on some network file systems
        return None
    return True


def lock(run_dir: str | Path, command: str) -> Lock:
    """Take ``run_dir``'s lock (creating the directory if needed) for this process.

    ``run_dir/.jaxinv.lock`` holds this process's pid and host while it writes. The lock is
    an ``flock`` on that file, which the OS drops when the process dies however it dies, so a
    crashed run never leaves it stuck: the file it leaves names a dead pid and is taken over.
    Where the file system has no flock, a lock file naming a live pid on this host (or any
    pid on another host) holds. ``Locked`` names the holder otherwise.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"{run_dir} is a file, not a directory")
    made_dir = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        taken = _try_flock(fd)
        previous = os.read(fd, 4096).decode(errors="replace")
        words, pid, host = _holder_words(previous)
        if taken is False or (
            taken is None
            and previous
            and (pid is None or host != platform.node() or (pid_alive(pid) and pid != os.getpid()))
        ):
            os.close(fd)
            if made_dir:
                _remove_if_empty(run_dir)
            raise Locked(
                f"{run_dir} is being written by {words}: one process at a time. Wait for it, "
                f"or choose another directory; if that process is gone, delete {path}"
            )
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else its holder released (unlinked) it as we opened it: open afresh
            break
        os.close(fd)
    if previous and pid is not None and pid != os.getpid():
        print(f"note: took over the lock of {words}, which is no longer running", file=sys.stderr)
    import datetime

    holder = {
        "pid": os.getpid(),
        "host": platform.node(),
        "command": command,
        "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
    return Lock(path, fd, made_dir)


def unlock(held: Lock) -> None:
    """Release ``held``: remove the lock file, then drop the lock (and the directory, if it
    was created for the lock and is empty)."""
    held.path.unlink(missing_ok=True)
    os.close(held.fd)
    if held.made_dir:
        _remove_if_empty(held.path.parent)


def _remove_if_empty(run_dir: Path) -> None:
    try:
        run_dir.rmdir()
    except OSError:
        pass


@contextlib.contextmanager
def locked(run_dir: str | Path, command: str) -> Iterator[Lock]:
    """``lock`` for the duration of a ``with`` block (released however it ends)."""
    held = lock(run_dir, command)
    try:
        yield held
    finally:
        unlock(held)
