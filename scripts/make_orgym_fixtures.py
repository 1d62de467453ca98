"""Record OR-Gym 0.5.0 InvManagement reference traces into ``tests/fixtures/orgym_traces.json``.

Run it with the OR-Gym reference venv (never with the jaxinv environment)::

    scripts/setup_orgym_venv.sh                      # once; creates .venv-orgym/
    .venv-orgym/bin/python scripts/make_orgym_fixtures.py [--out PATH]

The script imports only or-gym and numpy (no jax, no jaxinv). All randomness comes from
``numpy.random.default_rng`` with fixed per-case seeds, so re-running it reproduces the file
byte for byte (given the same or-gym / numpy versions).

Every case builds a fresh env with ``or_gym.make(env_id, env_config=cfg)`` where ``cfg`` is the
recorded ``config`` plus ``dist=5, user_D=<demand>`` (user-supplied demand; the demand path is
stored separately in ``demand`` and dist/user_D/dist_param are not part of ``config``). It then
steps the env through the full horizon with the recorded ``actions`` and stores the returned
observations / rewards / dones together with the env's internal ledgers (I, B, LS, S, R, T).

Notes on or-gym 0.5.0 behaviour relevant to the fixtures:

* ``assign_env_config`` casts each config value to the type of the default attribute, so
  ``p`` (default ``2``) is truncated with ``int()``; only integer-valued prices are recorded.
* ``InvManagement-v1`` forces ``backlog = False`` after construction (lost sales).
* All lead times equal to zero crash or-gym's observation update, so no such case is recorded.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import or_gym

ENV_IDS = ("InvManagement-v0", "InvManagement-v1")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "orgym_traces.json"

DEFAULT_CONFIG: dict[str, Any] = {
    "periods": 30,
    "I0": [100.0, 100.0, 200.0],
    "p": 2.0,
    "r": [1.5, 1.0, 0.75, 0.5],
    "k": [0.10, 0.075, 0.05, 0.025],
    "h": [0.15, 0.10, 0.05],
    "c": [100.0, 90.0, 80.0],
    "L": [3, 5, 10],
    "alpha": 0.97,
}

Array = np.ndarray
ActionFn = Callable[[np.random.Generator, int, Array], Array]


# --------------------------------------------------------------------------------------------
# Demand paths
# --------------------------------------------------------------------------------------------
def demand_poisson(rng: np.random.Generator, periods: int, mu: float) -> Array:
    """Poisson(mu) demand."""
    return rng.poisson(mu, size=periods).astype(float)


def demand_uniform(rng: np.random.Generator, periods: int, low: int, high: int) -> Array:
    """Uniform integer demand in [low, high]."""
    return rng.integers(low, high + 1, size=periods).astype(float)


def demand_spiky(rng: np.random.Generator, periods: int, mu: float) -> Array:
    """Poisson(mu) demand with some periods zeroed and a few large spikes."""
    d = rng.poisson(mu, size=periods).astype(float)
    d[rng.random(periods) < 0.2] = 0.0
    spikes = rng.random(periods) < 0.1
    d[spikes] = rng.integers(150, 1000, size=int(spikes.sum())).astype(float)
    return d


def make_demand(rng: np.random.Generator, periods: int) -> Array:
    """Draw one of several demand-path families."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return demand_poisson(rng, periods, float(rng.uniform(1.0, 50.0)))
    if kind == 1:
        low = int(rng.integers(0, 20))
        return demand_uniform(rng, periods, low, low + int(rng.integers(0, 60)))
    if kind == 2:
        return demand_spiky(rng, periods, float(rng.uniform(5.0, 40.0)))
    d = demand_poisson(rng, periods, float(rng.uniform(0.0, 3.0)))  # mostly zeros
    return d


# --------------------------------------------------------------------------------------------
# Action sequences (periods x n_stages floats, passed verbatim to env.step)
# --------------------------------------------------------------------------------------------
def act_uniform(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Uniform integers in [0, c]."""
    return rng.integers(0, c.astype(int) + 1, size=(periods, c.size)).astype(float)


def act_overcap(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Requests of 2-5x capacity (some fractional)."""
    a = rng.uniform(2.0, 5.0, size=(periods, c.size)) * c
    whole = rng.random((periods, c.size)) < 0.5
    a[whole] = np.round(a[whole])
    return a


def act_fractional(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Non-integer requests (incl. the fixed values 12.7 and 0.4) within [0, 1.2c]."""
    a = rng.uniform(0.0, 1.2, size=(periods, c.size)) * c
    a.flat[0] = 12.7
    if a.size > 1:
        a.flat[1] = 0.4
    return a


def act_negative(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Mix of negative values, zeros and ordinary integer requests."""
    a = act_uniform(rng, periods, c)
    u = rng.random((periods, c.size))
    a[u < 0.25] = -3.5
    a[(u >= 0.25) & (u < 0.4)] = -100.0
    a[(u >= 0.4) & (u < 0.5)] = 0.0
    a[(u >= 0.5) & (u < 0.6)] = -rng.uniform(0.0, 1.0, size=int(((u >= 0.5) & (u < 0.6)).sum()))
    return a


def act_zeros(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Never order."""
    return np.zeros((periods, c.size))


def act_greedy(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Retailer orders far above capacity every period, upstream stages order little or nothing,
    so upstream on-hand stock drains and the available-inventory limit binds."""
    a = np.zeros((periods, c.size))
    a[:, 0] = 3.0 * c[0]
    if c.size > 1:
        a[:, 1:] = rng.integers(0, 4, size=(periods, c.size - 1)).astype(float)
    return a


def act_greedy_all(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Every stage orders a multiple of its own capacity (downstream capacity > upstream stock)."""
    return np.tile(np.round(rng.uniform(1.5, 4.0, size=c.size) * c), (periods, 1))


def act_small(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Small orders (0-5 units): demand outruns supply, so backlog piles up under v0."""
    return rng.integers(0, 6, size=(periods, c.size)).astype(float)


def act_mixed(rng: np.random.Generator, periods: int, c: Array) -> Array:
    """Every entry independently drawn from one of the other families."""
    fams = (act_uniform, act_overcap, act_fractional, act_negative, act_zeros, act_greedy_all)
    choice = rng.integers(0, len(fams), size=(periods, c.size))
    out = np.zeros((periods, c.size))
    for i, fam in enumerate(fams):
        out[choice == i] = fam(rng, periods, c)[choice == i]
    return out


ACTION_FAMILIES: dict[str, ActionFn] = {
    "uniform": act_uniform,
    "overcap": act_overcap,
    "fractional": act_fractional,
    "negative": act_negative,
    "zeros": act_zeros,
    "greedy": act_greedy,
    "greedy_all": act_greedy_all,
    "small": act_small,
    "mixed": act_mixed,
}


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------
def random_lead_times(rng: np.random.Generator, n: int) -> list[int]:
    """Lead times in [0, 10], mixing zeros with non-zeros; never all zero (or-gym crashes)."""
    lt = [int(x) if rng.random() > 0.3 else 0 for x in rng.integers(0, 11, size=n)]
    if max(lt) == 0:
        lt[int(rng.integers(0, n))] = int(rng.integers(1, 11))
    return lt


def random_config(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Random config with n inventory stages (n + 1 stages in or-gym's terminology)."""

    def costs(size: int, hi: float) -> list[float]:
        v = np.round(rng.uniform(0.0, hi, size=size), 3)
        v[rng.random(size) < 0.15] = 0.0  # some zero costs
        return [float(x) for x in v]

    i0 = rng.integers(0, 200, size=n).astype(float)
    i0[rng.random(n) < 0.25] = 0.0
    return {
        "periods": int(rng.integers(1, 61)),
        "I0": [float(x) for x in i0],
        "p": float(rng.integers(1, 11)),  # or-gym truncates p with int(); keep it integral
        "r": costs(n + 1, 3.0),
        "k": costs(n + 1, 1.0),
        "h": costs(n, 0.5),
        "c": [float(x) for x in rng.integers(1, 150, size=n)],
        "L": random_lead_times(rng, n),
        "alpha": float(np.round(rng.uniform(0.3, 1.0), 4)) if rng.random() < 0.8 else 1.0,
    }


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------
def floats(a: Any) -> Any:
    """numpy array / scalar -> nested lists of Python floats."""
    return np.asarray(a, dtype=float).tolist()


def record(
    name: str, env_id: str, config: dict[str, Any], demand: Array, actions: Array
) -> dict[str, Any]:
    """Run one or-gym episode and return the trace dict."""
    periods = int(config["periods"])
    n = len(config["I0"])
    assert demand.shape == (periods,), (name, demand.shape)
    assert actions.shape == (periods, n), (name, actions.shape)
    assert max(config["L"]) > 0, f"{name}: all-zero lead times crash or-gym"

    env_config = dict(config, dist=5, user_D=[float(d) for d in demand])
    env = or_gym.make(env_id, env_config=env_config)
    raw = env.unwrapped
    obs = env.reset()
    observations = [floats(obs)]
    rewards: list[float] = []
    dones: list[bool] = []
    for t in range(periods):
        obs, reward, done, _ = env.step(np.array(actions[t], dtype=float))
        observations.append(floats(obs))
        rewards.append(float(reward))
        dones.append(bool(done))
    assert dones[-1] and not any(dones[:-1]), name
    assert np.array_equal(raw.D, demand), name
    if env_id.endswith("v1"):
        assert not raw.backlog and not raw.B.any(), name
    else:
        assert raw.backlog and not raw.LS.any(), name

    return {
        "name": name,
        "env_id": env_id,
        "config": config,
        "demand": floats(demand),
        "actions": floats(actions),
        "observations": observations,
        "rewards": rewards,
        "dones": dones,
        "on_hand": floats(raw.I),
        "backlog": floats(raw.B),
        "lost_sales": floats(raw.LS),
        "sales": floats(raw.S),
        "shipments": floats(raw.R),
        "pipeline": floats(raw.T),
    }


def both_envs(
    name: str, config: dict[str, Any], demand: Array, actions: Array
) -> list[dict[str, Any]]:
    """Record the same config / demand / actions under v0 (backlog) and v1 (lost sales)."""
    return [record(f"{name}-{env_id[-2:]}", env_id, config, demand, actions) for env_id in ENV_IDS]


def build_cases() -> list[dict[str, Any]]:
    """All fixture cases, in a fixed order."""
    cases: list[dict[str, Any]] = []

    # 1) OR-Gym's default config, Poisson(20) demand, several action families.
    c_def = np.array(DEFAULT_CONFIG["c"])
    for i, fam in enumerate(("uniform", "greedy", "mixed", "zeros")):
        rng = np.random.default_rng([1, i])
        demand = demand_poisson(rng, 30, 20.0)
        actions = ACTION_FAMILIES[fam](rng, 30, c_def)
        cases += both_envs(f"default-{fam}-{i}", dict(DEFAULT_CONFIG), demand, actions)

    # 2) Long default-parameter runs where backlog accumulates under v0.
    for i, (fam, mu) in enumerate((("small", 20.0), ("negative", 35.0))):
        rng = np.random.default_rng([2, i])
        cfg = dict(DEFAULT_CONFIG, periods=60)
        demand = demand_poisson(rng, 60, mu)
        actions = ACTION_FAMILIES[fam](rng, 60, c_def)
        cases += both_envs(f"default-long-{fam}-{i}", cfg, demand, actions)

    # 3) Random configs with 1-4 inventory stages and varied action families.
    fams = list(ACTION_FAMILIES)
    for n in (1, 2, 3, 4):
        for j in range(5):
            rng = np.random.default_rng([3, n, j])
            cfg = random_config(rng, n)
            fam = fams[(3 * n + j) % len(fams)]
            demand = make_demand(rng, cfg["periods"])
            actions = ACTION_FAMILIES[fam](rng, cfg["periods"], np.array(cfg["c"]))
            cases += both_envs(f"random-n{n}-{j}-{fam}", cfg, demand, actions)

    # 4) Hand-picked edge configs.
    edges: list[tuple[str, dict[str, Any], str]] = [
        (
            "alpha1-L031",
            {
                "periods": 25,
                "I0": [10.0, 0.0, 50.0],
                "L": [0, 3, 1],
                "alpha": 1.0,
                "c": [30.0, 25.0, 40.0],
            },
            "mixed",
        ),
        (
            "alpha05-L20",
            {
                "periods": 20,
                "I0": [0.0, 40.0],
                "p": 5.0,
                "r": [1.0, 0.5, 0.25],
                "k": [0.5, 0.2, 0.1],
                "h": [0.2, 0.1],
                "c": [50.0, 20.0],
                "L": [2, 0],
                "alpha": 0.5,
            },
            "greedy",
        ),
        (
            "one-stage-L1",
            {
                "periods": 15,
                "I0": [5.0],
                "p": 3.0,
                "r": [1.0, 0.5],
                "k": [0.3, 0.1],
                "h": [0.05],
                "c": [25.0],
                "L": [1],
                "alpha": 0.9,
            },
            "uniform",
        ),
        (
            "one-stage-L10-short",
            {
                "periods": 8,
                "I0": [30.0],
                "p": 4.0,
                "r": [2.0, 1.0],
                "k": [1.0, 0.0],
                "h": [0.1],
                "c": [60.0],
                "L": [10],
                "alpha": 1.0,
            },
            "overcap",
        ),
        ("periods1", {"periods": 1}, "uniform"),
        ("periods2-L0-10", {"periods": 2, "L": [0, 10, 0]}, "greedy_all"),
        ("zero-I0", {"I0": [0.0, 0.0, 0.0], "periods": 40}, "uniform"),
        (
            "zero-costs",
            {
                "p": 1.0,
                "r": [0.0, 0.0, 0.0, 0.0],
                "k": [0.0, 0.0, 0.0, 0.0],
                "h": [0.0, 0.0, 0.0],
                "L": [1, 0, 2],
            },
            "mixed",
        ),
        ("L0-0-1", {"L": [0, 0, 1], "periods": 35}, "greedy"),
        (
            "four-stage-L0-first",
            {
                "periods": 45,
                "I0": [20.0, 0.0, 80.0, 150.0],
                "p": 6.0,
                "r": [2.0, 1.5, 1.0, 0.5, 0.25],
                "k": [0.4, 0.3, 0.2, 0.1, 0.0],
                "h": [0.2, 0.15, 0.1, 0.05],
                "c": [40.0, 35.0, 60.0, 10.0],
                "L": [0, 4, 0, 7],
                "alpha": 0.95,
            },
            "greedy",
        ),
        ("spiky-fractional", {"periods": 50, "L": [2, 2, 2]}, "fractional"),
        ("backlog-pileup", {"periods": 60, "c": [10.0, 10.0, 10.0], "L": [1, 1, 1]}, "overcap"),
    ]
    for i, (label, overrides, fam) in enumerate(edges):
        rng = np.random.default_rng([4, i])
        cfg = dict(DEFAULT_CONFIG, **overrides)
        periods = cfg["periods"]
        if label.startswith("spiky") or label.startswith("backlog"):
            demand = demand_spiky(rng, periods, 20.0)
        else:
            demand = make_demand(rng, periods)
        actions = ACTION_FAMILIES[fam](rng, periods, np.array(cfg["c"]))
        cases += both_envs(f"edge-{label}-{fam}", cfg, demand, actions)

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


def write_fixture(path: Path, cases: list[dict[str, Any]]) -> None:
    """Write the fixture: compact JSON, one case per line (keeps diffs readable)."""
    header = {
        "orgym_version": or_gym.__version__,
        "numpy_version": np.__version__,
        "generated_by": "scripts/make_orgym_fixtures.py",
    }
    head = json.dumps(header, separators=(",", ":"))[:-1]
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{head},"cases":[\n{body}\n]}}\n')


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args()
    cases = build_cases()
    write_fixture(args.out, cases)
    json.loads(args.out.read_text())  # round-trip check
    size = args.out.stat().st_size
    print(f"wrote {len(cases)} cases to {args.out} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
