"""Stable-Baselines3 training throughput on or-gym's env (run in an interpreter that has both).

    python benchmarks/sb3_steps.py --env InvManagement-v1 --algo ppo --steps 20000

Trains SB3's algorithm with its default hyperparameters and MLP policy on one or-gym env for
``--steps`` env steps (after a short warm-up) and prints one JSON line with env steps/s. Used
by benchmarks/train_throughput.py as the same-run reference.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest here)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import or_gym
    import stable_baselines3 as sb3
    import torch

    torch.set_num_threads(args.threads)
    env = or_gym.make(args.env)
    cls = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}[args.algo]
    model = cls("MlpPolicy", env, verbose=0, seed=0, device="cpu")
    model.learn(total_timesteps=2_048)  # warm-up: first rollout and update
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "library": f"stable-baselines3 {sb3.__version__}, torch {torch.__version__}",
                "algo": args.algo,
                "steps": args.steps,
                "seconds": elapsed,
                "steps_per_s": args.steps / elapsed,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
