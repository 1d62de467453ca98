"""One test year of the retail store under DQN, the best (s, S) and the exact optimum.

    python scripts/plot_retail_year.py --dqn-run runs/dqn_retail [--year 0] [--days 56]
        [--out docs/retail_test_year.png]

The DQN run is a ``jaxinv train --env RetailStore-v0 --algo dqn`` directory (its greedy
policy, first seed). (s, S) is the pair searched on the training year; the optimum is the DP
policy. All three replay test year ``--year`` (0 = the article's seed 100) on the same demand;
the figure shows the first ``--days`` days: stock on the shelf at the end of each day and the
orders placed, with each policy's profit over the whole year in the legend.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

from jaxinv import baselines, plots, training
from jaxinv.compare import year_trajectory
from jaxinv.envs import retail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dqn-run", required=True)
    parser.add_argument("--year", type=int, default=0)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--out", type=Path, default=Path("docs/retail_test_year.png"))
    args = parser.parse_args()

    def year_of(env, params):
        return jax.tree.map(lambda leaf: leaf[args.year], env.evaluation_params(params))

    loaded = training.load_run(args.dqn_run)
    env, params = loaded.built.env, loaded.built.params
    agent = training.seed_slice(loaded.agent, 0)
    base_env, base_params = retail.make_retail_store()
    trajectories = {
        "DQN": year_trajectory(env, year_of(env, params), loaded.built.learner.policy(agent, True))
    }
    for label, name in (("(s, S)", "sS"), ("optimum (DP)", "dp")):
        policy = baselines.fit("RetailStore-v0", name, base_env, base_params, {})[0]
        trajectories[label] = year_trajectory(base_env, year_of(base_env, base_params), policy)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    title = f"RetailStore-v0, test year {100 + args.year}"
    plots.test_year(trajectories, args.out, title, days=args.days)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
