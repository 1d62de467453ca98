"""Rewrite the generated tables in README.md and docs/ from the committed results files.

    python scripts/build_docs.py           # rewrite every generated block in place
    python scripts/build_docs.py --check   # exit 1, naming each stale block

A generated block sits between two marker comments on their own lines:

    <!-- generated:NAME (scripts/build_docs.py; edit the script, not the text) -->
    ...
    <!-- end generated:NAME -->

NAME picks the builder below; ``compare:DIR`` embeds ``docs/results/DIR/results.md`` and its
figures. Every figure in a block is read from ``docs/results/*/summary.json``,
``docs/results/*/results.md`` or ``benchmarks/results/*.json``; nothing is trained or measured.
Only the standard library is used, so the script runs without JAX.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
BENCH = ROOT / "benchmarks" / "results"

# The headline table's rows: one comparison directory under docs/results/ per env family
# (a `jaxinv compare` published there by scripts/publish_compare.py).
# LostSales-v0 joins once its comparison is published to docs/results/LostSales-v0/ (then add
# it here and to FAMILY_NOTE); a row from another results file needs its own row builder,
# whose last cell links that file (tests/test_docs.py looks the row's figures up there).
HEADLINE = ("InvManagement-v1", "InvManagement-v0", "RetailStore-v0", "LostSales-v0")
FAMILY_NOTE = {
    "InvManagement-v1": "serial chain, lost sales",
    "InvManagement-v0": "serial chain, backlog",
    "RetailStore-v0": "one store, lost sales",
    "LostSales-v0": "Zipkin's lost-sales system, L = 2, p = 4",
}

BLOCK = re.compile(
    r"(<!-- generated:(?P<name>[^\s>]+) "
    r"\(scripts/build_docs\.py; edit the script, not the text\) -->\n)"
    r"(?P<body>.*?)"
    r"(<!-- end generated:(?P=name) -->)",
    re.S,
)


# -- reading ---------------------------------------------------------------------------------


def load(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path.relative_to(ROOT)} is missing: a generated block reads it")
    return json.loads(path.read_text())


def summary(name: str) -> dict:
    return load(RESULTS / name / "summary.json")


def machine(m: dict) -> str:
    """'2-core Intel(R) Xeon(R) Processor, cpu, JAX 0.10.2, 2026-12-01'."""
    return f"{m['cores']}-core {m['cpu']}, {m['backend']}, JAX {m['jax']}, {m['date']}"


def load_note(d: dict) -> str:
    """The load averages a benchmark recorded around its run, if it did."""
    before, after = d.get("load_average_before"), d.get("load_average_after")
    if not before or not after:
        return "load average not recorded"
    return f"1-minute load average {before[0]:.1f} before, {after[0]:.1f} after"


# -- number formats (those of jaxinv.compare's tables) ---------------------------------------


def num(x: float) -> str:
    return f"{x:,.2f}"


def signed(x: float) -> str:
    return f"{x:+,.2f}"


def ci(pair: list[float], fmt: Callable[[float], str] = num) -> str:
    return f"{fmt(pair[0])} to {fmt(pair[1])}"


def mega(x: float) -> str:
    return f"{x / 1e6:.2f}M"


def kilo(x: float) -> str:
    return f"{x / 1e3:.1f}k"


def steps(x: float) -> str:
    return mega(x) if x >= 1e6 else kilo(x)


# -- the headline table ----------------------------------------------------------------------


def cost(row: dict) -> str:
    """A cost family's row: its average cost per period, as compare's results.md prints it."""
    return f"{row['average_cost']['mean']:,.4f}"


def headline_row(name: str) -> str:
    s = summary(name)
    rows = s["table"]
    baselines = [r for r in rows if r["kind"] == "baseline"]
    bounds = [r for r in rows if r["kind"] in ("bound", "optimum")]
    learners = [r for r in rows if r["kind"] == "learner"]
    best_base = max(baselines, key=lambda r: r["eval"]["mean"])
    best = max(learners, key=lambda r: r["eval"]["mean"])
    pair = next(
        p
        for p in s["paired"]
        if p["learner"] == best["policy"] and p["baseline"] == best_base["policy"]
    )
    figure = cost if "average_cost" in best else lambda r: num(r["eval"]["mean"])
    bound = ", ".join(f"{r['policy']} {figure(r)} ({r['kind']})" for r in bounds)
    learner = f"{best['policy']} {figure(best)}"
    if bounds and "gap_pct" in best:  # a cost family: the gap to the optimum's average cost
        learner += f" ({best['gap_pct']:+.3f}% above {bounds[0]['policy']})"
    elif bounds:
        learner += f" ({best['pct_of_bound']:.1f}% of {bounds[0]['policy']})"
    cells = [
        f"[{name}](docs/comparisons.md#{name.lower()})"
        + (f" ({FAMILY_NOTE[name]})" if name in FAMILY_NOTE else ""),
        f"{best_base['policy']} {figure(best_base)}",
        bound or "–",
        learner,
        f"{signed(pair['mean'])} ({ci(pair['ci95'], signed)})",
        f"{pair['seeds_above']}/{best['seeds']}",
        f"{s['wall_s'] / 60:.1f} min",
        f"[results.md](docs/results/{name}/results.md)",
    ]
    return "| " + " | ".join(cells) + " |"


def headline() -> str:
    dates = sorted({summary(n)["machine"]["date"] for n in HEADLINE})
    machines = sorted({summary(n)["machine"]["cpu"] for n in HEADLINE})
    cores = sorted({summary(n)["machine"]["cores"] for n in HEADLINE})
    seeds = "/".join(str(s) for s in sorted({summary(n)["seeds"] for n in HEADLINE}))
    lines = [
        f"| env | best classic baseline | bound or optimum | best learner (mean of {seeds} seeds) "
        "| learner minus baseline, paired (95% CI) | seeds above baseline | wall, whole comparison "
        "| source |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *(headline_row(n) for n in HEADLINE),
        "",
        f"Mean discounted return (InvManagement) or yearly profit (RetailStore) over the "
        f"comparison's evaluation paths; for LostSales the average cost per period (lower is "
        f"better) and the paired difference in minus the cost of an episode's 1,000 periods. "
        f"One `jaxinv compare` per row (its command is in docs/comparisons.md), run on "
        f"{' / '.join(f'{c}-core' for c in cores)} {' / '.join(machines)} (CPU only) on "
        f"{', '.join(dates)}.",
    ]
    return "\n".join(lines)


# -- comparisons -----------------------------------------------------------------------------


def compare_block(name: str) -> str:
    """``docs/results/NAME/results.md`` without its title, then its figures."""
    summary(name)  # a clear error where the comparison is not published
    text = (RESULTS / name / "results.md").read_text().rstrip("\n")
    title, _, rest = text.partition("\n")
    lines = [f"*{title.lstrip('# ').strip()}.*", "", rest.strip("\n"), ""]
    seeds = [
        f"{r['policy']} " + ", ".join(num(m) for m in r["seed_means"])
        for r in summary(name)["table"]
        if r["kind"] == "learner"
    ]
    lines += ["Each learner's seed means (seed 0 first): " + "; ".join(seeds) + ".", ""]
    for figure, what in (
        ("learning_curves.png", "learning curves"),
        ("trajectories.png", "one test year"),
    ):
        if (RESULTS / name / figure).exists():
            lines.append(f"![{name}, {what}](results/{name}/{figure})")
            lines.append("")
    lines.append(
        f"Files: [`docs/results/{name}/`](results/{name}/results.md) "
        f"(`results.md`, `results.csv`, `summary.json`)."
    )
    return "\n".join(lines)


def full_observation() -> str:
    """PPO with observation="full" on both chains, against the same comparison's baselines."""
    lines = [
        "| chain | PPO, full observation: mean (95% CI across 4 seeds) | minus base_stock "
        "| minus shlp | minus oracle | PPO with OR-Gym's observation (its own comparison) | run |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for chain in ("InvManagement-v1", "InvManagement-v0"):
        s = summary(f"{chain}-full")
        learner = next(r for r in s["table"] if r["kind"] == "learner")
        cells = [chain, f"{num(learner['eval']['mean'])} ({ci(learner['across_seeds']['ci95'])})"]
        for base in ("base_stock", "shlp", "oracle"):
            p = next(
                p
                for p in s["paired"]
                if p["learner"] == learner["policy"] and p["baseline"] == base
            )
            above = f"{p['seeds_above']}/{learner['seeds']}"
            cells.append(f"{signed(p['mean'])} ({ci(p['ci95'], signed)}), {above}")
        own = next(r for r in summary(chain)["table"] if r["policy"] == "ppo")
        cells.append(f"{num(own['eval']['mean'])} ({ci(own['across_seeds']['ci95'])})")
        cells.append(f"{s['machine']['date']}, {s['wall_s'] / 60:.1f} min")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- throughput ------------------------------------------------------------------------------


def env_throughput() -> str:
    d = load(BENCH / "env_throughput_InvManagement-v1_cpu.json")
    runs = {(r["api"], r["num_envs"], r["devices"]): r["steps_per_s"] for r in d["runs"]}
    sizes = sorted({n for _, n, _ in runs})
    cols = [("step_many", 1), ("step_many", 2), ("vmap(step)", 1), ("vmap(step)", 2)]
    lines = [
        "| chains in parallel | `step_many`, 1 CPU device | `step_many`, 2 devices "
        "| `vmap(step)`, 1 device | `vmap(step)`, 2 devices |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        cells = [f"{n:,}"] + [mega(runs[(a, n, k)]) if (a, n, k) in runs else "–" for a, k in cols]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for env in ("InvManagement-v1", "InvManagement-v0"):
        e = load(BENCH / f"env_throughput_{env}_cpu.json")
        b, o = e["best"], e["orgym"]
        lines.append(
            f"- {env}: best {mega(b['steps_per_s'])} steps/s (`{b['api']}`, {b['num_envs']:,} "
            f"chains, {b['devices']} devices) against {o['steps_per_s']:,.0f} steps/s for one "
            f"or-gym {o['orgym_version']} env in the same run: {e['speedup_vs_orgym']:,.0f}x "
            f"({machine(e['machine'])}; `benchmarks/results/env_throughput_{env}_cpu.json`)."
        )
    return "\n".join(lines)


def train_throughput() -> str:
    d = load(BENCH / "train_throughput_InvManagement-v1_cpu.json")
    names = {"ppo": "PPO (categorical head)", "a2c": "A2C", "dqn": "DQN"}
    lines = [
        "| learner | 1 seed | 4 seeds vmapped (all seeds together) | SB3 on or-gym "
        "| ratio (1 seed) | compile (1 seed) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for algo, a in d["algos"].items():
        by_seeds = {r["seeds"]: r for r in a["runs"] if r["devices"] == 1}
        one, four = by_seeds.get(1), by_seeds.get(4)
        sb3 = a.get("sb3")
        sb3_rate = f"{sb3['steps_per_s']:,.0f}" if sb3 and "steps_per_s" in sb3 else "–"
        ratio = f"{one['x_sb3']:.0f}x" if one and "x_sb3" in one else "–"
        cells = [
            names.get(algo, algo),
            kilo(one["steps_per_s"]) if one else "–",
            kilo(four["steps_per_s"]) if four else "–",
            sb3_rate,
            ratio,
            f"{one['compile_s']:.1f} s" if one else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{machine(d['machine'])}; `benchmarks/results/train_throughput_InvManagement-v1_cpu.json`."
    )
    return "\n".join(lines)


def sweep_throughput() -> str:
    d = load(BENCH / "sweep_throughput_InvManagement-v1_cpu.json")
    st = d["settings"]
    keys = list(st)
    head = " | ".join(f"{st[k]['overrides']['num_envs']} envs" for k in keys)
    runs = st[keys[0]]["runs"]
    rows = [
        (
            f"(a) `jaxinv sweep`, one command "
            f"({st[keys[0]]['sweep']['devices']} XLA devices, one per core)",
            [f"**{st[k]['sweep']['wall_s']:.1f}**" for k in keys],
        ),
        (
            "(a1) the same with `--devices 1`",
            [f"{st[k]['sweep_one_device']['wall_s']:.1f}" for k in keys],
        ),
        (
            f"(b) {runs} x `jaxinv train`, one after another, each its own process",
            [f"{st[k]['cli_sequential']['total_s']:.1f}" for k in keys],
        ),
        (
            f"(c) in one process: one compiled `train(config, key)` and evaluation, "
            f"called {runs} times",
            [f"{st[k]['in_process_loop']['wall_s']:.1f}" for k in keys],
        ),
        ("**sweep speed-up against (b)**", [f"**{st[k]['speedup_vs_cli']:.1f}x**" for k in keys]),
        (
            "sweep speed-up against (c)",
            [f"{st[k]['speedup_vs_in_process_loop']:.2f}x" for k in keys],
        ),
    ]
    lines = [f"| wall seconds for all {runs} runs | {head} |", "|---|" + "---:|" * len(keys)]
    lines += ["| " + " | ".join([label, *cells]) + " |" for label, cells in rows]
    lines.append("")
    per_run = ", ".join(
        f"{st[k]['env_steps_per_run']:,} ({st[k]['overrides']['num_envs']} envs)" for k in keys
    )
    lines.append(
        f"Env steps per run: {per_run}. {machine(d['machine'])}; {load_note(d)}; "
        f"`benchmarks/results/sweep_throughput_InvManagement-v1_cpu.json`."
    )
    return "\n".join(lines)


def scaling() -> str:
    d = load(BENCH / "scaling_InvManagement-v1_cpu.json")
    n = d["num_envs"]
    s = d["seeds"]
    dv = d["devices"]
    lines = [
        "| envs per run (1 run) | " + " | ".join(f"{r['num_envs']:,}" for r in n) + " |",
        "|---|" + "---:|" * len(n),
        "| steps/s | " + " | ".join(kilo(r["steps_per_s"]) for r in n) + " |",
        "",
        f"| runs of {s[0]['num_envs']} envs `vmap`ped on 1 device | "
        + " | ".join(str(r["seeds"]) for r in s)
        + " |",
        "|---|" + "---:|" * len(s),
        "| steps/s | " + " | ".join(kilo(r["steps_per_s"]) for r in s) + " |",
        "",
        f"| {dv[0]['runs']} runs split over forced host devices (`shard_map`) | "
        + " | ".join(str(r["devices"]) for r in dv)
        + " |",
        "|---|" + "---:|" * len(dv),
        "| steps/s | " + " | ".join(kilo(r["steps_per_s"]) for r in dv) + " |",
        "",
    ]
    sb = d["state_bytes"]
    xla = {r["num_envs"]: r["xla_temp_bytes"] + r["xla_argument_bytes"] for r in n}
    estimate = ", ".join(
        f"{100 * (p['sweep_run_bytes_estimate'] / xla[p['num_envs']] - 1):+.0f}% "
        f"at {p['num_envs']:,} envs"
        for p in sb["ppo"]
        if p["num_envs"] in xla
    )
    states = ", ".join(
        f"{p['learner_state_bytes'] / 1e3:,.0f} KB for {p['num_envs']:,} envs" for p in sb["ppo"]
    )
    lines.append(
        f"An env's state is {sb['env_state_bytes']} bytes and its observation "
        f"{sb['observation_bytes']}; PPO's whole training state (network, Adam moments, "
        f"normalisers, the envs) is {states}. The sweep's per-run memory estimate (what "
        f"`--memory-gb` divides) against XLA's memory analysis of the compiled update "
        f"(temporaries and arguments): {estimate}."
    )
    lines.append("")
    lines.append(
        f"{machine(d['machine'])}; {load_note(d)}; "
        f"`benchmarks/results/scaling_InvManagement-v1_cpu.json`."
    )
    return "\n".join(lines)


def cli_start() -> str:
    d = load(BENCH / "cli_start.json")
    helps = d["help_s"]
    subs = [
        v
        for k, v in helps.items()
        if k.startswith("jaxinv ") and k.endswith(" --help") and k != "jaxinv --help"
    ]
    imp = d["import_s"]
    first, second = d["train"][0], d["train"][1]
    lines = [
        "| | wall |",
        "|---|---:|",
        f"| `jaxinv --help` (median of {d['repeats']}) | {helps['jaxinv --help']:.2f} s |",
        f"| the installed console script's `jaxinv --help` (median of 3) "
        f"| {helps['jaxinv --help (console script)']:.2f} s |",
        f"| each subcommand's `--help` (median of 3) | {min(subs):.2f}-{max(subs):.2f} s |",
        f"| `import jaxinv` | {imp['import jaxinv']:.2f} s |",
        f"| `import jaxinv.families` (JAX, flax, gymnax) "
        f"| {imp['import jaxinv.families (JAX, flax, gymnax)']:.2f} s |",
        f"| `jaxinv train` (PPO, short), {first['run']}: compile / wall "
        f"| {first['compile_s']:.2f} s / {first['wall_s']:.2f} s |",
        f"| the same again, {second['run']}: compile / wall "
        f"| {second['compile_s']:.2f} s / {second['wall_s']:.2f} s |",
        "",
        f"The second run compiles in {d['second_over_first_compile']:.2f} of the first's time; "
        f"the first left {first['cache_entries']} cache entries, "
        f"{first['cache_bytes'] / 1e6:.1f} MB. "
        f"{machine(d['machine'])}; {load_note(d)}; `benchmarks/results/cli_start.json`.",
    ]
    return "\n".join(lines)


def against_revision() -> str:
    d = load(BENCH / "against_revision.json")
    lines = [
        f"| configuration | {d['base']} steps/s | {d['this']} steps/s | ratio |",
        "|---|---:|---:|---:|",
    ]
    for r in d["rows"]:
        lines.append(
            f"| {r['what']} | {steps(r['base_steps_per_s'])} | {steps(r['this_steps_per_s'])} "
            f"| {r['ratio']:.3f} |"
        )
    ratios = [r["ratio"] for r in d["rows"]]
    lines.append("")
    lines.append(
        f"Ratios {min(ratios):.3f} to {max(ratios):.2f}; best of {d['rounds']} rounds each. "
        f"{machine(d['machine'])}; {load_note(d)}; `benchmarks/results/against_revision.json`."
    )
    return "\n".join(lines)


def sb3_bridge() -> str:
    d = load(BENCH / "sb3_bridge_InvManagement-v1.json")
    lines = [
        "| policy | env steps trained | train wall | env steps/s | x SB3's steps/s "
        "| greedy return (95% CI) | minus SB3, paired (95% CI) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        ratio = f"{r['x_sb3_steps_per_s']:.0f}x" if "x_sb3_steps_per_s" in r else "(reference)"
        paired = r.get("minus_sb3")
        versus = f"{signed(paired['mean'])} ({ci(paired['ci95'], signed)})" if paired else ""
        lines.append(
            f"| {r['policy']} | {r['steps']:,} | {r['train_s']:.1f} s | {r['steps_per_s']:,.0f} "
            f"| {ratio} | {num(r['eval']['mean'])} ({ci(r['eval']['ci95'])}) | {versus} |"
        )
    sb3 = next(r["library"] for r in d["rows"] if "library" in r)
    lines.append("")
    lines.append(
        f"{d['env']}, {d['episodes']} demand paths shared by every policy ({d['evaluation']}); "
        f"{sb3}. {machine(d['machine'])}; {load_note(d)}; "
        f"`benchmarks/results/sb3_bridge_{d['env']}.json`."
    )
    return "\n".join(lines)


# Zipkin (2008), Table 2-3 figures quoted in issue 15: optimal average cost, h = 1, mean 5.
ZIPKIN_OPTIMUM = {
    ("poisson", 2, 4): 4.40,
    ("poisson", 2, 19): 7.66,
    ("poisson", 4, 4): 4.73,
    ("poisson", 4, 19): 8.89,
    ("geometric", 2, 4): 10.24,
    ("geometric", 2, 19): 20.89,
    ("geometric", 4, 4): 10.61,
    ("geometric", 4, 19): 22.95,
}
# Best base-stock gap to the optimum in %, Poisson (the DCL authors' logs, issue 15).
PUBLISHED_BASE_STOCK_GAP = {
    (2, 4): 5.54, (2, 9): 3.65, (2, 19): 2.32, (2, 39): 0.92,
    (3, 4): 8.18, (3, 9): 5.09, (3, 19): 2.89, (3, 39): 1.79,
    (4, 4): 9.92, (4, 9): 6.36, (4, 19): 3.88, (4, 39): 2.48,
}  # fmt: skip


def lost_sales_grid() -> str:
    d = load(BENCH / "lost_sales_solve.json")
    lines = [
        "| demand | L | p | optimum | published | base-stock S: gap | published gap "
        "| capped (S, r): gap | myopic gap | states | solve |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in d["cells"]:
        cell = (c["demand"], c["lead_time"], c["lost_sale_cost"])
        published = ZIPKIN_OPTIMUM.get(cell)
        gap = PUBLISHED_BASE_STOCK_GAP.get(cell[1:]) if cell[0] == "poisson" else None
        bs, capped = c["base_stock"], c["capped_base_stock"]
        lines.append(
            f"| {cell[0]} | {cell[1]} | {cell[2]} | {c['optimum']:.4f} "
            f"| {'' if published is None else f'{published:.2f}'} "
            f"| {bs['S']}: {bs['gap_pct']:.2f}% | {'' if gap is None else f'{gap:.2f}%'} "
            f"| ({capped['S']}, {capped['r']}): {capped['gap_pct']:.2f}% "
            f"| {c['myopic']['gap_pct']:.2f}% | {c['states']:,} | {c['solve_s']:.2f} s |"
        )
    long = d["long_lead_time"]
    lines.append("")
    lines.append(
        f"All {len(d['cells'])} cells solved in {d['solve_s_total']:.1f} s in total "
        f"(truncation checks {d['truncation_check_s_total']:.1f} s, "
        f"{d['binding_cells']} binding); with the heuristics' searches "
        f"{d['wall_s_total']:.0f} s. Longer lead time: {long['demand']} L = "
        f"{long['lead_time']}, p = {long['lost_sale_cost']}: optimum {long['optimum']:.4f} "
        f"on {long['states']:,} states in {long['solve_s']:.1f} s. Base-stock here is "
        f"uncapped (the literature's); the gaps are to the optimum. "
        f"{machine(d['machine'])}; {load_note(d)}; `benchmarks/results/lost_sales_solve.json`."
    )
    return "\n".join(lines)


def dynaplex_lost_sales() -> str:
    d = load(BENCH / "dynaplex_lost_sales.json")
    lines = [
        "| cell (Poisson mean 5, h = 1) | jaxinv optimum | wall | states | DynaPlex optimum "
        "| wall | DynaPlex wall / jaxinv's |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        ours, theirs = r["jaxinv"], r["dynaplex"]
        if "cost" in theirs:
            them = f"{theirs['cost']:.6f} | {theirs['wall_s']:.1f} s | "
            them += f"{r['dynaplex_over_jaxinv_wall']:.1f}x"
        else:
            them = f"not finished | > {theirs['timeout_s']:.0f} s | "
        lines.append(
            f"| L = {r['lead_time']}, p = {r['lost_sale_cost']:g} | {ours['cost']:.6f} "
            f"| {ours['wall_s']:.1f} s | {ours['states']:,} | {them} |"
        )
    lines.append("")
    lines.append(
        f"Each wall from a fresh start of that solver on that cell (jaxinv's includes JAX's "
        f"compilation). {machine(d['machine'])}; {load_note(d)}; "
        f"`benchmarks/results/dynaplex_lost_sales.json`."
    )
    return "\n".join(lines)


BUILDERS: dict[str, Callable[[], str]] = {
    "headline": headline,
    "full-observation": full_observation,
    "env-throughput": env_throughput,
    "train-throughput": train_throughput,
    "sweep-throughput": sweep_throughput,
    "scaling": scaling,
    "cli-start": cli_start,
    "against-revision": against_revision,
    "sb3-bridge": sb3_bridge,
    "lost-sales-grid": lost_sales_grid,
    "dynaplex-lost-sales": dynaplex_lost_sales,
}


def build(name: str) -> str:
    if name.startswith("compare:"):
        return compare_block(name.split(":", 1)[1])
    if name not in BUILDERS:
        raise SystemExit(
            f"unknown generated block {name!r}; known: {', '.join(BUILDERS)}, compare:DIR"
        )
    return BUILDERS[name]()


# -- pages -----------------------------------------------------------------------------------


def pages() -> list[Path]:
    found = [ROOT / "README.md"]
    found += sorted((ROOT / "docs").rglob("*.md"))
    return [p for p in found if p.is_file() and "results" not in p.relative_to(ROOT).parts[1:2]]


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every block rebuilt, and the names of the blocks that changed."""
    changed: list[str] = []

    def one(match: re.Match) -> str:
        body = build(match["name"]).rstrip("\n") + "\n"
        if body != match["body"]:
            changed.append(match["name"])
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(one, text), changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for page in pages():
        text = page.read_text()
        new, changed = render(text)
        if not changed:
            continue
        where = page.relative_to(ROOT)
        if check:
            stale += [f"{where}: {name}" for name in changed]
        else:
            page.write_text(new)
            print(f"rewrote {where}: {', '.join(changed)}")
    if stale:
        print("stale generated blocks (run python scripts/build_docs.py):\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
