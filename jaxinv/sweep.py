"""Hyperparameter sweeps: every configuration x every seed trained together, then compared.

A sweep is a list of configurations (a grid, ``--grid lr=1e-4,3e-4 --grid ent_coef=0,0.01``,
and/or ``--random N`` draws from ``--range lr=1e-4:1e-2:log``) times ``seeds`` seeds. Every
configuration is built through the learner's ``make_config`` (so a bad key or value raises
``ValueError`` naming it, before anything is traced), then the configurations are grouped by
what sets shapes: the static config fields (``num_envs``, ``hidden``, ...) and any ``env.``
key. One group compiles once:

* its configurations' traced hyperparameters (the config's pytree leaves: ``lr``,
  ``ent_coef``, ...) are stacked along a leading axis and repeated per seed, so a group of C
  configurations and S seeds is one flat batch axis of C x S runs (index ``c * S + s``). One
  flat axis rather than nested ``vmap`` (configs outer, seeds inner): XLA sees the same batched
  program either way, and one axis is what the memory budget cuts into batches, what padding
  rounds up to a multiple of the devices, and what ``jax.sharding`` splits over them;
* the batch trains as ``jaxinv train`` trains its seeds (``training``'s core: sequential
  init, about ``LOG_CHUNKS`` jitted chunks of updates and a remainder, the same progress
  line); when the whole batch would not fit ``memory_gb`` (estimated from
  ``jax.eval_shape`` of one run's training state plus one update's rollout and activations)
  it is cut into equal batches that run one after another on the same compilation;
* with ``devices > 1`` the batch axis is split over the devices as ``jaxinv train`` splits
  seeds (``distributed.Layout.over_runs``): the state is initialised on one device, laid out
  on its leading axis, and each chunk runs under ``shard_map`` (every device trains its own
  runs; no communication but the metrics and the learned parameters gathered back).
  Batches are padded with copies of the first run to a multiple of the devices; the copies
  are dropped afterwards. In a multi-process run (``jax.distributed``; ``jaxinv sweep
  --coordinator ...``) the mesh spans every process's devices, every process builds the whole
  initial state and keeps its devices' share, every process learns every result, and only
  process 0 writes;
* every run's greedy policy is then evaluated on the env's evaluation set
  (``training.evaluation_set``; the same episodes for every run, common random numbers) in one
  ``evaluate_many`` call per group.

Seeds are shared across configurations: seed ``s`` of every configuration starts from key
``jax.random.split(PRNGKey(seed), seeds)[s]``, the key ``jaxinv train --seed`` gives its seed
``s``, so configuration c, seed s of a sweep is the run ``jaxinv train`` would make with c.

``sweep_run`` writes ``results.csv`` (one row per configuration and seed), ``metrics.csv``
(training curves), ``summary.json`` (the best configuration by its mean over seeds, each
configuration's mean and 95% CI across seeds), ``sweep.png``, and per configuration a run
directory ``runs/c<index>/`` that ``jaxinv evaluate --run`` reads, written by the same
writer as a ``jaxinv train`` run (config, metrics, checkpoint with all its seeds, evaluation
returns, and a summary.json with exactly ``runs.RUN_SUMMARY_KEYS``). ``groups.json`` lists
the groups whose run directories are complete; ``sweep_run(resume=True)`` (``jaxinv sweep
--resume``) reads those back and trains the rest.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

import jaxinv
from jaxinv import agents, distributed, faults, runs, training
from jaxinv import evaluate as evaluate_lib
from jaxinv.agents import base

DEFAULT_MEMORY_GB = 8.0  # a third of a 24 GiB machine: room for XLA temporaries and the rest


# -- what to sweep ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A random-search range for one key: uniform on [lo, hi], or log-uniform with ``log``."""

    lo: float
    hi: float
    log: bool = False


def split_values(text: str) -> list[str]:
    """``"1e-3,[64,64],x"`` -> ``["1e-3", "[64,64]", "x"]``: commas inside brackets stay."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["lr=1e-4,3e-4", "hidden=[32,32],[64,64]"]`` -> ``{"lr": [1e-4, 3e-4], ...}``.

    Values are JSON where they parse, else plain strings (as ``--set``).
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or not text:
            raise ValueError(f"--grid expects key=v1,v2,..., got {item!r}")
        if key in grid:
            raise ValueError(f"--grid key {key!r} given twice")
        values = [_json_or_text(v.strip()) for v in split_values(text)]
        if any(v == "" for v in values):
            raise ValueError(f"--grid {key!r} has an empty value in {text!r}")
        grid[key] = values
    return grid


def parse_ranges(items: list[str]) -> dict[str, Range]:
    """``["lr=1e-4:1e-2:log", "ent_coef=0:0.05"]`` -> ``{"lr": Range(1e-4, 1e-2, True), ...}``."""
    ranges: dict[str, Range] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = text.split(":")
        if not sep or not key or len(parts) not in (2, 3):
            raise ValueError(f"--range expects key=lo:hi or key=lo:hi:log, got {item!r}")
        if len(parts) == 3 and parts[2] != "log":
            raise ValueError(f"--range {key!r}: the third part must be 'log', got {parts[2]!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"--range {key!r}: lo and hi must be numbers, got {text!r}") from None
        log = len(parts) == 3
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"--range {key!r}: need finite lo <= hi, got {lo}:{hi}")
        if log and lo <= 0:
            raise ValueError(f"--range {key!r}: a log range needs lo > 0, got {lo}")
        if key in ranges:
            raise ValueError(f"--range key {key!r} given twice")
        ranges[key] = Range(lo, hi, log)
    return ranges


def points(
    grid: dict[str, list[Any]], ranges: dict[str, Range], num_random: int, seed: int
) -> list[dict[str, Any]]:
    """The configurations to try, as swept values: the grid's product crossed with
    ``num_random`` draws from ``ranges`` (numpy, seeded by ``seed``)."""
    if num_random < 0:
        raise ValueError(f"--random={num_random} must be >= 0")
    if not grid and not ranges:
        raise ValueError("nothing to sweep: give --grid key=v1,v2,... or --random N --range ...")
    if ranges and num_random == 0:
        raise ValueError("--range needs --random N (the number of random configurations)")
    if num_random and not ranges:
        raise ValueError("--random needs at least one --range key=lo:hi[:log]")
    both = sorted(set(grid) & set(ranges))
    if both:
        raise ValueError(f"key(s) {both} are in both --grid and --range")
    for key in ranges:
        if key.startswith("env."):
            raise ValueError(
                f"--range {key!r}: env keys set shapes here (one compilation per value); "
                "sweep them with --grid"
            )
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    if not ranges:
        return combos
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(num_random):
        draw = {}
        for key, r in ranges.items():
            u = rng.uniform()
            value = (
                math.exp(math.log(r.lo) + u * (math.log(r.hi) - math.log(r.lo)))
                if r.log
                else r.lo + u * (r.hi - r.lo)
            )
            draw[key] = value
        draws.append(draw)
    return [{**combo, **draw} for combo in combos for draw in draws]


# -- configurations grouped by compilation ---------------------------------------------------


def traced_fields(config: Any) -> list[str]:
    """Names of the config's traced hyperparameters (pytree leaves; the rest are static)."""
    return [f.name for f in dataclasses.fields(config) if f.metadata.get("pytree_node", True)]


@dataclass
class Group:
    """Configurations that share one compilation: same env config and static fields."""

    module: Any  # the learner's module (agents.ppo, ...)
    built: training.Built  # env, params and the first configuration's learner
    configs: list[Any]  # config dataclasses, one per configuration in the group
    indices: list[int]  # their positions in the sweep's list of configurations
    overrides: list[dict[str, Any]]  # each one's resolved overrides, as ``jaxinv train`` takes
    label: str  # the static settings that set this group apart, for the progress line

    @functools.cached_property
    def greedy_policy(self) -> Callable[[tuple[Any, Any]], Callable]:
        """``(config, agent) -> greedy policy``: one function per group, so evaluating the
        group's runs compiles once (evaluation takes it as a static ``jit`` argument)."""
        module, env, params = self.module, self.built.env, self.built.params

        def make_policy(theta: tuple[Any, Any]) -> Callable:
            config, agent = theta
            return module.make_learner(config, env, params).policy(agent, True)

        return make_policy


def plan(
    env_id: str, algo: str, overrides: dict[str, Any], swept: list[dict[str, Any]]
) -> list[Group]:
    """Validate every configuration (``make_config``, ``jaxinv.make``) and group them."""
    module = agents.algorithm(algo)
    default = module.make_config()
    traced = set(traced_fields(default))
    groups: dict[str, Group] = {}
    envs: dict[str, tuple[Any, Any]] = {}
    for index, values in enumerate(swept):
        merged = training.resolved_overrides(env_id, algo, {**overrides, **values})
        env_config, algo_config = training.split_overrides(merged)
        config = module.make_config(**algo_config)  # ValueError names a bad key or value
        env_key = json.dumps(env_config, sort_keys=True, default=str)
        if env_key not in envs:
            envs[env_key] = jaxinv.make(env_id, **env_config)
        static = {
            f.name: getattr(config, f.name)
            for f in dataclasses.fields(config)
            if f.name not in traced
        }
        group_key = env_key + repr(sorted(static.items()))
        if group_key not in groups:
            env, params = envs[env_key]
            learner = module.make_learner(config, env, params)
            label = ", ".join(
                f"{k}={runs.jsonable(v)}"
                for k, v in values.items()
                if k.startswith("env.") or k not in traced
            )
            groups[group_key] = Group(
                module, training.Built(env, params, config, learner), [], [], [], label or "all"
            )
        groups[group_key].configs.append(config)
        groups[group_key].indices.append(index)
        groups[group_key].overrides.append(merged)
    return list(groups.values())


def stack(configs: list[Any]) -> Any:
    """Configs with equal static fields -> one config whose leaves have a leading axis."""
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x, np.float32) for x in xs]), *configs)


# -- memory --------------------------------------------------------------------------------


def _tree_bytes(tree: Any) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def run_bytes(group: Group, init_one: Callable) -> int:
    """Estimated bytes one configuration-seed needs while training (see module doc).

    The training state (``jax.eval_shape``, counted three times: the chunk's input, its output
    and the gradient/optimizer temporaries) plus one update's rollout (observation, next
    observation, action and a few per-step floats, twice: the trajectory and its shuffled
    minibatches) and the network's activations over it (forward and backward). An estimate:
    ``benchmarks/scaling.py`` compares it with XLA's own memory analysis.
    """
    built = group.built
    state = jax.eval_shape(init_one, group.configs[0], _key(0))
    state_bytes = _tree_bytes(state)
    obs_size = math.prod(built.env.observation_space(built.params).shape)
    action_size = max(1, math.prod(built.env.action_space(built.params).shape))
    steps = built.learner.steps_per_update
    transition = 4 * (2 * obs_size + action_size + 8)
    activations = 4 * 2 * sum(getattr(built.config, "hidden", (64, 64)))
    return 3 * state_bytes + steps * (2 * transition + activations)


def batch_plan(total: int, per_run: int, memory_bytes: float, devices: int) -> tuple[int, int]:
    """``(batches, batch_size)``: equal batches, each a multiple of ``devices``, each within
    ``memory_bytes`` where a batch of ``devices`` runs does; ``batches * batch_size >= total``."""
    fit = max(int(memory_bytes // max(per_run, 1)), 1)
    fit = max(fit - fit % devices, devices)
    batches = math.ceil(total / fit)
    size = math.ceil(total / batches)
    size = math.ceil(size / devices) * devices
    return batches, size


def _key(seed: int) -> jax.Array:
    return jax.random.PRNGKey(seed)


# -- training ------------------------------------------------------------------------------


@dataclass
class GroupResult:
    """What one group's runs gave, in the group's run order (``c * seeds + s``)."""

    agent: Any  # learned parameters, leaves (C * S, ...) numpy
    train_return: np.ndarray  # (C * S,) episode-weighted mean return of the last chunk
    eval: list[evaluate_lib.EvalResult]  # C * S greedy evaluations
    rows: list[dict[str, Any]]  # training metrics per chunk and run
    compile_s: float
    train_s: float  # training alone, all batches (no compilation, init or evaluation)
    wall_s: float
    batches: int
    batch_size: int
    run_bytes: int


def train_group(
    group: Group,
    seeds: int,
    seed: int,
    *,
    devices: int | list[Any] = 1,
    memory_gb: float = DEFAULT_MEMORY_GB,
    episodes: int | None = None,
    progress: bool = False,
) -> GroupResult:
    """Train every configuration of ``group`` x ``seeds`` seeds and evaluate them.

    ``devices``: the first that many of ``jax.devices()`` (or those devices), the runs split
    over them by ``distributed.Layout.over_runs``. The chunks are ``training``'s: the same
    init, chunk sizes, loop and progress line as ``jaxinv train``; each run's training state
    carries its configuration's traced hyperparameters beside it.
    """
    start = time.perf_counter()
    layout = distributed.Layout.over_runs(devices)
    built = group.built
    module = group.module
    env, params = built.env, built.params
    learner = built.learner

    def make(config: Any) -> base.Learner:
        return module.make_learner(config, env, params)

    def init_one(config: Any, key: jax.Array) -> Any:
        return make(config).init(key)

    num_configs = len(group.configs)
    total = num_configs * seeds
    per_run = run_bytes(group, init_one)
    batches, size = batch_plan(total, per_run, memory_gb * 2**30, layout.num_devices)
    # Run order c * seeds + s; padded with copies of run 0 up to batches * size.
    order = np.arange(batches * size) % total
    order[total:] = 0
    configs = stack(group.configs)
    keys = np.asarray(jax.random.split(_key(seed), seeds))
    all_configs = jax.tree.map(lambda x: np.repeat(x, seeds, axis=0)[order], configs)
    all_keys = np.tile(keys, (num_configs, 1))[order]

    # A run's state is (its config, its training state): the chunk trains each run with its
    # own traced hyperparameters and hands the config on unchanged.
    init = training.make_init(lambda ck: (ck[0], init_one(*ck)))
    sizes = training.chunk_sizes(learner.num_updates)

    def make_chunk(n: int) -> Callable:
        def chunk(run: tuple[Any, Any]) -> tuple[tuple[Any, Any], dict[str, jax.Array]]:
            config, state = run
            state, metrics = base.run(make(config), state, n)
            return (config, state), metrics

        return jax.vmap(chunk)

    compile_s = train_s = 0.0
    compiled = None
    agents_out, returns_out, rows = [], [], []
    for b in range(batches):
        part = slice(b * size, (b + 1) * size)
        t0 = time.perf_counter()
        # Initialised on one device, then laid out (init inside a multi-device shard_map
        # hung). Every process builds the whole batch's state, then keeps its devices' share.
        inputs = (jax.tree.map(lambda x, p=part: x[p], all_configs), all_keys[part])
        state = layout.put(init(inputs))
        if compiled is None:
            compiled = training.compile_chunks(layout, make_chunk, state, sizes)
        jax.block_until_ready(state)
        if b == 0:
            compile_s = time.perf_counter() - t0
        label = f"[{group.label}] batch {b + 1}/{batches} ({size} runs) "
        loop = training.train_chunks(
            compiled,
            state,
            learner.num_updates,
            learner.steps_per_update,
            progress=training.Progress(learner.num_updates, learner.steps_per_update, size, label)
            if progress
            else None,
        )
        train_s += loop.train_s
        for row in loop.rows:
            if b * size + row["seed"] < total:  # not padding
                rows.append({"run": b * size + row["seed"], **row})
        returns_out.append(loop.last_return)
        agents_out.append(layout.gather(learner.agent(loop.state[1])))
    keep = slice(0, total)
    agent = jax.tree.map(lambda *xs: np.concatenate(xs)[keep], *agents_out)
    train_return = np.concatenate(returns_out)[keep]

    setup = training.evaluation_set(env, params, episodes)
    run_configs = jax.tree.map(lambda x: x[:total], all_configs)
    results = evaluate_lib.evaluate_many(
        env,
        group.greedy_policy,
        (run_configs, agent),
        **setup,
        batch_size=size if total > size else None,
    )
    return GroupResult(
        agent,
        train_return,
        results,
        rows,
        compile_s,
        train_s,
        time.perf_counter() - start,
        batches,
        size,
        per_run,
    )


# -- the whole sweep -----------------------------------------------------------------------


def sweep_run(
    env_id: str,
    algo: str,
    out: str | Path,
    *,
    grid: dict[str, list[Any]] | None = None,
    ranges: dict[str, Range] | None = None,
    num_random: int = 0,
    overrides: dict[str, Any] | None = None,
    seeds: int = 1,
    seed: int = 0,
    devices: int = 1,
    memory_gb: float = DEFAULT_MEMORY_GB,
    episodes: int | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Train and evaluate every configuration x seed; write ``out`` and return the summary.

    ``grid`` maps config keys (``make_config`` fields, or ``env.`` keys) to the values to try;
    ``ranges`` with ``num_random`` adds random draws (crossed with the grid). ``overrides``
    apply to every configuration (as ``jaxinv train --set``). ``ValueError`` names any bad
    key or value before anything is traced.

    ``resume``: continue the sweep in ``out`` (its config.json must say the same settings;
    ``ValueError`` names each difference). Groups listed in ``groups.json`` (written after each
    group's run directories) are read back from their ``runs/c<index>`` directories, the
    others train; the tables come out as the uninterrupted sweep's, the retrained groups'
    times aside. One process only.
    """
    start = time.perf_counter()
    grid, ranges, overrides = dict(grid or {}), dict(ranges or {}), dict(overrides or {})
    if seeds < 1:
        raise ValueError(f"seeds={seeds} must be at least 1")
    if not (isinstance(memory_gb, int | float) and 0 < memory_gb < 1e6):
        raise ValueError(f"memory_gb={memory_gb!r} must be in (0, 1e6) GiB")
    distributed.check_device_count(devices)  # all of them in a multi-process sweep
    swept = points(grid, ranges, num_random, seed)
    groups = plan(env_id, algo, overrides, swept)  # everything validated here
    keys = list(dict.fromkeys([*grid, *ranges]))
    # In a multi-process sweep every process trains its share and learns every result; only
    # process 0 writes.
    writer = distributed.is_writer()
    out = runs.prepare(out) if writer else Path(out)
    # What was asked for: config.json, and the head of summary.json.
    asked = {
        "env": env_id,
        "algo": algo,
        "grid": grid,
        "random": {
            "n": num_random,
            "ranges": {k: dataclasses.asdict(r) for k, r in ranges.items()},
        },
        "seeds": seeds,
        "seed": seed,
        "overrides": overrides,
    }
    record = {**asked, "configurations": swept, "episodes": episodes, "devices": devices}
    record["memory_gb"] = memory_gb
    done: list[dict[str, Any]] = []
    if resume:
        if jax.process_count() > 1:
            raise ValueError("a sweep resumes in one process (--resume without --coordinator)")
        check_same_settings(out, record)
        done = read_groups(out)
    elif writer:
        runs.write_json(out / runs.CONFIG, record)
        (out / GROUPS).unlink(missing_ok=True)

    n_configs = len(swept)
    eval_results: list[list[evaluate_lib.EvalResult]] = [[] for _ in range(n_configs)]
    train_returns = np.full((n_configs, seeds), np.nan)
    group_of = np.zeros(n_configs, int)
    group_wall = np.zeros(n_configs)
    metric_rows: list[dict[str, Any]] = []
    group_info = []
    compile_s = 0.0
    for g, group in enumerate(groups):
        info = done[g] if g < len(done) else None
        if info is not None and (info["label"], info["configurations"]) != (
            group.label,
            group.indices,
        ):
            raise ValueError(f"{out / GROUPS}: group {g} is not {group.label!r} here")
        if info is not None:
            result = load_group(out, group, seeds, info)
            if progress and writer:
                print(f"[{group.label}] done: read back from {out / 'runs'}", flush=True)
        else:
            result = train_group(
                group,
                seeds,
                seed,
                devices=devices,
                memory_gb=memory_gb,
                episodes=episodes,
                progress=progress and writer,
            )
        compile_s += result.compile_s
        learner = group.built.learner
        steps = learner.num_updates * learner.steps_per_update
        group_info.append(
            info
            or {
                "label": group.label,
                "configurations": group.indices,
                "batches": result.batches,
                "batch_size": result.batch_size,
                "run_bytes_estimate": result.run_bytes,
                "total_steps": steps,
                "compile_s": result.compile_s,
                "train_s": result.train_s,
                "steps_per_s": len(group.indices) * seeds * steps / max(result.train_s, 1e-9),
                "wall_s": result.wall_s,
            }
        )
        for c, index in enumerate(group.indices):
            mine = slice(c * seeds, (c + 1) * seeds)
            group_of[index] = g
            group_wall[index] = result.wall_s
            eval_results[index] = result.eval[mine]
            train_returns[index] = result.train_return[mine]
            if writer and info is None:
                save_run(
                    out / "runs" / f"c{index}",
                    env_id,
                    algo,
                    group,
                    c,
                    seeds,
                    seed,
                    result,
                    devices=devices,
                )
        for row in result.rows:
            c, s = divmod(row["run"], seeds)
            rest = {k: v for k, v in row.items() if k not in ("run", "seed")}
            metric_rows.append({"config": group.indices[c], "seed": s, **rest})
        if info is None:  # the fault tests' crash before groups.json lists it (jaxinv.faults)
            faults.kill_point("group")
        if writer:  # this group's run directories are complete: a resume reads them back
            runs.write_json(out / GROUPS, {"groups": group_info})
    if writer:
        runs.write_metrics(out / runs.METRICS, metric_rows)

    table = []
    for index, values in enumerate(swept):
        for s, r in enumerate(eval_results[index]):
            table.append(
                {
                    "config": index,
                    **{k: _cell(values.get(k)) for k in keys},
                    "seed": s,
                    "eval_mean": r.mean,
                    "eval_ci95_lo": r.ci95[0],
                    "eval_ci95_hi": r.ci95[1],
                    "eval_std": r.std,
                    "eval_episodes": r.episodes,
                    "train_return": float(train_returns[index, s]),
                    "group": int(group_of[index]),
                    "group_wall_s": float(group_wall[index]),
                }
            )
    if writer:
        runs.write_metrics(out / "results.csv", table)

    per_config = []
    for index, values in enumerate(swept):
        across = evaluate_lib.summarize([r.mean for r in eval_results[index]])
        per_config.append(
            {
                "config": index,
                "values": values,
                "mean": across.mean,
                "ci95": list(across.ci95),
                "seed_means": [r.mean for r in eval_results[index]],
            }
        )
    best_index = int(np.argmax([p["mean"] for p in per_config]))
    best = per_config[best_index]
    best_group = groups[group_of[best_index]]
    best_config = best_group.configs[best_group.indices.index(best_index)]
    summary = {
        "command": "sweep",
        **asked,
        "best": {**best, "config_full": training.config_dict(best_config)},
        "config": training.config_dict(best_config),
        "eval": training.eval_block(eval_results[best_index]),
        "configurations": per_config,
        "groups": group_info,
        "devices": devices,
        "memory_gb": memory_gb,
        "total_steps": group_info[group_of[best_index]]["total_steps"],  # the best's, per seed
        "runs": n_configs * seeds,
        "compile_s": compile_s,
        "wall_s": time.perf_counter() - start,
        "eval_crn": eval_results[best_index][0].crn,
        "machine": runs.machine(),
    }
    if writer:
        runs.write_json(out / runs.SUMMARY, summary)
        figure(
            per_config, grid if not ranges else {}, out / "sweep.png", f"{algo.upper()} on {env_id}"
        )
    return summary


GROUPS = "groups.json"  # the groups done so far, each written once its run directories are
INTEGER_COLUMNS = ("seed", "update", "env_steps", "episodes")  # of a metrics row


def check_same_settings(out: Path, record: dict[str, Any]) -> None:
    """``ValueError`` naming ``out``'s config.json and each setting where the sweep it
    describes differs from ``record`` (a resume must continue the same sweep)."""
    saved = runs.read_json(out / runs.CONFIG)
    differences = [
        f"{key}={saved.get(key)!r} there but {value!r} here"
        for key, value in runs.jsonable(record).items()
        if json.dumps(saved.get(key), sort_keys=True) != json.dumps(value, sort_keys=True)
    ]
    if differences:
        shown = "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
        raise ValueError(f"{out / runs.CONFIG} describes another sweep: {shown}")


def read_groups(out: Path) -> list[dict[str, Any]]:
    """The groups a sweep in ``out`` finished, in order ([] where none did)."""
    if not (out / GROUPS).exists():
        return []
    groups = runs.read_json(out / GROUPS).get("groups")
    if not isinstance(groups, list):
        raise ValueError(f"{out / GROUPS} holds no list of groups")
    return groups


def load_group(out: Path, group: Group, seeds: int, info: dict[str, Any]) -> GroupResult:
    """A finished group read back from its run directories ``out/runs/c<index>``, as
    ``train_group`` returned it (no learned parameters: they are on disk already). A missing
    or unreadable file is a ``ValueError`` naming it."""
    evals, train_return, rows = [], [], []
    for c, index in enumerate(group.indices):
        run_dir = out / "runs" / f"c{index}"
        try:
            summary = runs.read_json(run_dir / runs.SUMMARY)
            returns = np.load(run_dir / "eval_returns.npy", allow_pickle=False)
            metrics = runs.read_metrics(run_dir / runs.METRICS)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(
                f"{run_dir} of a finished group cannot be read ({error}); delete {out / GROUPS} "
                f"to train every group again"
            ) from None
        if returns.shape[0] != seeds or len(metrics) % seeds:
            raise ValueError(f"{run_dir} holds runs of another number of seeds than {seeds}")
        evals += [evaluate_lib.summarize(r, summary["eval_crn"]) for r in returns]
        for row in metrics:
            row = {k: int(v) if k in INTEGER_COLUMNS else v for k, v in row.items()}
            rows.append({"run": c * seeds + row["seed"], **row})
        for s in range(seeds):
            last = [r for r in metrics if int(r["seed"]) == s][-1]
            train_return.append(last.get("episode_return", np.nan))
    size = info["batch_size"]  # the order train_group logs in: batch, update, run
    rows.sort(key=lambda r: (r["run"] // size, r["update"], r["run"]))
    return GroupResult(
        None,
        np.array(train_return),
        evals,
        rows,
        info["compile_s"],
        info["train_s"],
        info["wall_s"],
        info["batches"],
        size,
        info["run_bytes_estimate"],
    )


def save_run(
    out: Path,
    env_id: str,
    algo: str,
    group: Group,
    c: int,
    seeds: int,
    seed: int,
    result: GroupResult,
    devices: int = 1,
) -> None:
    """Configuration ``c`` of ``group`` (its ``seeds`` runs in ``result``) as a run directory
    that ``jaxinv evaluate --run`` reads, written as ``jaxinv train`` writes one
    (``training.write_run``, without the learning-curve figure): config.json, metrics.csv,
    checkpoint.msgpack (leaves ``(seeds, ...)``), eval_returns.npy, and a summary.json with
    exactly ``runs.RUN_SUMMARY_KEYS`` (its timings are the group's: see there)."""
    out = runs.prepare(out)
    config, overrides = group.configs[c], group.overrides[c]
    mine = slice(c * seeds, (c + 1) * seeds)
    record = training.run_record(env_id, algo, seeds, seed, overrides, config, "sweep")
    runs.write_json(out / runs.CONFIG, record)
    learner = group.built.learner
    rows = []
    for row in result.rows:
        run, rest = row["run"], {k: v for k, v in row.items() if k not in ("run", "seed")}
        if mine.start <= run < mine.stop:
            rows.append({"seed": run - mine.start, **rest})
    results = result.eval[mine]
    summary = training.run_summary(
        command="sweep",
        env_id=env_id,
        algo=algo,
        config=config,
        overrides=overrides,
        results=results,
        devices=devices,
        total_steps=learner.num_updates * learner.steps_per_update,
        runs_trained=len(group.configs) * seeds,
        train_s=result.train_s,
        compile_s=result.compile_s,
        wall_s=result.wall_s,
    )
    agent = jax.tree.map(lambda x: x[mine], result.agent)
    training.write_run(out, summary, agent, results, rows, figure=False)


def report(summary: dict[str, Any], top: int = 10) -> str:
    """The ranked configurations as text: mean over seeds and its 95% CI across seeds."""
    ranked = sorted(summary["configurations"], key=lambda p: -p["mean"])
    lines = [f"{summary['env']} {summary['algo']} sweep, {summary['seeds']} seed(s) each:"]
    for rank, p in enumerate(ranked[:top], 1):
        lo, hi = (float("nan") if v is None else v for v in p["ci95"])
        values = ", ".join(f"{k}={_short(v)}" for k, v in p["values"].items())
        lines.append(f"  {rank:2d}. {values:<40} mean {p['mean']:10.2f} [{lo:.2f}, {hi:.2f}]")
    if len(ranked) > top:
        lines.append(f"  ... {len(ranked) - top} more in results.csv")
    return "\n".join(lines)


def _cell(value: Any) -> Any:
    """A CSV cell: numbers as they are, anything else as compact JSON."""
    if isinstance(value, int | float | str) or value is None:
        return value
    return json.dumps(value, separators=(",", ":"))


# -- figure --------------------------------------------------------------------------------


def figure(per_config: list[dict[str, Any]], grid: dict[str, list], path: Path, title: str) -> None:
    """A heatmap of the mean over seeds for a two-key grid; else configurations ranked by mean
    with their 95% CI across seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = np.array([p["mean"] for p in per_config])
    if len(grid) == 2 and len(per_config) == math.prod(len(v) for v in grid.values()):
        (row_key, row_values), (col_key, col_values) = grid.items()
        table = means.reshape(len(row_values), len(col_values))
        fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(col_values), 1.4 + 0.8 * len(row_values)))
        image = ax.imshow(table, cmap="viridis", aspect="auto")
        for i, j in itertools.product(range(len(row_values)), range(len(col_values))):
            p = per_config[i * len(col_values) + j]
            lo, hi = p["ci95"]
            half = (hi - lo) / 2 if np.isfinite([lo, hi]).all() else float("nan")
            text = f"{p['mean']:.1f}" + (f"\n±{half:.1f}" if np.isfinite(half) else "")
            light = image.norm(p["mean"]) > 0.6  # viridis is light at the top: dark text
            ax.text(j, i, text, ha="center", va="center", color="k" if light else "w", fontsize=8)
        ax.set_xticks(range(len(col_values)), [str(v) for v in col_values])
        ax.set_yticks(range(len(row_values)), [str(v) for v in row_values])
        ax.set_xlabel(col_key)
        ax.set_ylabel(row_key)
        fig.colorbar(image, ax=ax, label="evaluation return (mean over seeds)")
    else:
        ranked = np.argsort(-means)
        fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * len(per_config)))
        y = np.arange(len(ranked))
        lows = np.array([per_config[i]["ci95"][0] for i in ranked], float)
        highs = np.array([per_config[i]["ci95"][1] for i in ranked], float)
        err = np.nan_to_num(np.stack([means[ranked] - lows, highs - means[ranked]]))
        ax.errorbar(means[ranked], y, xerr=err, fmt="o", capsize=3)
        labels = [
            ", ".join(f"{k}={_short(v)}" for k, v in per_config[i]["values"].items())
            for i in ranked
        ]
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("evaluation return (mean over seeds, 95% CI)")
        ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
