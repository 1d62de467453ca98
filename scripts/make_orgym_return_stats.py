"""Record or-gym 0.5.0's episode-return statistics under its OWN demand sampling.

The parity traces (make_orgym_fixtures.py) inject demand, so they cannot check the demand
distributions themselves. This script steps or-gym with its built-in demand (scipy's
``rvs`` on numpy's global RNG) under fixed constant-order policies, for each demand
distribution, and stores the mean, standard deviation and count of the discounted episode
returns in ``tests/fixtures/orgym_return_stats.json``. tests/test_parity.py checks that
jaxinv's returns, with its own exact samplers, agree within sampling error.

Run with the or-gym reference venv (no jax)::

    .venv-orgym/bin/python scripts/make_orgym_return_stats.py [--episodes 4000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import or_gym

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "orgym_return_stats.json"

CASES = [
    {"env_id": "InvManagement-v1", "config": {}, "action": [20, 20, 20]},
    {"env_id": "InvManagement-v0", "config": {}, "action": [20, 20, 20]},
    {
        "env_id": "InvManagement-v1",
        "config": {"dist": 2, "dist_param": {"n": 40, "p": 0.5}},
        "action": [18, 20, 22],
    },
    {
        "env_id": "InvManagement-v0",
        "config": {"dist": 3, "dist_param": {"low": 0, "high": 41}},
        "action": [25, 25, 25],
    },
]
# or-gym asserts P(demand <= 0) > 0 at construction, so it refuses the geometric distribution
# (support from 1) and any randint or loc that excludes 0: those cannot be compared here.


def episode_returns(case: dict, episodes: int, seed: int) -> np.ndarray:
    """Discounted return (or-gym's reward is already discounted) of each episode."""
    env = or_gym.make(case["env_id"], env_config={**case["config"], "seed_int": seed})
    action = np.asarray(case["action"])
    returns = np.empty(episodes)
    for episode in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, reward, done, _ = env.step(action)
            total += reward
        returns[episode] = total
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    records = []
    for index, case in enumerate(CASES):
        returns = episode_returns(case, args.episodes, seed=index)
        records.append(
            {
                **case,
                "episodes": args.episodes,
                "mean": float(returns.mean()),
                "std": float(returns.std(ddof=1)),
            }
        )
        print(case["env_id"], case["config"], f"{returns.mean():.3f} ± {returns.std():.3f}")
    payload = {
        "orgym_version": or_gym.__version__,
        "numpy_version": np.__version__,
        "generated_by": "scripts/make_orgym_return_stats.py",
        "cases": records,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    main()
