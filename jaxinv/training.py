"""Training runs end to end: build, train in jitted chunks, checkpoint, evaluate, summarise.

``train_run`` is what ``jaxinv train`` does. It trains ``seeds`` independent agents at once
(``vmap`` over keys), in chunks of updates so that a progress line, the metrics CSV and the
timing happen in Python between chunks; compilation is timed apart (``compile_s``). The
greedy policy of every seed is then evaluated on the env's evaluation set, the same episodes
(common random numbers) that ``jaxinv baseline`` uses, so runs and baselines pair up.

The training core, shared with ``sweep`` (which trains a flat axis of configuration x seed
runs the same way): ``make_init`` (sequential init), ``chunk_sizes`` (about ``LOG_CHUNKS``
chunks: equal ones, then the remainder, so at most two compiled sizes), ``compile_chunks``
(through a ``distributed.Layout``; each chunk donates its input state), ``train_chunks`` (the
loop: metrics rows, checkpoints, ``Progress``), ``chunk_returns`` (the episode-weighted
return of a chunk), ``eval_block`` (pooled and across-seeds evaluation), ``run_summary`` (the
one summary.json of a learner run directory, ``runs.RUN_SUMMARY_KEYS``) and ``write_run``.

``load_run`` rebuilds env, learner and learned parameters from a run directory.

Checkpoints and resume. Every ``checkpoint_every`` updates (rounded up to whole chunks; by
default about a tenth of the run) and at the end, the whole training state of every seed and
the progress (updates done, metrics rows, elapsed times) go to ``state.msgpack`` (see
``runs.write_state``). ``resume_run`` (``jaxinv train --resume DIR``) rebuilds the run from
``DIR/config.json``, loads the newest complete state and goes on with the same chunks, so it
ends bitwise where an uninterrupted run would (same backend): same final state, same metrics
rows (wall times aside). A run that had finished is not trained again.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

import jaxinv
from jaxinv import agents, distributed, families, faults, plots, runs
from jaxinv import evaluate as evaluate_lib
from jaxinv.agents import base

EVAL_SEED = 20_230_101  # the fixed evaluation key: jax.random.PRNGKey(EVAL_SEED)
LOG_CHUNKS = 40  # about this many logged chunks per run (see chunk_sizes)
CHECKPOINTS = 10  # by default the training state is saved about this many times per run


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``{"env.periods": 10, "lr": 1e-3}`` -> env config, algorithm overrides."""
    env_config = {k[4:]: v for k, v in overrides.items() if k.startswith("env.")}
    algo_config = {k: v for k, v in overrides.items() if not k.startswith("env.")}
    return env_config, algo_config


def resolved_overrides(env_id: str, algo: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The env family's tuned defaults for ``algo`` with the user's overrides on top."""
    return {**families.family_of(env_id).tuned_for(algo), **overrides}


@dataclass
class Built:
    env: Any
    params: Any
    config: Any
    learner: base.Learner


def build(env_id: str, algo: str, overrides: dict[str, Any]) -> Built:
    """Env, config and learner from resolved overrides; ``ValueError`` names any bad key."""
    module = agents.algorithm(algo)
    env_config, algo_config = split_overrides(overrides)
    env, params = jaxinv.make(env_id, **env_config)
    config = module.make_config(**algo_config)
    return Built(env, params, config, module.make_learner(config, env, params))


def evaluation_set(env: Any, params: Any, episodes: int | None) -> dict[str, Any]:
    """How runs and baselines are evaluated: the env's own evaluation set (e.g. held-out demand
    years) when it has one, else ``episodes`` paths drawn from the fixed evaluation key."""
    key = jax.random.PRNGKey(EVAL_SEED)
    own = families.family_of(env.name).evaluation_set
    if own is not None:
        return {**own(env, params, episodes), "key": key}
    n = evaluate_lib.DEFAULT_EPISODES if episodes is None else episodes
    return {"params": params, "batched_params": False, "key": key, "num_episodes": n}


def evaluate_agents(built: Built, agent: Any, episodes: int | None, greedy: bool = True):
    """Evaluate each seed's policy (``agent`` has a leading seed axis) in one compiled call."""
    setup = evaluation_set(built.env, built.params, episodes)
    return evaluate_lib.evaluate_many(
        built.env, base.policy_maker(built.learner, greedy), agent, **setup
    )


# -- the training core: every learner run (train, compare, sweep) goes through these ----------


def make_init(init: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``jit`` of ``inputs -> training states`` for a leading axis of runs: ``init`` applied to
    one run's input after another (``lax.map``), all in one compiled call.

    Not ``vmap``: on this CPU backend (jaxlib 0.10.2) a vmapped init of 16 or more PPO runs
    hangs for good, while 8 or 12 do not: six vmapped orthogonal initialisers in one program
    are enough (``scripts/repro_init_hang.py``; docs/scale-out.md, known issue).
    Sequential init is cheap (once per run) and gives each run the state an unbatched init
    gives it."""
    return jax.jit(lambda inputs: jax.lax.map(init, inputs))


def init_seeds(learner: base.Learner, keys: jax.Array) -> Any:
    """The training state of each seed, stacked on a leading axis (``make_init``)."""
    return make_init(learner.init)(keys)


def seed_slice(tree: Any, i: int) -> Any:
    return jax.tree.map(lambda x: x[i], tree)


def chunk_size(num_updates: int, chunks: int = LOG_CHUNKS) -> int:
    """Updates per logged chunk: ``num_updates / chunks`` rounded, at least 1. A run is
    ``chunk_sizes(num_updates)``: whole chunks of this size, then the remainder."""
    return max(1, round(num_updates / chunks))


def chunk_sizes(num_updates: int, chunks: int = LOG_CHUNKS) -> list[int]:
    """The chunks a run of ``num_updates`` updates trains in: about ``chunks`` of
    ``chunk_size`` updates, then the remainder if any (so at most two compiled sizes)."""
    size = chunk_size(num_updates, chunks)
    sizes = [size] * (num_updates // size)
    return sizes + ([num_updates % size] if num_updates % size else [])


def chunks_done(updates: int, num_updates: int, chunk: int) -> int | None:
    """How many chunks of a run (``num_updates`` in chunks of ``chunk``, then the remainder)
    make ``updates``; None where ``updates`` is not at the end of a chunk."""
    if updates == num_updates:
        return num_updates // chunk + (1 if num_updates % chunk else 0)
    if 0 <= updates < num_updates and updates % chunk == 0:
        return updates // chunk
    return None


def chunk_returns(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """``(runs,)`` episode-weighted mean training return over a chunk's updates (metrics
    ``(runs, updates)``): episodes that ended count alike, whichever update they ended in;
    NaN for a run where none ended."""
    episodes = np.asarray(metrics["episodes"], np.float64)
    total = (np.asarray(metrics["episode_return"], np.float64) * episodes).sum(-1)
    count = episodes.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def chunk_rows(metrics: dict[str, np.ndarray], update0: int, steps: int, wall: float):
    """One metrics row per run (``seed``: its index on the runs axis) for a chunk that began
    at update ``update0``: ``chunk_returns``, the episodes that ended, the mean of the rest."""
    episodes = np.asarray(metrics["episodes"]).sum(-1)
    returns = chunk_returns(metrics)
    rows = []
    for s in range(len(episodes)):
        m = {k: np.asarray(v)[s] for k, v in metrics.items()}
        update = update0 + len(m["episodes"])
        row: dict[str, Any] = {"seed": s, "update": update, "env_steps": update * steps}
        row["wall_s"] = wall
        if episodes[s] > 0:
            row["episode_return"] = float(returns[s])
        row["episodes"] = int(episodes[s])
        for k, v in m.items():
            if k not in ("episode_return", "episodes"):
                row[k] = float(np.mean(v))
        rows.append(row)
    return rows


class Progress:
    """The progress line on stderr, about ``LOG_CHUNKS`` times a run: a bar, env steps (all
    runs), the latest chunk's training return, env steps per second, training time."""

    def __init__(self, num_updates: int, steps_per_update: int, runs: int, label: str = ""):
        self.num_updates, self.steps, self.runs = num_updates, steps_per_update, runs
        self.label = label

    def __call__(self, done: int, n: int, returns: np.ndarray, elapsed: float) -> None:
        total = max(self.num_updates, 1)
        if done * LOG_CHUNKS // total <= (done - n) * LOG_CHUNKS // total:
            return
        finite = np.asarray(returns)[np.isfinite(returns)]
        # No episode ended in this chunk (episodes longer than a chunk): say so, not "nan".
        ret = f"{float(np.mean(finite)):9.2f}" if finite.size else f"{'(none)':>9s}"
        width = 24
        filled = int(width * done / total)
        bar = "#" * filled + "." * (width - filled)
        steps = done * self.steps * self.runs
        line = (
            f"\r{self.label}[{bar}] {100 * done / total:5.1f}%  {steps / 1e6:7.2f}M steps  "
            f"return {ret}  {steps / max(elapsed, 1e-9) / 1e3:7.1f}k steps/s  "
            f"{elapsed:6.1f}s"
        )
        tty = sys.stderr.isatty()
        end = "\n" if done >= total or not tty else ""
        print(line if tty else line.lstrip("\r"), end=end, file=sys.stderr, flush=True)


class NonFinite(ValueError):
    """Training produced NaN or inf (the message says where and what); ``saved_at``: the
    update of the newest training state saved before it (None: none was)."""

    def __init__(self, message: str, saved_at: int | None):
        super().__init__(message)
        self.saved_at = saved_at


def non_finite(metrics: dict[str, np.ndarray], params: Any = None) -> list[str]:
    """What is NaN or inf after a chunk: ``"value_loss (seed 0: inf; 1 of 2 seeds)"`` for
    each metric, and each leaf of ``params`` (host arrays, leading seeds axis), that is not
    finite everywhere. Run in Python between chunks: one pass over the chunk's metrics and
    the parameters."""
    found = []
    named = [(k, np.asarray(v)) for k, v in metrics.items()]
    if params is not None:
        named += [
            (f"parameter {jax.tree_util.keystr(path)}", np.asarray(leaf))
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        ]
    for name, values in named:
        if not np.issubdtype(values.dtype, np.inexact) or values.ndim == 0:
            continue
        bad = ~np.isfinite(values.reshape(len(values), -1))
        if bad.any():
            run = int(np.argmax(bad.any(-1)))
            first = values.reshape(len(values), -1)[run][np.argmax(bad[run])]
            runs_bad = int(bad.any(-1).sum())
            found.append(f"{name} (seed {run}: {first}; {runs_bad} of {len(values)} seeds)")
    return found


def compile_chunks(
    layout: distributed.Layout, make_chunk: Callable[[int], Callable], state: Any, sizes: list[int]
) -> dict[int, Any]:
    """``{n: compiled chunk of n updates}`` for the sizes in ``sizes`` (at most two):
    ``make_chunk(n)(state) -> (state, metrics)``, batched over the leading runs axis, compiled
    for ``state``'s layout, donating its input state."""
    return {n: layout.compile_chunk(make_chunk(n), state) for n in sorted(set(sizes))}


@dataclass
class Chunked:
    """What ``train_chunks`` leaves: the final state and the log of the whole run."""

    state: Any  # the final training state, laid out as it came in
    rows: list[dict[str, Any]]  # chunk_rows of every chunk, resumed ones first
    last_return: np.ndarray  # (runs,) chunk_returns of the last chunk trained here
    train_s: float  # training time, earlier sessions included, checkpoints excluded
    checkpoint_s: float


def train_chunks(
    compiled: dict[int, Any],
    state: Any,
    num_updates: int,
    steps_per_update: int,
    *,
    done: int = 0,
    rows: list[dict[str, Any]] | None = None,
    train_s: float = 0.0,
    checkpoint_s: float = 0.0,
    every: int | None = None,
    checkpoint: Callable[[Any, int, list[dict[str, Any]], float, float], None] | None = None,
    progress: Progress | None = None,
    on_chunk: Callable[[int], None] | None = None,
    watch: Callable[[Any], Any] | None = None,
) -> Chunked:
    """Train ``state`` (a leading axis of runs) from update ``done`` to ``num_updates`` in the
    chunks of ``chunk_sizes(num_updates)``, with ``compiled`` (``compile_chunks``).

    After each chunk: its metrics rows; at every ``every``-th update (a multiple of the chunk
    size; None: never) and at the end ``checkpoint(state, done, rows, train_s, checkpoint_s)``
    (its time is counted apart, not as training); the progress line; ``on_chunk(done)``.
    ``train_s`` and ``checkpoint_s`` carry on from an earlier session (resume). Each chunk
    donates its input state; nothing else here holds it.

    With ``watch`` (state -> host copies of the parameters, leading runs axis), a chunk whose
    metrics or parameters hold NaN or inf stops the run with ``NonFinite`` before its state is
    saved, so the newest saved state stays the last good one.
    """
    sizes = chunk_sizes(num_updates)
    first = chunks_done(done, num_updates, sizes[0])
    if first is None:
        raise ValueError(f"{done} updates is not the end of a chunk of {sizes[0]} updates")
    rows = list(rows or [])
    last_return = np.array([])
    saved_at = done if done else None  # a resumed run starts from a saved state
    clock = time.perf_counter() - train_s - checkpoint_s  # training time = now - clock - ckpt
    for n in sizes[first:]:
        state, metrics = compiled[n](state)
        metrics = jax.device_get(metrics)
        elapsed = time.perf_counter() - clock - checkpoint_s
        if watch is not None:
            bad = non_finite(metrics, watch(state))
            if bad:
                chunk = chunks_done(done, num_updates, sizes[0]) + 1
                raise NonFinite(
                    f"training stopped at update {done + n} of {num_updates} (chunk {chunk} of "
                    f"{len(sizes)}, {(done + n) * steps_per_update:,} env steps per run): not "
                    f"finite: {'; '.join(bad)}",
                    saved_at,
                )
        rows += chunk_rows(metrics, done, steps_per_update, elapsed)
        last_return = chunk_returns(metrics)
        done += n
        faults.kill_point("chunk")  # the fault tests' crash between chunks (jaxinv.faults)
        if checkpoint is not None and (
            done == num_updates or (every is not None and done % every == 0)
        ):
            saving = time.perf_counter()
            checkpoint(state, done, rows, saving - clock - checkpoint_s, checkpoint_s)
            saved_at = done
            checkpoint_s += time.perf_counter() - saving
        if progress is not None:
            progress(done, n, last_return, elapsed)
        if on_chunk is not None:
            on_chunk(done)
    return Chunked(
        state, rows, last_return, time.perf_counter() - clock - checkpoint_s, checkpoint_s
    )


def eval_block(results: list[evaluate_lib.EvalResult]) -> dict[str, Any]:
    """One ``eval`` block: all seeds' episodes together, plus (with several seeds)
    ``across_seeds``, the summary of the seed means."""
    pooled = evaluate_lib.summarize(np.concatenate([r.returns for r in results]))
    block = pooled.as_dict()
    if len(results) > 1:
        across = evaluate_lib.summarize([r.mean for r in results])
        block["across_seeds"] = across.as_dict()
    return block


def run_summary(
    *,
    command: str,
    env_id: str,
    algo: str,
    config: Any,
    overrides: dict[str, Any],
    results: list[evaluate_lib.EvalResult],
    devices: int,
    total_steps: int,
    runs_trained: int,
    train_s: float,
    compile_s: float,
    wall_s: float,
    checkpoint_s: float = 0.0,
    resumed_at: list[int] | None = None,
) -> dict[str, Any]:
    """A learner run directory's summary.json: exactly ``runs.RUN_SUMMARY_KEYS`` (see there).
    ``results``: one greedy evaluation per seed; ``runs_trained``: the runs trained together
    in ``train_s`` (its seeds; in a sweep, its group's configurations x seeds)."""
    summary = {
        "command": command,
        "env": env_id,
        "algo": algo,
        "config": config_dict(config),
        "env_config": split_overrides(overrides)[0],
        "seeds": len(results),
        "devices": devices,
        "eval": eval_block(results),
        "eval_per_seed": [r.as_dict() for r in results],
        "total_steps": total_steps,
        "steps_per_s": total_steps * runs_trained / max(train_s, 1e-9),
        "train_s": train_s,
        "compile_s": compile_s,
        "wall_s": wall_s,
        "checkpoint_s": checkpoint_s,
        "resumed_at": list(resumed_at or []),
        "eval_crn": results[0].crn,
        "machine": runs.machine(),
    }
    assert tuple(summary) == runs.RUN_SUMMARY_KEYS
    return summary


def write_run(
    out: Path,
    summary: dict[str, Any],
    agent: Any,
    results: list[evaluate_lib.EvalResult],
    rows: list[dict[str, Any]],
    *,
    figure: bool = True,
) -> None:
    """A learner's run directory beside its config.json (written when the run began):
    metrics.csv (``rows``), checkpoint.msgpack (``agent``, leaves ``(seeds, ...)``),
    eval_returns.npy ``(seeds, episodes)``, summary.json and, with ``figure``,
    learning_curve.png. ``jaxinv evaluate --run`` and ``load_run`` read it."""
    out = runs.prepare(out)
    runs.write_metrics(out / runs.METRICS, rows)
    runs.atomic_write(out / runs.CHECKPOINT, flax.serialization.to_bytes(agent))
    np.save(out / "eval_returns.npy", np.stack([r.returns for r in results]), allow_pickle=False)
    runs.write_json(out / runs.SUMMARY, summary)
    if figure:
        plots.learning_curve(
            rows,
            out / "learning_curve.png",
            f"{summary['algo'].upper()} on {summary['env']}",
            {"greedy evaluation": summary["eval"]["mean"]},
        )


def train_run(
    env_id: str,
    algo: str,
    overrides: dict[str, Any],
    out: str | Path,
    *,
    seeds: int = 1,
    seed: int = 0,
    episodes: int | None = None,
    progress: bool = True,
    command: str = "train",
    devices: int = 1,
    checkpoint_every: int | None = None,
    checkpoints: bool = True,
    on_chunk: Callable[[int], None] | None = None,
    resume: SavedState | None = None,
) -> dict[str, Any]:
    """Train, checkpoint, evaluate; writes the run directory ``out`` and returns the summary.

    ``devices`` > 1 spreads the run over that many devices (``distributed.Layout``: seeds, or
    the env axis when they do not divide); in a multi-process run only process 0 writes.

    The whole training state is saved every ``checkpoint_every`` updates (rounded up to whole
    chunks; None: about a tenth of the run) and at the end; ``checkpoints=False`` saves it at
    the end only (nothing to resume from a kill before then). ``on_chunk(
    updates_done)`` is called after each chunk and its checkpoint. ``resume`` (see
    ``resume_run``) continues a saved state; a fresh run first deletes any training state and
    summary left in ``out``.
    """
    start = time.perf_counter()
    check_checkpoint_every(checkpoint_every)
    overrides = resolved_overrides(env_id, algo, overrides)
    built = build(env_id, algo, overrides)
    layout = distributed.Layout.plan(seeds, built.config.num_envs, devices)
    learner = layout.learner(built.learner)
    writer = distributed.is_writer()
    out = runs.prepare(out) if writer else Path(out)
    if writer and resume is None:
        runs.remove_state(out)
        (out / runs.SUMMARY).unlink(missing_ok=True)  # a stale one would mark the run finished
        record = run_record(env_id, algo, seeds, seed, overrides, built.config, command)
        record.update(devices=devices, episodes=episodes, checkpoint_every=checkpoint_every)
        record.update(checkpoints=checkpoints)
        runs.write_json(out / runs.CONFIG, record)

    keys = jax.random.split(jax.random.PRNGKey(seed), seeds)
    sizes = chunk_sizes(learner.num_updates)

    compile_start = time.perf_counter()
    state = layout.put(init_seeds(learner, keys))
    compiled = compile_chunks(
        layout, lambda n: jax.vmap(lambda s: base.run(learner, s, n)), state, sizes
    )
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - compile_start

    meta = state_meta(env_id, algo, overrides, built.config, learner, seeds=seeds, seed=seed)
    every = checkpoint_interval(learner.num_updates, sizes[0], checkpoint_every)
    rows: list[dict[str, Any]] = []
    done = 0
    before = {"train_s": 0.0, "compile_s": 0.0, "wall_s": 0.0, "checkpoint_s": 0.0}
    resumed_at: list[int] = []
    if resume is not None:
        state = layout.put(restore_state(resume, state, meta))
        rows, done = list(resume.progress["rows"]), int(resume.progress["updates"])
        before = {k: float(resume.progress[k]) for k in before}
        resumed_at = [*resume.progress["resumed_at"], done]
    compile_s += before["compile_s"]

    def checkpoint(state: Any, done: int, rows: list, train_s: float, checkpoint_s: float):
        whole = layout.gather(state)  # host copies; every process takes part, process 0 writes
        if writer:
            progress_now = {
                "updates": done,
                "rows": rows,
                "train_s": train_s,
                "compile_s": compile_s,
                "wall_s": before["wall_s"] + time.perf_counter() - start,
                "checkpoint_s": checkpoint_s,
                "resumed_at": resumed_at,
            }
            save_state(out, whole, meta, progress_now)
            runs.write_metrics(out / runs.METRICS, rows)

    try:
        loop = train_chunks(
            compiled,
            state,
            learner.num_updates,
            learner.steps_per_update,
            done=done,
            rows=rows,
            train_s=before["train_s"],
            checkpoint_s=before["checkpoint_s"],
            every=every if checkpoints else None,
            checkpoint=checkpoint,
            progress=Progress(learner.num_updates, learner.steps_per_update, seeds)
            if progress and writer
            else None,
            on_chunk=on_chunk,
            watch=lambda state: layout.gather(learner.agent(state)),
        )
    except NonFinite as error:
        raise NonFinite(
            f"{error}. {non_finite_advice(built.config, out, error.saved_at)}", error.saved_at
        ) from None
    agent = layout.gather(learner.agent(loop.state))  # whole, in every process
    results = evaluate_agents(built, agent, episodes)
    summary = run_summary(
        command=command,
        env_id=env_id,
        algo=algo,
        config=built.config,
        overrides=overrides,
        results=results,
        devices=devices,
        total_steps=learner.num_updates * learner.steps_per_update,
        runs_trained=seeds,
        train_s=loop.train_s,
        compile_s=compile_s,
        wall_s=before["wall_s"] + time.perf_counter() - start,
        checkpoint_s=loop.checkpoint_s,
        resumed_at=resumed_at,
    )
    if not writer:
        return summary
    write_run(out, summary, agent, results, loop.rows)
    (out / runs.STATE_PREV).unlink(missing_ok=True)  # the final state.msgpack is what counts
    return summary


def non_finite_advice(config: Any, out: Path, saved_at: int | None) -> str:
    """The likely causes of a non-finite run, from its ``config``, and what was kept in
    ``out``: the last good training state (``saved_at``) or none."""
    causes = []
    if hasattr(config, "lr"):
        causes.append(f"a learning rate too high (lr={config.lr:g}; try --set lr=...)")
    if getattr(config, "normalize_reward", True) is False:
        causes.append("rewards too large for float32 (normalize_reward is off)")
    elif hasattr(config, "reward_scale"):
        causes.append(f"rewards too large (reward_scale={config.reward_scale:g})")
    else:
        causes.append("rewards too large (the env's prices and costs set their scale)")
    kept = (
        f"the last good training state (update {saved_at}) is kept in {out / runs.STATE}; "
        f"resuming from it meets the same numbers, so change the settings and train afresh"
        if saved_at is not None
        else "no training state had been saved yet"
    )
    return f"Likely cause: {' or '.join(causes)}. Nothing after it was saved: {kept}"


def config_dict(config: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: runs.jsonable(getattr(config, f.name)) for f in dataclasses.fields(config)}


def run_record(
    env_id: str,
    algo: str,
    seeds: int,
    seed: int,
    overrides: dict[str, Any],
    config: Any,
    command: str,
) -> dict[str, Any]:
    """The config.json of a run directory: what ``load_run`` needs to rebuild the learner."""
    return {
        "env": env_id,
        "algo": algo,
        "seeds": seeds,
        "seed": seed,
        "overrides": overrides,
        "config": config_dict(config),
        "command": command,
    }


@dataclass
class LoadedRun:
    built: Built
    agent: Any  # learned parameters with a leading seed axis
    config: dict[str, Any]


def load_run(run_dir: str | Path) -> LoadedRun:
    """Env, learner and learned parameters of a finished ``jaxinv train`` run."""
    run_dir = Path(run_dir)
    saved = runs.read_json(run_dir / runs.CONFIG)
    if not isinstance(saved.get("algo"), str):
        what = saved.get("command") or ("sweep" if "configurations" in saved else "other")
        raise ValueError(
            f"{run_dir} is a jaxinv {what} directory, not one training run: its learners' runs "
            f"are in its subdirectories"
        )
    built = build(saved["env"], saved["algo"], saved["overrides"])
    keys = jax.random.split(jax.random.PRNGKey(0), saved["seeds"])
    template = jax.eval_shape(lambda k: built.learner.agent(jax.vmap(built.learner.init)(k)), keys)
    template = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), template)
    path = run_dir / runs.CHECKPOINT
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: the run has no checkpoint") from None
    try:
        agent = flax.serialization.from_bytes(template, data)
    except Exception as error:  # msgpack or structure mismatch
        raise ValueError(f"{path} does not match the run's config ({error})") from None
    for want, got in zip(jax.tree.leaves(template), jax.tree.leaves(agent), strict=True):
        if np.shape(want) != np.shape(got):
            raise ValueError(
                f"{path} does not match the run's config (shape {np.shape(got)} "
                f"where {np.shape(want)} was expected)"
            )
    return LoadedRun(built, agent, saved)


# -- training-state checkpoints and resume ------------------------------------------------------


def check_checkpoint_every(checkpoint_every: int | None) -> None:
    """``ValueError`` unless ``checkpoint_every`` is None or a whole number of updates >= 1."""
    if checkpoint_every is None:
        return
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int | np.integer):
        raise ValueError(
            f"checkpoint_every={checkpoint_every!r} must be a whole number of updates >= 1"
        )
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every={checkpoint_every} must be at least 1 (updates)")


def checkpoint_interval(num_updates: int, chunk: int, checkpoint_every: int | None) -> int:
    """Updates between saved training states: ``checkpoint_every`` rounded up to whole chunks
    of ``chunk`` updates (None: about ``num_updates / CHECKPOINTS``), at least one chunk."""
    every = num_updates / CHECKPOINTS if checkpoint_every is None else checkpoint_every
    return max(1, math.ceil(every / chunk - 1e-9)) * chunk


def state_meta(
    env_id: str,
    algo: str,
    overrides: dict[str, Any],
    config: Any,
    learner: base.Learner,
    *,
    seeds: int,
    seed: int,
) -> dict[str, Any]:
    """What a saved training state must agree on with the run that loads it."""
    return runs.jsonable(
        {
            "env": env_id,
            "algo": algo,
            "seeds": seeds,
            "seed": seed,
            "env_config": split_overrides(overrides)[0],
            "config": config_dict(config),
            "num_updates": learner.num_updates,
            "chunk_size": chunk_size(learner.num_updates),
        }
    )


def save_state(out: Path, state: Any, meta: dict[str, Any], progress: dict[str, Any]) -> Path:
    """Write the training state (all seeds, host arrays or device arrays), its ``meta`` and
    the ``progress`` so far to ``out/state.msgpack`` (``runs.write_state``).

    ``meta`` and ``progress`` travel as JSON text: it keeps the metrics rows' column order
    (a pytree round trip sorts dict keys) and Python floats round-trip exactly.
    """
    body = flax.serialization.msgpack_serialize(
        {
            "meta": json.dumps(runs.jsonable(meta)),
            "progress": json.dumps(progress),
            "state": flax.serialization.to_state_dict(jax.device_get(state)),
        }
    )
    return runs.write_state(out, body)


@dataclass
class SavedState:
    """A training state read back from a run directory (host arrays, not yet checked)."""

    path: Path  # the file it came from
    meta: dict[str, Any]  # see state_meta
    progress: dict[str, Any]  # updates, rows, train_s, compile_s, wall_s, checkpoint_s, ...
    state: dict[str, Any]  # flax state dict of the training state


PROGRESS_KEYS = ("updates", "rows", "train_s", "compile_s", "wall_s", "checkpoint_s", "resumed_at")


def read_saved_state(run_dir: str | Path) -> SavedState:
    """The newest complete training state in ``run_dir`` (``runs.read_state``: falls back to
    the previous file if the newest is damaged); ``ValueError`` naming the file otherwise."""
    path, body = runs.read_state(Path(run_dir))
    try:
        saved = flax.serialization.msgpack_restore(body)
    except Exception as error:  # msgpack's own errors
        raise ValueError(f"{path} cannot be decoded as a training state ({error})") from None
    if not isinstance(saved, dict) or {"meta", "progress", "state"} - set(saved):
        raise ValueError(f"{path} is not a training state (missing meta, progress or state)")
    try:
        meta, progress = json.loads(saved["meta"]), json.loads(saved["progress"])
    except (TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} has unreadable meta or progress ({error})") from None
    missing = [k for k in PROGRESS_KEYS if k not in progress]
    if missing:
        raise ValueError(f"{path} is not a training state (progress lacks {', '.join(missing)})")
    return SavedState(path, meta, progress, saved["state"])


def _differences(theirs: Any, ours: Any, name: str) -> list[str]:
    """``name=value`` pairs where two JSON-like values differ (one level into dicts)."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = []
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            out += _differences(theirs.get(key), ours.get(key), f"{name}.{key}")
        return out
    if json.dumps(theirs, sort_keys=True) == json.dumps(ours, sort_keys=True):
        return []
    return [f"{name}={theirs!r} there but {ours!r} here"]


def check_meta(saved: SavedState, meta: dict[str, Any]) -> None:
    """``ValueError`` naming the file and each setting where ``saved`` belongs to another run
    (another env, config, number of seeds, ...) than the one described by ``meta``."""
    differences = []
    for key, ours in meta.items():
        differences += _differences(saved.meta.get(key), ours, key)
    if differences:
        shown = "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
        raise ValueError(
            f"{saved.path} was saved by another run than the one in {runs.CONFIG}: {shown}"
        )
    updates, num_updates = int(saved.progress["updates"]), meta["num_updates"]
    chunks = chunks_done(updates, num_updates, meta["chunk_size"])
    if chunks is None:
        raise ValueError(
            f"{saved.path} says {updates} updates were done: not the end of a chunk (chunks "
            f"of {meta['chunk_size']}, then the remainder, up to {num_updates})"
        )
    if len(saved.progress["rows"]) != chunks * meta["seeds"]:
        raise ValueError(
            f"{saved.path} holds {len(saved.progress['rows'])} metrics rows for {updates} "
            f"updates of {meta['seeds']} seeds"
        )


def restore_state(saved: SavedState, template: Any, meta: dict[str, Any]) -> Any:
    """The training state in ``saved`` as host arrays in the structure of ``template`` (the
    run's freshly initialised state); ``ValueError`` naming the file where it does not fit."""
    check_meta(saved, meta)
    try:
        state = flax.serialization.from_state_dict(template, saved.state)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{saved.path} does not hold this run's training state ({error})"
        ) from None
    leaves = jax.tree_util.tree_leaves_with_path(template)
    got = jax.tree.leaves(state)
    if len(got) != len(leaves):
        raise ValueError(
            f"{saved.path} holds {len(got)} arrays where this run's state has {len(leaves)}"
        )
    for (where, want), have in zip(leaves, got, strict=True):
        if not isinstance(have, np.ndarray) or (have.shape, have.dtype) != (
            want.shape,
            want.dtype,
        ):
            found = f"{np.shape(have)} {getattr(have, 'dtype', type(have).__name__)}"
            raise ValueError(
                f"{saved.path} does not hold this run's training state: "
                f"{jax.tree_util.keystr(where)} is {found} where {want.shape} {want.dtype} "
                f"was expected"
            )
    return state


def resume_run(
    run_dir: str | Path,
    *,
    episodes: int | None = None,
    progress: bool = True,
    checkpoint_every: int | None = None,
    devices: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Continue the training run in ``run_dir`` from its newest complete training state and
    finish it as ``train_run`` would have; returns the summary.

    Env, algorithm, overrides, seeds and seed come from ``run_dir/config.json``; ``episodes``,
    ``checkpoint_every`` and ``devices`` default to the run's own (a different number of
    devices may change float results). A run that finished (final state and summary.json
    written) is not trained or evaluated again: a note goes to stderr and its summary is
    returned. Errors name the file: ``FileNotFoundError`` when there is nothing to resume,
    ``ValueError`` for a damaged state file or one from another run.
    """
    check_checkpoint_every(checkpoint_every)
    run_dir = Path(run_dir)
    config = runs.read_json(run_dir / runs.CONFIG)
    overrides = resolved_overrides(config["env"], config["algo"], config["overrides"])
    saved = read_saved_state(run_dir)
    built = build(config["env"], config["algo"], overrides)
    meta = state_meta(
        config["env"],
        config["algo"],
        overrides,
        built.config,
        built.learner,
        seeds=config["seeds"],
        seed=config["seed"],
    )
    check_meta(saved, meta)
    num_updates = built.learner.num_updates
    if saved.progress["updates"] == num_updates and (run_dir / runs.SUMMARY).exists():
        print(
            f"{run_dir} finished already ({num_updates} of {num_updates} updates): nothing "
            f"to resume; its {runs.SUMMARY} stands (jaxinv evaluate --run {run_dir} "
            f"evaluates it again)",
            file=sys.stderr,
        )
        return runs.read_json(run_dir / runs.SUMMARY)
    if progress:
        done = saved.progress["updates"]
        left = "training done; evaluating" if done == num_updates else "training on"
        print(
            f"resuming {run_dir} at update {done} of {num_updates} from {saved.path.name}: " + left,
            file=sys.stderr,
        )
    if checkpoint_every is None:
        checkpoint_every = config.get("checkpoint_every")
    return train_run(
        config["env"],
        config["algo"],
        config["overrides"],
        run_dir,
        seeds=config["seeds"],
        seed=config["seed"],
        episodes=config.get("episodes") if episodes is None else episodes,
        progress=progress,
        command=config.get("command", "train"),
        devices=config.get("devices", 1) if devices is None else devices,
        checkpoint_every=checkpoint_every,
        checkpoints=config.get("checkpoints", True),
        on_chunk=on_chunk,
        resume=saved,
    )
