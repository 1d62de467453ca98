"""Rollouts of hand-made policies over many chains, and the demo command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinv
from jaxinv import families, simulate
from jaxinv.policies.constant import constant_order, uniform_random

DEMAND = [5, 30, 0, 18, 22, 9, 40, 13, 20, 25]
STATS = json.loads((Path(__file__).parent / "fixtures" / "orgym_return_stats.json").read_text())


def test_rollout_sums_each_finished_episode() -> None:
    """make_rollout's episode returns equal the rewards summed by hand from vmap(env.step)."""
    env, params = jaxinv.make("InvManagement-v0", periods=10, dist=5, user_D=DEMAND)
    num_envs, num_steps = 4, 25  # two finished episodes and half a third
    policy = constant_order([15.0, 12.0, 30.0])
    total, episodes = jax.jit(simulate.make_rollout(env, params, policy, num_envs, num_steps))(
        jax.random.key(0)
    )
    np.testing.assert_array_equal(np.asarray(episodes), 2)

    keys = jax.random.split(jax.random.key(1), num_envs)
    obs, state = jax.vmap(env.reset, (0, None))(keys, params)
    rewards = []
    for _ in range(20):
        action = policy(None, obs, state)
        obs, state, reward, *_ = jax.vmap(env.step, (0, 0, 0, None))(keys, state, action, params)
        rewards.append(np.asarray(reward))
    np.testing.assert_allclose(np.asarray(total), np.sum(rewards, axis=0), rtol=1e-5)


def test_uniform_random_orders_are_valid_and_uniform() -> None:
    capacities = jnp.asarray([4.0, 9.0])
    policy = uniform_random(capacities)
    actions = np.asarray(policy(jax.random.key(3), jnp.zeros((40_000, 7)), None))
    space = jaxinv.envs.spaces.MultiDiscrete([5, 10])
    assert bool(jax.vmap(space.contains)(actions).all())
    for stage, cap in enumerate([4, 9]):
        counts = np.bincount(actions[:, stage].astype(int), minlength=cap + 1)
        # Uniform on 0..c inclusive: a sampler that never drew c (or favoured 0) fails here.
        assert counts.size == cap + 1 and stats.chisquare(counts).pvalue > 1e-4


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    return subprocess.run(
        [sys.executable, "-m", "jaxinv.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _demo_means(stdout: str) -> dict[str, float]:
    """``{policy: mean return}`` from the demo's lines ``  NAME  mean return X ± ...``."""
    means = {}
    for line in stdout.splitlines()[1:]:
        name, _, rest = line.partition(" mean return ")
        means[name.strip()] = float(rest.split()[0])
    return means


@pytest.mark.parametrize("env_id", jaxinv.registered_envs)
def test_demo_runs_each_family_s_policies(env_id: str, capsys) -> None:
    """``demo`` for every registered env (its tiny config), in this process: each of the
    family's demo policies gets a line with a finite mean return over finished episodes."""
    from jaxinv.cli import build_parser

    family = families.family_of(env_id)
    smoke = family.smoke_config[env_id]
    sets = [f"--set={k}={json.dumps(v)}" for k, v in smoke.items()]
    args = build_parser().parse_args(["demo", "--env", env_id, "--envs", "32", *sets])
    args.func(args)
    means = _demo_means(capsys.readouterr().out)
    assert set(means) == set(family.demo_policies(*jaxinv.make(env_id, **smoke)))
    assert all(np.isfinite(m) and m != 0.0 for m in means.values()), means


def test_demo_reports_both_policies_on_every_core() -> None:
    """The command as a user runs it: one device per core, and the constant order of mean
    demand (20) earns what or-gym earns with it (tests/fixtures/orgym_return_stats.json,
    4000 or-gym episodes) within 4 standard errors over our 64 x 10 episodes."""
    out = run_cli("demo", "--envs", "64")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"on {os.cpu_count()} cpu device(s)" in lines[0] and "10 episodes each" in lines[0]
    assert all("M steps/s" in line for line in lines[1:3])
    (orgym,) = [c for c in STATS["cases"] if c["env_id"] == "InvManagement-v1" and not c["config"]]
    assert orgym["action"] == [20, 20, 20]
    mean = _demo_means(out.stdout)["constant order 20/stage"]
    se = orgym["std"] * np.sqrt(1 / orgym["episodes"] + 1 / 640)
    assert abs(mean - orgym["mean"]) < 4 * se, (mean, orgym["mean"], se)


def test_demo_bad_config_names_the_key() -> None:
    out = run_cli("demo", "--envs", "8", "--set", "alpha=1.5")
    assert out.returncode != 0
    assert "'alpha'=1.5" in out.stderr and "(0, 1]" in out.stderr
