"""Record or-gym 0.5.0's echelon base-stock orders on fixed demand paths.

For v0 and v1 chains with 1 to 3 stages, random levels, capacities, lead times, initial stock
and Poisson demand paths (some far above capacity, so v0 piles up backlog), this steps or-gym
with the order its ``base_stock_action`` defines and stores every order and reward in
``tests/fixtures/orgym_base_stock.json``; tests/test_base_stock.py replays them through
``jaxinv.policies.base_stock``.

or-gym 0.5.0's ``base_stock_action`` cannot run as released: it reads the inventory position
from ``_update_base_stock_policy_state()``, which stores it in ``env.state`` and returns None.
So the position is taken from ``env.state`` after that call (the observation is put back), and
the rest of ``base_stock_action``'s formula applied: ``min(c, max(z - position, 0), on-hand
upstream)``.

Run with the or-gym reference venv (no jax)::

    .venv-orgym/bin/python scripts/make_orgym_base_stock_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import or_gym

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "orgym_base_stock.json"


def orgym_base_stock_order(env, levels: np.ndarray) -> np.ndarray:
    """or-gym's base-stock order for echelon levels ``levels``, working around its bug."""
    observation = env.state.copy()
    env._update_base_stock_policy_state()
    position = np.asarray(env.state, np.float64)
    env.state = observation
    upstream = np.append(env.I[env.period, 1:], np.inf)
    wanted = np.maximum(levels - position, 0.0)
    return np.minimum(np.minimum(env.supply_capacity, wanted), upstream)


def record_case(rng: np.random.Generator, env_id: str) -> dict:
    stages = int(rng.integers(1, 4))
    periods = int(rng.integers(5, 31))
    mu = float(rng.choice([5.0, 20.0, 60.0]))
    lead_times = rng.integers(0, 6, stages)
    lead_times[-1] = max(lead_times[-1], 1)  # or-gym crashes when every lead time is 0
    config = {
        "periods": periods,
        "I0": rng.integers(0, 150, stages).tolist(),
        "c": rng.integers(10, 100, stages).tolist(),
        "L": lead_times.tolist(),
        "r": np.round(rng.uniform(0.2, 2.0, stages + 1), 3).tolist(),
        "k": np.round(rng.uniform(0.0, 0.3, stages + 1), 3).tolist(),
        "h": np.round(rng.uniform(0.0, 0.3, stages), 3).tolist(),
        "p": 2.0,
        "alpha": 0.97,
        "dist": 5,
        "user_D": rng.poisson(mu, periods).astype(float).tolist(),
    }
    levels = np.cumsum(rng.integers(0, 200, stages)).astype(np.float64)
    env = or_gym.make(env_id, env_config=config)
    env.reset()
    orders, rewards = [], []
    for _ in range(periods):
        order = orgym_base_stock_order(env, levels)
        orders.append(order.tolist())
        _, reward, _, _ = env.step(order)
        rewards.append(float(reward))
    return {
        "env_id": env_id,
        "config": config,
        "levels": levels.tolist(),
        "orders": orders,
        "rewards": rewards,
    }


def main() -> None:
    rng = np.random.default_rng(20261123)
    cases = [record_case(rng, env_id) for env_id in ("InvManagement-v0", "InvManagement-v1") * 4]
    OUT.write_text(json.dumps({"or_gym": or_gym.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
