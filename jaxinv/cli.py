"""``jaxinv`` on the command line: thin over the library.

    jaxinv demo [--env InvManagement-v1] [--envs 16384] [--periods N] [--set key=value ...]
    jaxinv train --env ID --algo {ppo,a2c,dqn} [--seeds N] [--total-steps N]
                 [--set key=value ...] [--devices N] [--checkpoint-every K] --out DIR [--overwrite]
    jaxinv train --resume DIR [--episodes N] [--checkpoint-every K]
                 [--coordinator HOST:PORT --num-processes N --process-id I]
    jaxinv evaluate --run DIR [--episodes N] [--sampled] [--against DIR]
    jaxinv baseline --env ID --policy NAME [--set key=value ...] [--out DIR [--overwrite]]
    jaxinv sweep --env ID --algo A --grid key=v1,v2 [--grid ...] [--random N --range k=lo:hi[:log]]
                 [--seeds N] [--total-steps N] [--set key=value ...] [--devices N] --out DIR
                 [--overwrite] [--coordinator HOST:PORT --num-processes N --process-id I]
    jaxinv sweep --resume DIR [--quiet]
    jaxinv compare --env ID [--algos ppo,a2c,dqn] [--seeds N] [--total-steps N] [--episodes N]
                 [--baselines a,b] [--set key=value ...] --out DIR [--overwrite]
    jaxinv compare --resume DIR [--quiet]
    jaxinv envs [ID [--set key=value ...]]
    jaxinv recommend --run DIR [--state FILE.json] [--set field=value ...] [--seed N]
                 [--baseline DIR | --no-baseline]

Every command that writes ``--out`` refuses a directory that already holds a jaxinv run (or
other files) before any work, naming what is there: ``train --resume DIR`` continues a
training run, ``--overwrite`` replaces it. One process at a time writes a directory
(``runs.lock``). JAX's persistent compilation cache lives in ``$XDG_CACHE_HOME/jaxinv/jax``
(``~/.cache/jaxinv/jax``); ``JAXINV_COMPILATION_CACHE=0`` turns it off, ``=PATH`` moves it.
Argument parsing imports nothing heavy, so ``--help`` is instant; each command imports JAX
and the library when it runs.

``--set`` values are JSON (else plain strings); keys starting with ``env.`` configure the
environment (``--set env.periods=10``), the others the algorithm or the baseline policy.

``demo`` steps thousands of envs in parallel on every CPU core under the env family's demo
policies (InvManagement: uniformly random orders, and a constant order of mean demand at every
stage; RetailStore: random orders and the article's (s, S)) and prints the throughput and the
mean episode return of each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["L=[2,3,4]", "alpha=0.9"]`` -> config dict; values are JSON, else plain strings."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        try:
            config[key] = json.loads(text)
        except json.JSONDecodeError:
            config[key] = text
    return config


def demo(args: argparse.Namespace) -> None:
    """The family's demo policies on many envs at once: throughput and mean returns."""
    import jax
    import numpy as np

    from jaxinv import families, simulate
    from jaxinv.evaluate import default_num_steps

    try:
        env, params = families.make(args.env, **parse_overrides(args.set))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    family = families.family_of(args.env)
    if family.demo_policies is None:
        raise SystemExit(f"error: the {family.name} family declares no demo policies")
    policies = family.demo_policies(env, params)
    horizon = default_num_steps(env)
    periods = 10 * horizon if args.periods is None else args.periods
    if periods < horizon:
        raise SystemExit(
            f"error: --periods {periods} is shorter than one {args.env} episode ({horizon} "
            f"periods): no episode would end"
        )
    devices = jax.local_devices()
    num_envs = args.envs - args.envs % len(devices)
    print(
        f"{env.name}: {num_envs} envs x {periods} periods "
        f"({periods // horizon} episodes each) on {len(devices)} {jax.default_backend()} "
        f"device(s)"
    )
    for name, policy in policies.items():
        start = time.perf_counter()
        rollout = simulate.shard_over_devices(
            lambda n, policy=policy: simulate.make_rollout(env, params, policy, n, periods),
            num_envs,
            devices,
        )
        jax.block_until_ready(rollout(jax.random.key(args.seed)))
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        total, episodes = jax.block_until_ready(rollout(jax.random.key(args.seed + 1)))
        run_s = time.perf_counter() - start
        per_env = np.asarray(total) / np.maximum(np.asarray(episodes), 1)
        half_width = 1.96 * per_env.std(ddof=1) / np.sqrt(per_env.size)
        print(
            f"  {name:<28} mean return {per_env.mean():9.2f} ± {half_width:.2f} (95% CI) | "
            f"{num_envs * periods / run_s / 1e6:6.2f}M steps/s "
            f"(first call incl. compile {compile_s:.1f}s)"
        )


def _fail(error: Exception) -> SystemExit:
    return SystemExit(f"error: {error}")


def train(args: argparse.Namespace) -> None:
    """Train ``--seeds`` agents, checkpoint, evaluate the greedy policies, write ``--out``."""
    import jax

    from jaxinv import training

    _join_cluster(args)
    devices = args.devices
    if devices is None:  # one device, or every process's devices in a multi-process run
        devices = jax.device_count() if jax.process_count() > 1 else 1
    if args.resume is not None:
        if args.overwrite:
            raise SystemExit("error: --resume continues a run, --overwrite replaces it: not both")
        with claimed(args.resume, "train", resume=True):
            summary = _resume(args, args.devices)
        return _print_train(args, summary)
    if args.algo is None or args.out is None:
        raise SystemExit("error: train needs --algo and --out (or --resume DIR)")
    args.env = "InvManagement-v1" if args.env is None else args.env
    args.seeds = 1 if args.seeds is None else args.seeds
    args.seed = 0 if args.seed is None else args.seed
    overrides = parse_overrides(args.set)
    if args.total_steps is not None:
        overrides["total_steps"] = args.total_steps
    if args.seeds < 1:
        raise SystemExit("error: --seeds must be at least 1")
    try:  # every setting checked before --out is touched (--overwrite deletes what is there)
        training.check_checkpoint_every(args.checkpoint_every)
        resolved = training.resolved_overrides(args.env, args.algo, overrides)
        training.build(args.env, args.algo, resolved)
    except ValueError as error:
        raise _fail(error) from None
    with claimed(args.out, "train", overwrite=args.overwrite):
        try:
            summary = training.train_run(
                args.env,
                args.algo,
                overrides,
                args.out,
                seeds=args.seeds,
                seed=args.seed,
                episodes=args.episodes,
                progress=not args.quiet,
                devices=devices,
                checkpoint_every=args.checkpoint_every,
            )
        except ValueError as error:
            raise _fail(error) from None
    _print_train(args, summary)


@contextlib.contextmanager
def claimed(
    out: str, command: str, *, overwrite: bool = False, resume: bool = False
) -> Iterator[None]:
    """Hold ``out``'s lock (``runs.lock``) while ``command`` writes it. A fresh run (not
    ``resume``) is refused a directory that holds a jaxinv run or anything else, before any
    work, unless ``overwrite``: a run there is then deleted, other files are left and written
    over. In a multi-process run only process 0 writes, so only it takes the lock."""
    from jaxinv import runs

    if not _is_writer():
        yield
        return
    try:
        held = runs.lock(out, command)
    except (runs.Locked, ValueError, OSError) as error:
        raise _fail(error) from None
    try:
        if not resume:
            check_fresh(out, command, overwrite)
        yield
    finally:
        runs.unlock(held)


def _is_writer() -> bool:
    from jaxinv import distributed

    return distributed.is_writer()


def check_fresh(out: str, command: str, overwrite: bool) -> None:
    """Refuse (``SystemExit`` naming what is there and the ways on) to start ``command`` in
    ``out`` if it holds a jaxinv run or other files, unless ``overwrite``; with it, delete a
    run found there."""
    from jaxinv import runs

    found = runs.find_run(out)
    if found is not None:
        if overwrite:
            runs.clear(out)
            return
        if found.finished and found.command == "train":
            on = f"It finished, so there is nothing to resume (jaxinv evaluate --run {out})"
        elif found.finished:
            on = "It finished"
        elif found.resumable:
            on = f"To continue it: jaxinv {found.command} --resume {out}"
        elif found.command == "train":
            on = "It saved no training state to continue from"
        else:
            on = f"jaxinv {found.command} has no --resume to continue it"
        raise SystemExit(
            f"error: --out {out} already holds {found.what}. {on}; to replace it: the same "
            f"command with --overwrite (deletes what is in {out}); or choose another --out"
        )
    names = runs.entries(out)
    if names and not overwrite:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise SystemExit(
            f"error: --out {out} is not empty and holds no jaxinv run ({len(names)} "
            f"entr{'y' if len(names) == 1 else 'ies'}: {shown}). Choose another --out, or add "
            f"--overwrite to write {command}'s files into it anyway (files of the same names "
            f"are replaced, nothing else is deleted)"
        )


def _join_cluster(args: argparse.Namespace) -> None:
    """In a multi-process run (``--coordinator`` ... or ``JAXINV_*``), start this command again
    with the distributed system initialised first (``distributed.relaunch``; does not return
    until it is); in a normal run, nothing."""
    import jax

    from jaxinv import distributed

    try:
        cluster = distributed.cluster_from(args.coordinator, args.num_processes, args.process_id)
    except ValueError as error:
        raise _fail(error) from None
    if cluster is not None and not jax.distributed.is_initialized():
        distributed.relaunch(cluster, args.argv)  # does not return


def _print_train(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    """The lines ``jaxinv train`` ends with: evaluation, steps, times, run directory."""
    import jax

    if jax.process_count() > 1:
        print(f"process {jax.process_index()} of {jax.process_count()}:", end=" ")
    _print_eval(f"{args.algo} greedy policy", summary)
    print(
        f"  {summary['total_steps'] * summary['seeds'] / 1e6:.2f}M env steps in "
        f"{summary['train_s']:.1f}s ({summary['steps_per_s'] / 1e3:.1f}k steps/s), compile "
        f"{summary['compile_s']:.1f}s, wall {summary['wall_s']:.1f}s -> {args.out}"
    )


def _resume(args: argparse.Namespace, devices: int | None) -> dict[str, Any]:
    """``train --resume DIR``: the run's own settings from DIR/config.json; flags that would
    change them are refused unless they repeat the saved values. Sets ``args.algo``/``out``."""
    from jaxinv import runs, training

    run_dir = Path(args.resume)
    try:
        saved = runs.read_json(run_dir / runs.CONFIG)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    given = {
        "--env": (args.env, saved["env"]),
        "--algo": (args.algo, saved["algo"]),
        "--seeds": (args.seeds, saved["seeds"]),
        "--seed": (args.seed, saved["seed"]),
        "--total-steps": (args.total_steps, saved["config"].get("total_steps")),
        "--out": (args.out and Path(args.out).resolve(), run_dir.resolve()),
    }
    conflicts = [
        f"{flag} {ours} (the run has {theirs})"
        for flag, (ours, theirs) in given.items()
        if ours is not None and ours != theirs
    ]
    for key, value in parse_overrides(args.set).items():
        if key not in saved["overrides"] or saved["overrides"][key] != value:
            theirs = saved["overrides"].get(key, "its default")
            conflicts.append(f"--set {key}={json.dumps(value)} (the run has {theirs})")
    if conflicts:
        raise SystemExit(
            f"error: --resume {run_dir} continues the run as {run_dir / runs.CONFIG} describes "
            f"it; these flags would change it: {'; '.join(conflicts)}. Leave them out, or "
            f"train afresh into another --out"
        )
    try:
        summary = training.resume_run(
            run_dir,
            episodes=args.episodes,
            progress=not args.quiet,
            checkpoint_every=args.checkpoint_every,
            devices=devices,
        )
    except (FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    args.algo, args.out = saved["algo"], str(run_dir)
    return summary


def evaluate(args: argparse.Namespace) -> None:
    """Re-evaluate a run's checkpoint; optionally pair it with another run or baseline."""
    import numpy as np

    from jaxinv import evaluate as evaluate_lib
    from jaxinv import runs, training

    try:
        loaded = training.load_run(args.run)
    except (ValueError, FileNotFoundError) as error:
        raise _fail(error) from None
    episodes = args.episodes
    if episodes is None and (Path(args.run) / runs.SUMMARY).exists():
        episodes = runs.read_json(Path(args.run) / runs.SUMMARY)["eval_per_seed"][0]["episodes"]
    results = training.evaluate_agents(
        loaded.built, loaded.agent, episodes, greedy=not args.sampled
    )
    kind = "sampled" if args.sampled else "greedy"
    for seed, result in enumerate(results):
        lo, hi = result.ci95
        print(
            f"{loaded.config['algo']} seed {seed} ({kind}): mean {result.mean:.2f} "
            f"[{lo:.2f}, {hi:.2f}] 95% CI, std {result.std:.2f}, {result.episodes} episodes"
        )
    report = {"kind": kind, "eval_per_seed": [r.as_dict() for r in results]}
    if args.against:
        other_dir = Path(args.against)
        try:
            other = np.load(other_dir / "eval_returns.npy", allow_pickle=False)
            other_summary = runs.read_json(other_dir / runs.SUMMARY)
        except (OSError, ValueError) as error:
            raise _fail(error) from None
        other_result = evaluate_lib.summarize(other[0], other_summary.get("eval_crn", ""))
        name = other_summary.get("policy") or other_summary.get("algo")
        report["against"] = {"run": str(other_dir), "name": name, "pairs": []}
        for seed, result in enumerate(results):
            try:
                diff = evaluate_lib.paired_difference(result, other_result)
            except ValueError as error:
                raise _fail(error) from None
            lo, hi = diff.ci95
            verdict = "better" if lo > 0 else "worse" if hi < 0 else "not distinguishable"
            print(
                f"  seed {seed} minus {name}: {diff.mean:+.2f} [{lo:+.2f}, {hi:+.2f}] paired "
                f"95% CI over {diff.episodes} episodes: {verdict}"
            )
            report["against"]["pairs"].append(
                {"seed": seed, "mean": diff.mean, "std": diff.std, "ci95": list(diff.ci95)}
            )
    runs.write_json(Path(args.run) / f"evaluate_{kind}.json", report)


def baseline(args: argparse.Namespace) -> None:
    """Fit (search) a hand-made policy and evaluate it on the evaluation set."""
    from jaxinv import baselines

    claim = contextlib.nullcontext()
    if args.out is not None:
        claim = claimed(args.out, "baseline", overwrite=args.overwrite)
    with claim:
        try:
            summary = baselines.baseline_run(
                args.env, args.policy, parse_overrides(args.set), args.out, episodes=args.episodes
            )
        except ValueError as error:
            raise _fail(error) from None
    _print_eval(f"{args.policy} {summary['params']}", summary)
    print(f"  fitted in {summary['fit_s']:.1f}s, wall {summary['wall_s']:.1f}s")


def _print_eval(name: str, summary: dict[str, Any]) -> None:
    block = summary["eval"]
    lo, hi = block["ci95"]
    print(
        f"{summary['env']} {name}: mean return {block['mean']:.2f} [{lo:.2f}, {hi:.2f}] "
        f"95% CI, std {block['std']:.2f}, {block['episodes']} evaluation episodes"
    )


def compare(args: argparse.Namespace) -> None:
    """Train learners (seeds vmapped) and evaluate them beside the baselines; write tables."""
    from jaxinv import compare as compare_lib

    resume = args.resume is not None
    if resume:
        if args.overwrite:
            raise SystemExit("error: --resume continues a run, --overwrite replaces it: not both")
        overrides = _compare_resume_settings(args)
    else:
        if args.out is None:
            raise SystemExit("error: compare needs --out (or --resume DIR)")
        args.env = "InvManagement-v1" if args.env is None else args.env
        args.algos = "ppo,a2c,dqn" if args.algos is None else args.algos
        args.seeds = compare_lib.DEFAULT_SEEDS if args.seeds is None else args.seeds
        args.seed = 0 if args.seed is None else args.seed
        overrides = parse_overrides(args.set)
    names = None
    if args.baselines is not None:
        names = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    try:  # every setting checked before --out is touched (--overwrite deletes what is there)
        learners = compare_lib.parse_learners(args.algos)
        compare_lib.plan(args.env, learners, args.seeds, args.total_steps, names, overrides)
    except ValueError as error:
        raise _fail(error) from None
    with claimed(args.out, "compare", overwrite=args.overwrite, resume=resume):
        try:
            summary = compare_lib.compare_run(
                args.env,
                learners,
                args.out,
                seeds=args.seeds,
                seed=args.seed,
                total_steps=args.total_steps,
                episodes=args.episodes,
                baseline_names=names,
                overrides=overrides,
                progress=not args.quiet,
                resume=resume,
            )
        except (FileNotFoundError, ValueError) as error:
            raise _fail(error) from None
    print((Path(args.out) / "results.md").read_text())
    print(f"wall {summary['wall_s']:.1f}s -> {args.out}")


def _compare_resume_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``compare --resume DIR``: the comparison's own settings from DIR/config.json, set on
    ``args`` (and its overrides returned); flags that would change them are refused unless
    they repeat the saved values."""
    from jaxinv import compare as compare_lib
    from jaxinv import runs

    run_dir = Path(args.resume)
    try:
        saved = runs.read_json(run_dir / runs.CONFIG)
        if saved.get("command") != "compare" or "algos" not in saved:
            raise ValueError(f"{run_dir / runs.CONFIG} does not describe a jaxinv comparison")
        ours = compare_lib.parse_learners(args.algos) if args.algos is not None else None
    except (FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    names = args.baselines and [b.strip() for b in args.baselines.split(",") if b.strip()]
    given = {
        "--env": (args.env, saved["env"]),
        "--algos": (ours, saved["algos"]),
        "--seeds": (args.seeds, saved["seeds"]),
        "--seed": (args.seed, saved["seed"]),
        "--total-steps": (args.total_steps, saved["total_steps"]),
        "--episodes": (args.episodes, saved.get("episodes")),
        "--baselines": (names, saved["baselines"]),
        "--out": (args.out and Path(args.out).resolve(), run_dir.resolve()),
    }
    conflicts = [
        f"{flag} {ours} (the comparison has {theirs})"
        for flag, (ours, theirs) in given.items()
        if ours is not None and ours != theirs
    ]
    for key, value in parse_overrides(args.set).items():
        if saved["overrides"].get(key, object()) != value:
            theirs = saved["overrides"].get(key, "its default")
            conflicts.append(f"--set {key}={json.dumps(value)} (the comparison has {theirs})")
    if conflicts:
        raise SystemExit(
            f"error: --resume {run_dir} continues the comparison as {run_dir / runs.CONFIG} "
            f"describes it; these flags would change it: {'; '.join(conflicts)}. Leave them "
            f"out, or compare afresh into another --out"
        )
    args.env, args.seeds, args.seed = saved["env"], saved["seeds"], saved["seed"]
    args.algos = ",".join(
        a if a == label else f"{label}={a}" for label, a in saved["algos"].items()
    )
    args.total_steps, args.episodes = saved["total_steps"], saved.get("episodes")
    args.baselines, args.out = ",".join(saved["baselines"]), str(run_dir)
    return saved["overrides"]


def sweep(args: argparse.Namespace) -> None:
    """Every configuration of a grid (or random draws) x seeds, trained together; ranked."""
    import jax

    from jaxinv import sweep as sweep_lib

    _join_cluster(args)
    overrides = parse_overrides(args.set)
    if args.total_steps is not None:
        overrides["total_steps"] = args.total_steps
    resume = args.resume is not None
    try:  # every setting checked before --out is touched (--overwrite deletes what is there)
        grid, ranges = sweep_lib.parse_grid(args.grid), sweep_lib.parse_ranges(args.range)
        if resume:
            if args.overwrite:
                raise ValueError("--resume continues a run, --overwrite replaces it: not both")
            grid, ranges, overrides = _sweep_resume_settings(args, grid, ranges, overrides)
            if (args.devices or 1) > 1:  # as it ran: one CPU device per core
                use_every_core(args.argv)
        elif args.algo is None or args.out is None:
            raise ValueError("sweep needs --algo and --out (or --resume DIR)")
        args.env = "InvManagement-v1" if args.env is None else args.env
        args.seeds = 1 if args.seeds is None else args.seeds
        args.seed = 0 if args.seed is None else args.seed
        args.random = 0 if args.random is None else args.random
        args.memory_gb = sweep_lib.DEFAULT_MEMORY_GB if args.memory_gb is None else args.memory_gb
        swept = sweep_lib.points(grid, ranges, args.random, args.seed)
        sweep_lib.plan(args.env, args.algo, overrides, swept)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    with claimed(args.out, "sweep", overwrite=args.overwrite, resume=resume):
        try:
            summary = sweep_lib.sweep_run(
                args.env,
                args.algo,
                args.out,
                grid=grid,
                ranges=ranges,
                num_random=args.random,
                overrides=overrides,
                seeds=args.seeds,
                seed=args.seed,
                devices=len(jax.devices()) if args.devices is None else args.devices,
                memory_gb=args.memory_gb,
                episodes=args.episodes,
                progress=not args.quiet,
                resume=resume,
            )
        except (FileNotFoundError, ValueError) as error:
            raise _fail(error) from None
    if jax.process_count() > 1:
        print(f"process {jax.process_index()} of {jax.process_count()}:", end=" ")
    print(sweep_lib.report(summary))
    print(
        f"  {summary['runs']} runs x {summary['total_steps'] / 1e6:.2f}M env steps, compile "
        f"{summary['compile_s']:.1f}s, wall {summary['wall_s']:.1f}s -> {args.out}"
    )


def _sweep_resume_settings(
    args: argparse.Namespace, grid: dict, ranges: dict, overrides: dict[str, Any]
) -> tuple[dict, dict, dict[str, Any]]:
    """``sweep --resume DIR``: the sweep's own settings from DIR/config.json, set on ``args``
    (grid, ranges and overrides returned); ``ValueError`` for flags that would change them,
    unless they repeat the saved values."""
    from jaxinv import runs
    from jaxinv import sweep as sweep_lib

    run_dir = Path(args.resume)
    saved = runs.read_json(run_dir / runs.CONFIG)
    if "configurations" not in saved:
        raise ValueError(f"{run_dir / runs.CONFIG} does not describe a jaxinv sweep")
    saved_ranges = {k: sweep_lib.Range(**r) for k, r in saved["random"]["ranges"].items()}
    given = {
        "--env": (args.env, saved["env"]),
        "--algo": (args.algo, saved["algo"]),
        "--grid": (grid or None, saved["grid"]),
        "--random": (args.random, saved["random"]["n"]),
        "--range": (ranges or None, saved_ranges),
        "--seeds": (args.seeds, saved["seeds"]),
        "--seed": (args.seed, saved["seed"]),
        "--episodes": (args.episodes, saved.get("episodes")),
        "--devices": (args.devices, saved.get("devices")),
        "--memory-gb": (args.memory_gb, saved.get("memory_gb")),
        "--out": (args.out and Path(args.out).resolve(), run_dir.resolve()),
    }
    conflicts = [
        f"{flag} {ours} (the sweep has {theirs})"
        for flag, (ours, theirs) in given.items()
        if ours is not None and ours != theirs
    ]
    for key, value in overrides.items():
        if saved["overrides"].get(key, object()) != value:
            theirs = saved["overrides"].get(key, "its default")
            conflicts.append(f"--set {key}={json.dumps(value)} (the sweep has {theirs})")
    if conflicts:
        raise ValueError(
            f"--resume {run_dir} continues the sweep as {run_dir / runs.CONFIG} describes it; "
            f"these flags would change it: {'; '.join(conflicts)}. Leave them out, or sweep "
            f"afresh into another --out"
        )
    args.env, args.algo, args.seeds, args.seed = (
        saved[k] for k in ("env", "algo", "seeds", "seed")
    )
    args.random, args.episodes = saved["random"]["n"], saved.get("episodes")
    args.devices, args.memory_gb, args.out = (
        saved.get("devices"),
        saved.get("memory_gb"),
        str(run_dir),
    )
    return saved["grid"], saved_ranges, saved["overrides"]


def envs(args: argparse.Namespace) -> None:
    """Every registered env id with its description; or one id's config, spaces, baselines."""
    from jaxinv import catalog

    if args.id is None:
        if args.set:
            raise SystemExit("error: --set configures one env: give its id (jaxinv envs ID)")
        print(catalog.listing())
        return
    try:
        print(catalog.describe(args.id, parse_overrides(args.set)))
    except ValueError as error:
        raise _fail(error) from None


def read_state_fields(path: str | None, pairs: list[str]) -> dict[str, Any]:
    """The state fields of ``--state FILE.json`` (a JSON object), then ``--set FIELD=VALUE``
    over them; ``SystemExit`` naming the file for one that is missing or not a JSON object."""
    fields: dict[str, Any] = {}
    if path is not None:
        try:
            fields = json.loads(Path(path).read_text())
        except OSError as error:
            raise SystemExit(f"error: --state {path}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise SystemExit(f"error: --state {path} is not JSON ({error})") from None
        if not isinstance(fields, dict):
            raise SystemExit(
                f"error: --state {path} holds a JSON {type(fields).__name__}, not an object "
                f'of state fields (e.g. {{"on_hand": 12, "pipeline": [3, 0]}})'
            )
    return {**fields, **parse_overrides(pairs)}


def recommend(args: argparse.Namespace) -> None:
    """The order the policy in ``--run`` places in the user's state, the reference's beside."""
    from jaxinv import recommend as recommend_lib

    fields = read_state_fields(args.state, args.set)
    if not fields:
        raise SystemExit("error: recommend needs the state: --state FILE.json or --set FIELD=V")
    try:
        loaded = recommend_lib.load_policy(args.run, seed=args.seed)
        recommend_lib.state_from_fields(loaded.env, loaded.params, fields)  # before any fit
        reference, source = None, ""
        if args.baseline is not None:
            reference, source = recommend_lib.load_policy(args.baseline), args.baseline
        elif not args.no_baseline:
            reference, source = recommend_lib.reference_policy(loaded), "fitted now"
        result = recommend_lib.recommend(loaded, fields, reference, source)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    print(recommend_lib.report(result))


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """The multi-process flags (each with its environment variable)."""
    p.add_argument(
        "--coordinator", default=None, help="HOST:PORT of process 0 (env JAXINV_COORDINATOR)"
    )
    p.add_argument(
        "--num-processes", type=int, default=None, help="processes (env JAXINV_NUM_PROCESSES)"
    )
    p.add_argument("--process-id", type=int, default=None, help="0.. (env JAXINV_PROCESS_ID)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxinv", description="Inventory RL in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="step many supply chains in parallel; print throughput")
    p.add_argument("--env", default="InvManagement-v1")
    p.add_argument("--envs", type=int, default=16384, help="chains stepped in parallel")
    p.add_argument(
        "--periods", type=int, default=None, help="periods each env is stepped (10 episodes)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config override, value as JSON (e.g. L=[2,3,4])",
    )
    p.set_defaults(func=demo)

    set_help = "override, value as JSON; env.KEY configures the env (e.g. env.periods=10)"
    p = sub.add_parser("train", help="train an agent; writes a run directory")
    p.add_argument("--env", default=None, help="env id (default InvManagement-v1)")
    p.add_argument("--algo", default=None, help="ppo, a2c or dqn (needed unless --resume)")
    p.add_argument(
        "--seeds", type=int, default=None, help="independent agents trained at once (default 1)"
    )
    p.add_argument("--seed", type=int, default=None, help="(default 0)")
    p.add_argument("--total-steps", type=int, default=None, help="env steps per seed")
    p.add_argument("--episodes", type=int, default=None, help="evaluation episodes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    p.add_argument("--out", default=None, help="run directory (created if needed)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (refused without it)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the run in DIR from its last saved training state, with its own settings",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="K",
        help="save the whole training state every K updates, rounded up to whole chunks "
        "(default: about every tenth of the run; always at the end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--devices",
        type=int,
        default=None,
        help="devices to train on: seeds split over them, else the envs "
        "(default 1; all of them in a multi-process run)",
    )
    add_cluster_flags(p)
    p.set_defaults(func=train)

    p = sub.add_parser("evaluate", help="evaluate a trained run's checkpoint")
    p.add_argument("--run", required=True, help="run directory written by jaxinv train")
    p.add_argument("--episodes", type=int, default=None)
    p.add_argument("--sampled", action="store_true", help="sample actions instead of greedy")
    p.add_argument("--against", default=None, help="run or baseline directory to pair with")
    p.set_defaults(func=evaluate)

    p = sub.add_parser("baseline", help="fit and evaluate a hand-made policy")
    p.add_argument("--env", default="InvManagement-v1")
    p.add_argument("--policy", required=True, help="e.g. base_stock, constant, random")
    p.add_argument("--episodes", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    p.add_argument("--out", default=None)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (refused without it)",
    )
    p.set_defaults(func=baseline)

    p = sub.add_parser("compare", help="learners (many seeds) against baselines, one table")
    p.add_argument("--env", default=None, help="env id (default InvManagement-v1)")
    p.add_argument("--algos", default=None, help="e.g. ppo,a2c,dqn (the default) or ppo_full=ppo")
    p.add_argument("--seeds", type=int, default=None, help="seeds per learner, vmapped (4)")
    p.add_argument("--seed", type=int, default=None, help="(default 0)")
    p.add_argument("--total-steps", type=int, default=None, help="env steps per seed, all")
    p.add_argument("--episodes", type=int, default=None, help="evaluation episodes")
    p.add_argument("--baselines", default=None, help="comma list (default: the env's)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env.KEY for all; NAME.KEY for one learner label or baseline (e.g. ppo.lr=3e-4)",
    )
    p.add_argument("--out", default=None, help="comparison directory (created if needed)")
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the comparison in DIR with its own settings: finished policies are "
        "kept, the others run",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (refused without it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=compare)

    p = sub.add_parser("sweep", help="hyperparameter grid x seeds in one compiled call")
    p.add_argument("--env", default=None, help="env id (default InvManagement-v1)")
    p.add_argument("--algo", default=None, help="ppo, a2c or dqn (needed unless --resume)")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="config key and its values (JSON each; env.KEY too), e.g. lr=1e-4,3e-4",
    )
    p.add_argument("--random", type=int, default=None, metavar="N", help="random configurations")
    p.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="KEY=LO:HI[:log]",
        help="uniform (or log-uniform) range for --random, e.g. lr=1e-4:1e-2:log",
    )
    p.add_argument("--seeds", type=int, default=None, help="seeds per configuration (1)")
    p.add_argument("--seed", type=int, default=None, help="(default 0)")
    p.add_argument("--total-steps", type=int, default=None, help="env steps per run")
    p.add_argument("--episodes", type=int, default=None, help="evaluation episodes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    p.add_argument(
        "--devices",
        type=int,
        default=None,
        help="devices the runs are split over (default: all; on a CPU, one per core)",
    )
    p.add_argument(
        "--memory-gb", type=float, default=None, help="memory budget; runs batched to fit it (8)"
    )
    p.add_argument("--out", default=None, help="sweep directory (created if needed)")
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the sweep in DIR with its own settings: finished groups are kept",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (refused without it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_cluster_flags(p)
    p.set_defaults(func=sweep)

    p = sub.add_parser("envs", help="list env ids; with an id: its config, spaces, baselines")
    p.add_argument("id", nargs="?", default=None, help="env id to describe")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config for the description (e.g. observation=full), value as JSON",
    )
    p.set_defaults(func=envs)

    p = sub.add_parser("recommend", help="the order a trained policy places in your state")
    p.add_argument("--run", required=True, help="run or baseline directory holding the policy")
    p.add_argument("--state", default=None, metavar="FILE.json", help="state fields, JSON")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a state field, value as JSON (over --state's), e.g. pipeline=[3,0]",
    )
    p.add_argument("--seed", type=int, default=None, help="agent of a multi-seed run (0)")
    beside = p.add_mutually_exclusive_group()
    beside.add_argument(
        "--baseline",
        default=None,
        metavar="DIR",
        help="baseline directory whose order is shown beside (default: the env family's "
        "reference baseline, fitted now)",
    )
    beside.add_argument("--no-baseline", action="store_true", help="the policy's order only")
    p.set_defaults(func=recommend)
    return parser


DEVICE_FLAG = "--xla_force_host_platform_device_count"


def use_every_core(argv: list[str]) -> None:
    """Re-run this command with one XLA CPU device per core, unless the user chose already.

    The flag only takes effect before JAX's backend starts, and importing jaxinv (gymnax)
    starts it, so the command starts once more in a fresh interpreter.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if DEVICE_FLAG in flags or (os.cpu_count() or 1) < 2:
        return
    os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_FLAG}={os.cpu_count()}".strip()
    os.execv(sys.executable, [sys.executable, "-m", "jaxinv.cli", *argv])


CACHE_VAR = "JAXINV_COMPILATION_CACHE"  # 0 (or off): no persistent cache; a path: the cache


def compilation_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the command line keeps JAX's persistent compilation cache: ``$JAXINV_COMPILATION
    _CACHE`` if it names a path, none if it is ``0``/``off``/``false``/``no``, else
    ``$XDG_CACHE_HOME/jaxinv/jax`` (``~/.cache/jaxinv/jax``)."""
    environ = os.environ if environ is None else environ
    value = environ.get(CACHE_VAR, "").strip()
    if value.lower() in ("0", "off", "false", "no"):
        return None
    if value:
        return Path(value).expanduser()
    base = environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "jaxinv" / "jax"


def use_compilation_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Point JAX's persistent compilation cache at ``compilation_cache_dir`` (every program,
    however small or quick to compile: a CPU training chunk compiles in seconds, and the next
    identical run loads it instead); returns the directory, or None where it is off or the
    user set ``JAX_COMPILATION_CACHE_DIR`` (JAX's own setting then stands)."""
    environ = os.environ if environ is None else environ
    path = compilation_cache_dir(environ)
    if path is None or environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    # Runs that need no communication (the demo's chains, a sweep's configurations) go fastest
    # split over one XLA CPU device per core: JAX runs such small kernels on one thread.
    if args.command == "demo" or (
        args.command == "sweep" and args.devices is None and args.resume is None
    ):
        use_every_core(argv)
    if getattr(args, "episodes", None) is not None and args.episodes < 2:
        raise SystemExit("error: --episodes must be at least 2")
    if getattr(args, "envs", 1) < 1 or (getattr(args, "periods", 1) or 1) < 1:
        raise SystemExit("error: --envs and --periods must be positive")
    use_compilation_cache()
    args.func(args)


if __name__ == "__main__":
    main()
