"""Learners against baselines on the same evaluation paths: what ``jaxinv compare`` does.

``compare_run`` trains every learner (all seeds of one learner ``vmap``ped, through
``training.train_run``, each in ``out/<label>``), fits and evaluates the env family's
baselines (``baselines.evaluate_baseline``, each in ``out/<name>``), all on the env's evaluation set
(common random numbers: every policy meets the same demand paths), and writes:

- ``results.md`` and ``results.csv``: one row per policy with the mean over all episodes and its
  95% CI, the mean over seeds and its 95% CI across seed means (a learner's run-to-run spread),
  % of the best bound, the paired difference against the reference baseline, training time;
  then the published figures next to ours (the OR-Gym paper's table, the retail article's);
- ``learning_curves.png``: each learner's training return, the mean over seeds with its 95%
  band (or, with few seeds, each seed's curve: ``plots.compare_curves``),
  against env steps and against wall-clock seconds, with the baselines as horizontal lines;
- the family's own figures (``Family.figures``; RetailStore: ``trajectories.png``, one test
  year's stock and orders under every policy), drawn with the baselines fitted above;
- ``summary.json``: the table, the published rows, wall times and the machine;
- ``config.json``: what was asked for, written first (it marks the directory as a comparison
  while it runs, and ``jaxinv compare --resume`` continues it with these settings).

Learners are named by algorithm (``ppo``) or by ``label=algo`` (``ppo_full=ppo``), so one
algorithm can appear with different settings; ``overrides`` keys are ``env.KEY`` (every
learner and baseline), ``LABEL.KEY`` (one learner, e.g. ``ppo_full.env.observation``) or
``BASELINE.OPTION`` (e.g. ``base_stock.paths``).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import jaxinv
from jaxinv import agents, baselines, families, faults, plots, runs, training
from jaxinv import evaluate as evaluate_lib
from jaxinv.envs.validate import suggest

DEFAULT_SEEDS = 4


@dataclass
class Entry:
    """One policy's evaluation: returns (seeds, episodes) on the shared paths."""

    label: str
    kind: str  # "learner", "baseline" or "bound"
    returns: np.ndarray
    summary: dict[str, Any]


def parse_learners(spec: str) -> dict[str, str]:
    """``"ppo,a2c,ppo_full=ppo"`` -> ``{"ppo": "ppo", "a2c": "a2c", "ppo_full": "ppo"}``."""
    learners: dict[str, str] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        label, _, algo = item.partition("=")
        label, algo = label.strip(), (algo or label).strip()
        if algo not in agents.ALGORITHMS:
            raise ValueError(
                f"--algos: unknown algorithm {algo!r}{suggest(algo, tuple(agents.ALGORITHMS))} "
                f"Choose from: {', '.join(agents.ALGORITHMS)}"
            )
        if not label.isidentifier() or label == "env":
            raise ValueError(f"--algos: label {label!r} must be a name (letters, digits, _)")
        if label in learners:
            raise ValueError(f"--algos: {label!r} appears twice")
        learners[label] = algo
    if not learners:
        raise ValueError("--algos: name at least one algorithm (ppo, a2c, dqn)")
    return learners


def split_by_target(
    overrides: dict[str, Any], targets: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``env.KEY`` overrides for everyone, and ``TARGET.KEY`` overrides per learner/baseline."""
    shared = {k: v for k, v in overrides.items() if k.startswith("env.")}
    own: dict[str, dict[str, Any]] = {t: {} for t in targets}
    for key, value in overrides.items():
        if key.startswith("env."):
            continue
        target, _, rest = key.partition(".")
        if target not in own or not rest:
            raise ValueError(
                f"--set {key!r}: keys are env.KEY (all policies) or NAME.KEY with NAME one of "
                f"{', '.join(targets)}{suggest(target, targets)}"
            )
        own[target][rest] = value
    return shared, own


def plan(
    env_id: str,
    learners: dict[str, str],
    seeds: int,
    total_steps: int | None,
    baseline_names: tuple[str, ...] | None,
    overrides: dict[str, Any] | None,
) -> tuple[tuple[str, ...], dict[str, Any], dict[str, dict[str, Any]], dict[str, dict]]:
    """What a comparison runs, every setting checked before anything trains (``ValueError``
    names a bad one): the baselines, the shared and per-target overrides, and each learner's
    overrides."""
    if seeds < 1:
        raise ValueError(f"seeds={seeds} must be at least 1")
    family = families.family_of(env_id)
    if family.compare is None:
        raise ValueError(f"compare: the {family.name} family declares no comparison for {env_id}")
    available = baselines.names(env_id)
    wanted = family.compare.baselines if baseline_names is None else baseline_names
    for name in wanted:
        if name not in available:
            raise ValueError(
                f"--baselines: unknown baseline {name!r} for {env_id}"
                f"{suggest(name, available)} Choose from: {', '.join(available)}"
            )
    shared, own = split_by_target(overrides or {}, (*learners, *wanted))
    learner_overrides = {}
    for label, algo in learners.items():
        o = {**shared, **own[label]}
        if total_steps is not None:
            o["total_steps"] = total_steps
        training.build(env_id, algo, training.resolved_overrides(env_id, algo, o))
        learner_overrides[label] = o
    return tuple(wanted), shared, own, learner_overrides


def compare_run(
    env_id: str,
    learners: dict[str, str],
    out: str | Path,
    *,
    seeds: int = DEFAULT_SEEDS,
    seed: int = 0,
    total_steps: int | None = None,
    episodes: int | None = None,
    baseline_names: tuple[str, ...] | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``learners`` and evaluate them with the baselines; writes ``out`` (module doc).

    ``resume``: continue the comparison in ``out`` (its config.json must say the same
    settings; ``ValueError`` names each difference): baselines and learners whose run
    directories are complete are read back, not run again (a baseline is fitted again where
    the family's figures draw it); a learner with a saved training state goes on from it
    (``training.resume_run``: learners save their state as ``jaxinv train`` does, about ten
    times a run, so a kill loses at most the chunks since the last one), ending with the
    uninterrupted learner's bits; a learner killed before its first state trains afresh.
    Every evaluation is what the uninterrupted comparison computes; times are this session's.
    """
    start = time.perf_counter()
    family = families.family_of(env_id)
    wanted, shared, own, learner_overrides = plan(
        env_id, learners, seeds, total_steps, baseline_names, overrides
    )
    out = runs.prepare(out)
    asked = {"command": "compare", "env": env_id, "algos": learners, "baselines": list(wanted)}
    asked.update(seeds=seeds, seed=seed, total_steps=total_steps, episodes=episodes)
    asked["overrides"] = overrides or {}
    if resume:
        check_same_settings(out, asked)
    else:
        runs.write_json(out / runs.CONFIG, asked)

    entries: list[Entry] = []
    fitted: dict[str, tuple[Any, Any, Any]] = {}  # baseline -> (policy, env, params)
    for name in wanted:
        kind = family.compare.bound_kind if name == family.compare.bound else "baseline"
        options = {**shared, **own[name]}
        done = finished(out / name) if resume else None
        if done is not None:
            entries.append(Entry(name, kind, *done))
            if family.figures:  # they draw the fitted policies
                fitted[name] = refit(env_id, name, options)
            if progress:
                print(f"baseline {name}: done ({out / name})", flush=True)
            continue
        if progress:
            print(f"baseline {name} ...", flush=True)
        run = baselines.evaluate_baseline(env_id, name, options, episodes=episodes)
        baselines.write_baseline(out / name, run)
        faults.kill_point("policy")  # the fault tests' crash between policies (jaxinv.faults)
        fitted[name] = (run.policy, run.env, run.params)
        entries.append(Entry(name, kind, run.returns[None], run.summary))
        if progress:
            print(f"  {name}: {run.summary['eval']['mean']:.2f}", flush=True)
    for label, algo in learners.items():
        done = finished(out / label) if resume else None
        if done is not None:
            entries.append(Entry(label, "learner", *done))
            if progress:
                print(f"{label}: done ({out / label})", flush=True)
            continue
        if progress:
            print(f"{label} ({algo}, {seeds} seeds) ...", flush=True)
        if resume and has_state(out / label):  # a saved state: go on from it
            summary = training.resume_run(out / label, progress=progress)
        else:
            summary = training.train_run(
                env_id,
                algo,
                learner_overrides[label],
                out / label,
                seeds=seeds,
                seed=seed,
                episodes=episodes,
                progress=progress,
                command="compare",
            )
        returns = np.load(out / label / "eval_returns.npy")
        faults.kill_point("policy")
        entries.append(Entry(label, "learner", returns, summary))

    summary = {
        "command": "compare",
        "env": env_id,
        "algos": learners,
        "baselines": list(wanted),
        "seeds": seeds,
        "seed": seed,
        "config": runs.jsonable(overrides or {}),
        "total_steps": sum(e.summary["total_steps"] * seeds for e in entries),
        "compile_s": sum(e.summary.get("compile_s") or 0.0 for e in entries),
        "eval_crn": entries[0].summary.get("eval_crn"),
        "machine": runs.machine(),
    }
    summary["wall_s"] = time.perf_counter() - start
    summary = write_results(out, summary, entries)
    drawn = [draw_learning_curves(out)]
    context = families.FigureContext(out, env_id, tuple(learners), fitted, family.display)
    drawn += [figure(context) for figure in family.figures]
    summary["figures"] = [path.name for path in drawn]
    summary["wall_s"] = time.perf_counter() - start  # the figures included
    return write_results(out, summary, entries)


def has_state(run_dir: Path) -> bool:
    """Whether a learner's directory holds a training state to resume (complete or not:
    ``training.resume_run`` falls back to the previous one, or names both files)."""
    return any((run_dir / name).exists() for name in (runs.STATE, runs.STATE_PREV))


def check_same_settings(out: Path, asked: dict[str, Any]) -> None:
    """``ValueError`` naming ``out``'s config.json and each setting where the comparison it
    describes differs from ``asked`` (a resume must continue the same comparison)."""
    saved = runs.read_json(out / runs.CONFIG)
    if saved.get("command") != "compare":
        raise ValueError(f"{out / runs.CONFIG} does not describe a jaxinv comparison")
    differences = [
        f"{key}={saved.get(key)!r} there but {value!r} here"
        for key, value in runs.jsonable(asked).items()
        if json.dumps(saved.get(key), sort_keys=True) != json.dumps(value, sort_keys=True)
    ]
    if differences:
        raise ValueError(
            f"{out / runs.CONFIG} describes another comparison: {'; '.join(differences)}"
        )


def finished(run_dir: Path) -> tuple[np.ndarray, dict[str, Any]] | None:
    """``(returns (seeds, episodes), summary)`` of a complete baseline or learner directory of
    a comparison; None where its summary.json (written last) is missing. A summary.json or
    eval_returns.npy that cannot be read is a ``ValueError`` naming it, never skipped."""
    if not (run_dir / runs.SUMMARY).exists():
        return None
    summary = runs.read_json(run_dir / runs.SUMMARY)
    path = run_dir / "eval_returns.npy"
    try:
        returns = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(
            f"{path} cannot be read ({error}); delete {run_dir} to run it again"
        ) from None
    episodes = (summary.get("eval") or {}).get("episodes")
    if returns.ndim != 2 or returns.size != episodes:
        raise ValueError(
            f"{path} holds {returns.shape} returns where {run_dir / runs.SUMMARY} says "
            f"{episodes} episodes; delete {run_dir} to run it again"
        )
    return returns, summary


def refit(env_id: str, name: str, options: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Baseline ``name`` fitted again as the comparison fitted it: ``(policy, env, params)``."""
    env_config, policy_options = training.split_overrides(options)
    env, params = jaxinv.make(env_id, **env_config)
    policy, _, _ = baselines.fit(env_id, name, env, params, policy_options)
    return policy, env, params


def write_results(out: Path, summary: dict[str, Any], entries: list[Entry]) -> dict[str, Any]:
    """The tables from ``entries``: ``results.md``, ``results.csv``, and ``summary`` completed
    with ``eval``, ``table``, ``published`` and ``paired``, written as ``summary.json``."""
    _check_same_paths(entries)
    spec = families.family_of(summary["env"]).compare
    periods = (
        evaluate_lib.crn_periods(entries[0].summary["eval_crn"]) if spec.cost_per_period else None
    )
    table = results_table(entries, spec.reference, spec.bound, periods)
    published = published_rows(summary["env"], table)
    paired = paired_matrix(entries)
    write_table(
        out, summary["env"], table, published, summary["seeds"], paired, describe_run(summary)
    )
    summary = {
        **summary,
        # The summary contract (ARCHITECTURE.md) names one "algo": every learner's, in order.
        "algo": ",".join(summary["algos"].values()),
        "eval": next(r for r in table if r["kind"] == "learner")["eval"],
        "table": table,
        "published": published,
        "paired": paired,
    }
    runs.write_json(out / runs.SUMMARY, summary)
    return summary


def describe_run(summary: dict[str, Any]) -> str:
    """One line: the machine a comparison ran on and how long it took."""
    m = summary.get("machine") or {}
    parts = [f"{m['cores']}-core {m['cpu']}" if "cpu" in m else None]
    if m.get("backend"):
        parts.append(f"{m['backend']} backend" + (f", JAX {m['jax']}" if "jax" in m else ""))
    if m.get("date"):
        parts.append(m["date"])
    if "wall_s" in summary:
        parts.append(f"{summary['wall_s'] / 60:.1f} min wall for the whole comparison")
    return "Ran on: " + "; ".join(p for p in parts if p) + "." if any(parts) else ""


def load_entries(out: str | Path) -> list[Entry]:
    """The policies of a comparison directory, read back from each one's run directory."""
    out = Path(out)
    return [
        Entry(
            r["policy"],
            r["kind"],
            np.load(out / r["policy"] / "eval_returns.npy", allow_pickle=False),
            runs.read_json(out / r["policy"] / runs.SUMMARY),
        )
        for r in runs.read_json(out / runs.SUMMARY)["table"]
    ]


def rewrite_results(out: str | Path) -> dict[str, Any]:
    """Tables and learning curves of a finished comparison, rebuilt from its directory with
    the current code (nothing is trained or evaluated again)."""
    out = Path(out)
    summary = runs.read_json(out / runs.SUMMARY)
    summary = write_results(out, summary, load_entries(out))
    draw_learning_curves(out)
    return summary


def draw_learning_curves(out: str | Path) -> Path:
    """``out/learning_curves.png`` from a comparison directory as ``compare_run`` left it
    (each learner's ``metrics.csv``, the baselines' means in ``summary.json``): figures can be
    redrawn without training again. Returns the figure's path."""
    out = Path(out)
    summary = runs.read_json(out / runs.SUMMARY)
    display = families.family_of(summary["env"]).display
    curves = {
        r["policy"]: runs.read_metrics(out / r["policy"] / runs.METRICS)
        for r in summary["table"]
        if r["kind"] == "learner"
    }
    references = {
        display.get(r["policy"], r["policy"]): r["eval"]["mean"]
        for r in summary["table"]
        if r["kind"] != "learner"
    }
    path = out / "learning_curves.png"
    plots.compare_curves(
        curves,
        references,
        path,
        f"{summary['env']}: training return over {summary['seeds']} seeds",
    )
    return path


def _check_same_paths(entries: list[Entry]) -> None:
    """Every policy must have met the same evaluation paths, or pairing them is meaningless."""
    crns = {e.label: e.summary.get("eval_crn") for e in entries}
    if len({c for c in crns.values() if c}) > 1:
        raise RuntimeError(f"policies were evaluated on different paths: {crns}")


def results_table(
    entries: list[Entry], reference: str, bound: str, periods: int | None = None
) -> list[dict[str, Any]]:
    """One row per policy (see module doc); paired differences against ``reference``.

    ``periods`` (a ``cost_per_period`` family; the periods of each evaluation episode): each
    row also gets ``average_cost`` (minus the return per period: mean, CI over all episodes)
    and ``gap_pct`` (its cost above the bound's, in % of the bound's), not ``pct_of_bound``.
    """
    by_label = {e.label: e for e in entries}
    ref = by_label.get(reference)
    best = by_label.get(bound)
    rows = []
    for e in entries:
        pooled = evaluate_lib.summarize(e.returns.reshape(-1))
        seed_means = e.returns.mean(axis=1)
        row: dict[str, Any] = {
            "policy": e.label,
            "kind": e.kind,
            "algo": e.summary.get("algo", e.summary.get("policy")),
            "seeds": int(e.returns.shape[0]),
            "episodes": int(e.returns.shape[1]),
            "eval": pooled.as_dict(),
            "seed_means": seed_means.tolist(),
        }
        if e.returns.shape[0] > 1:
            row["across_seeds"] = evaluate_lib.summarize(seed_means).as_dict()
        if periods is not None:
            row["average_cost"] = evaluate_lib.summarize(-e.returns.reshape(-1) / periods).as_dict()
            if best is not None:
                best_cost = -float(best.returns.mean()) / periods
                row["gap_pct"] = 100.0 * (row["average_cost"]["mean"] - best_cost) / best_cost
        elif best is not None:
            row["pct_of_bound"] = 100.0 * pooled.mean / float(best.returns.mean())
        if ref is not None and e is not ref:
            diff = evaluate_lib.summarize(e.returns.mean(axis=0) - ref.returns.mean(axis=0))
            row["vs_reference"] = {"reference": reference, **diff.as_dict()}
        for key in ("params", "train_s", "compile_s", "wall_s", "total_steps", "steps_per_s"):
            if key in e.summary:
                row[key] = e.summary[key]
        rows.append(row)
    return rows


def paired_matrix(entries: list[Entry]) -> list[dict[str, Any]]:
    """Every learner minus every baseline on the shared paths.

    The learner's returns are averaged over its seeds path by path, then differenced with the
    baseline's: ``mean``, ``std``, ``ci95`` over the paths. ``per_seed`` holds each seed's
    mean difference and ``seeds_above`` how many of them are positive, so a reader sees
    whether a learner beats the baseline reliably or only on average.
    """
    others = [e for e in entries if e.kind != "learner"]
    rows = []
    for e in entries:
        if e.kind != "learner":
            continue
        for b in others:
            ref = b.returns.mean(axis=0)
            per_seed = (e.returns - ref).mean(axis=1)
            diff = evaluate_lib.summarize(e.returns.mean(axis=0) - ref)
            rows.append(
                {
                    "learner": e.label,
                    "baseline": b.label,
                    **diff.as_dict(),
                    "per_seed": per_seed.tolist(),
                    "seeds_above": int((per_seed > 0).sum()),
                }
            )
    return rows


def published_rows(env_id: str, table: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The published figures next to our corresponding rows, with how far apart they are.

    Where the publication averaged few paths (the OR-Gym paper: 10, sd about 30), ``z`` is the
    gap over the combined standard error of the two means; |z| < 2 is agreement within
    statistical error.
    """
    pub = families.family_of(env_id).published.get(env_id)
    if pub is None:
        return None
    ours = {r["policy"]: r for r in table}
    for r in table:  # a learner labelled otherwise (ppo_full=ppo) stands for its algorithm
        ours.setdefault(r["algo"], r)
    rows = []
    for name, value, counterpart in pub.rows:
        mine = ours.get(counterpart)
        row: dict[str, Any] = {
            "row": name,
            "published": value,
            "ours": counterpart if mine is None else mine["policy"],
        }
        if mine is not None:
            e = mine["eval"]
            row["our_mean"] = e["mean"]
            row["our_ci95"] = e["ci95"]
            row["difference"] = e["mean"] - value
            if pub.paths:
                se_ours = e["std"] / math.sqrt(e["episodes"]) if e["episodes"] > 1 else 0.0
                se = math.hypot(pub.sd / math.sqrt(pub.paths), se_ours)
                row["z"] = row["difference"] / se
        rows.append(row)
    return {"source": pub.source, "rows": rows}


# -- writing -------------------------------------------------------------------------------


def _ci(block: dict[str, Any], decimals: int = 2) -> str:
    lo, hi = block["ci95"]
    return f"{block['mean']:,.{decimals}f} ({lo:,.{decimals}f} to {hi:,.{decimals}f})"


def paired_markdown(paired: list[dict[str, Any]]) -> str:
    """The paired differences as a learners x baselines markdown table."""
    learners = list(dict.fromkeys(p["learner"] for p in paired))
    others = list(dict.fromkeys(p["baseline"] for p in paired))
    cell = {(p["learner"], p["baseline"]): p for p in paired}
    lines = [
        "| learner | " + " | ".join(f"minus {b}" for b in others) + " |",
        "|---|" + "---:|" * len(others),
    ]
    for name in learners:
        cells = []
        for b in others:
            p = cell[(name, b)]
            lo, hi = p["ci95"]
            cells.append(
                f"{p['mean']:+,.2f} ({lo:+,.2f} to {hi:+,.2f}), "
                f"{p['seeds_above']}/{len(p['per_seed'])} seeds above"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_markdown(
    table: list[dict[str, Any]],
    published: dict[str, Any] | None,
    paired: list[dict[str, Any]] | None = None,
) -> str:
    """The results as markdown: our table, the paired differences of every learner against
    every baseline, then the published rows side by side."""
    costs = any("average_cost" in r for r in table)
    relative = "gap to optimum" if costs else "% of bound"
    lines = [
        "| policy | kind | mean over all episodes (95% CI) | mean over seeds (95% CI across "
        f"seeds) | {relative} | paired vs reference (95% CI) | training |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    if costs:
        lines[0] = lines[0].replace(
            "mean over all episodes", "average cost per period, all episodes"
        )
    for r in table:
        across = _ci(r["across_seeds"]) if "across_seeds" in r else "1 seed"
        pct = f"{r['pct_of_bound']:.1f}%" if "pct_of_bound" in r else ""
        if costs:
            pct = f"{r['gap_pct']:+.3f}%" if "gap_pct" in r else ""
        vs = ""
        if "vs_reference" in r:
            v = r["vs_reference"]
            vs = f"{v['mean']:+,.2f} ({v['ci95'][0]:+,.2f} to {v['ci95'][1]:+,.2f})"
        train = ""
        if r["kind"] == "learner":
            train = (
                f"{r['seeds']} x {r['total_steps'] / 1e6:.3g}M steps, {r['train_s']:.0f} s "
                f"(+{r['compile_s']:.0f} s compile)"
            )
        name = r["policy"] if r["policy"] == r["algo"] else f"{r['policy']} ({r['algo']})"
        mean = _ci(r["average_cost"], 4) if costs else _ci(r["eval"])
        lines.append(f"| {name} | {r['kind']} | {mean} | {across} | {pct} | {vs} | {train} |")
    if costs:
        lines += [
            "",
            "Mean over seeds and the paired differences are in episode returns (minus the cost "
            "of every period of an episode; higher is better).",
        ]
    if paired:
        lines += [
            "",
            "Paired differences on the same paths, learner (mean of its seeds) minus baseline, "
            "95% CI over the paths:",
            "",
            paired_markdown(paired).rstrip("\n"),
        ]
    if published:
        lines += [
            "",
            f"Published: {published['source']}.",
            "",
            "| published row | published | ours | our mean (95% CI) | difference | z |",
            "|---|---:|---|---:|---:|---:|",
        ]
        for p in published["rows"]:
            if "our_mean" in p:
                lo, hi = p["our_ci95"]
                z = f"{p['z']:+.2f}" if "z" in p else ""
                lines.append(
                    f"| {p['row']} | {p['published']:,.2f} | {p['ours']} | {p['our_mean']:,.2f} "
                    f"({lo:,.2f} to {hi:,.2f}) | {p['difference']:+,.2f} | {z} |"
                )
            else:
                lines.append(f"| {p['row']} | {p['published']:,.2f} | (not run) | | | |")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "policy",
    "kind",
    "algo",
    "seeds",
    "episodes",
    "mean",
    "std",
    "ci95_lo",
    "ci95_hi",
    "seed_mean_std",
    "seed_ci95_lo",
    "seed_ci95_hi",
    "pct_of_bound",
    "average_cost",
    "average_cost_ci95_lo",
    "average_cost_ci95_hi",
    "gap_pct",
    "vs_reference",
    "vs_reference_mean",
    "vs_reference_lo",
    "vs_reference_hi",
    "total_steps",
    "train_s",
    "compile_s",
    "wall_s",
)


def table_csv_rows(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table flattened to ``CSV_COLUMNS``."""
    rows = []
    for r in table:
        row = {k: r.get(k, "") for k in ("policy", "kind", "algo", "seeds", "episodes")}
        row.update(mean=r["eval"]["mean"], std=r["eval"]["std"])
        row["ci95_lo"], row["ci95_hi"] = r["eval"]["ci95"]
        if "across_seeds" in r:
            a = r["across_seeds"]
            row["seed_mean_std"] = a["std"]
            row["seed_ci95_lo"], row["seed_ci95_hi"] = a["ci95"]
        row["pct_of_bound"] = r.get("pct_of_bound", "")
        if "average_cost" in r:
            row["average_cost"] = r["average_cost"]["mean"]
            row["average_cost_ci95_lo"], row["average_cost_ci95_hi"] = r["average_cost"]["ci95"]
            row["gap_pct"] = r.get("gap_pct", "")
        if "vs_reference" in r:
            v = r["vs_reference"]
            row["vs_reference"] = v["reference"]
            row["vs_reference_mean"] = v["mean"]
            row["vs_reference_lo"], row["vs_reference_hi"] = v["ci95"]
        for k in ("total_steps", "train_s", "compile_s", "wall_s"):
            row[k] = r.get(k, "")
        rows.append(row)
    return rows


def write_table(
    out: Path,
    env_id: str,
    table: list[dict[str, Any]],
    published: Any,
    seeds: int,
    paired: list[dict[str, Any]] | None = None,
    where: str = "",
) -> None:
    """``results.md`` and ``results.csv`` in ``out``; ``where`` (the machine and the wall time)
    goes under the title."""
    episodes = table[0]["episodes"] if table else 0
    head = (
        f"# {env_id}: learners ({seeds} seeds each) and baselines on the same {episodes} "
        "evaluation episodes\n\n"
    )
    if where:
        head += where + "\n\n"
    runs.atomic_write(out / "results.md", head + table_markdown(table, published, paired))
    tmp = out / "results.csv.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, CSV_COLUMNS)
        writer.writeheader()
        for row in table_csv_rows(table):
            writer.writerow({k: runs._csv_value(v) for k, v in row.items()})
    tmp.replace(out / "results.csv")
