"""DQN on probe environments (known values and best actions), its replay buffer and its own
config choices (the contract every learner shares is tests/test_learner_contract.py).

Compiling a run takes seconds and running these tiny ones a fraction of that, so runs are
long enough to settle and the runs two tests need are compiled once (``_run``)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv.agents import base, dqn
from tests import probes

# Small nets; MSE so that values are expectations (a Huber loss with stochastic targets spread
# wider than its delta settles between their mean and their median).
PROBE = {
    "hidden": (16, 16),
    "normalize_obs": False,
    "reward_scale": 1.0,
    "loss": "mse",
    "num_envs": 8,
    "num_steps": 4,
    "gradient_steps": 4,
    "batch_size": 64,
    "buffer_size": 1_000,
    "learning_starts": 256,
    "tau": 1.0,
    "target_update_every": 10,
    "lr": 3e-3,
    "eps_fraction": 0.3,
    "eps_end": 0.02,
    "total_steps": 8_000,
}
ENVS = {
    "constant": probes.ConstantReward,
    "observation": probes.ObservationReward,
    "action": probes.ActionReward,
    "two_step": probes.TwoStep,
    "truncated": lambda: probes.Continuing(truncate=True),
    "terminated": lambda: probes.Continuing(truncate=False),
    "scaled": probes.ScaledObservationReward,
    "two_step_orders": probes.TwoStepOrders,
}


@functools.cache
def _run(env_name: str, **overrides):
    """``(learner, jitted train, final state, metrics)`` of one probe run from key 0."""
    env = ENVS[env_name]()
    config = dqn.make_config(**{**PROBE, **overrides})
    learner = dqn.make_learner(config, env, env.default_params)
    train = jax.jit(base.train_fn(learner))
    state, metrics = train(jax.random.PRNGKey(0))
    return learner, train, state, metrics


def values(learner, state, *obs: float) -> np.ndarray:
    return np.asarray(learner.value(learner.agent(state), jnp.asarray(obs, jnp.float32)[:, None]))


def test_constant_reward_value_and_schedule():
    learner, _, state, metrics = _run("constant")
    np.testing.assert_allclose(values(learner, state, 0.0), [1.0], atol=0.02)
    # Nothing is learned before learning_starts (256 env steps = 8 updates of 32), then it is.
    loss = np.asarray(metrics["loss"])
    assert np.all(loss[:7] == 0.0) and np.all(loss[7:] > 0.0)
    assert int(state.grad_steps) == 4 * (learner.num_updates - 7)
    # Epsilon falls linearly over 30% of the run (2,400 env steps), then stays at eps_end.
    env_steps = 32 * np.arange(1, learner.num_updates + 1)
    expected = 1.0 + np.minimum(env_steps / 2_400, 1.0) * (0.02 - 1.0)
    np.testing.assert_allclose(np.asarray(metrics["epsilon"]), expected, atol=1e-6)
    assert int(state.env_steps) == 8_000 and int(state.replay.size) == 1_000
    np.testing.assert_array_equal(np.asarray(metrics["episodes"]), 32)
    np.testing.assert_array_equal(np.asarray(metrics["episode_return"]), 1.0)


def test_observation_dependent_value():
    learner, _, state, _ = _run("observation")
    np.testing.assert_allclose(values(learner, state, -1.0, 1.0), [-1.0, 1.0], atol=0.05)


def test_action_dependent_reward_best_action_per_stage():
    """MultiDiscrete [3, 4]: each stage's head finds its best quantity from the shared reward."""
    learner, _, state, metrics = _run("action", eps_end=0.0)
    agent = learner.agent(state)
    obs = jnp.zeros((4, 1), jnp.float32)
    action = learner.policy(agent, True)(jax.random.PRNGKey(1), obs, None)
    np.testing.assert_array_equal(np.asarray(action), [[2, 1]] * 4)
    assert action.dtype == jnp.float32  # the env's MultiDiscrete action
    np.testing.assert_allclose(values(learner, state, 0.0), [2.0], atol=0.05)
    assert float(metrics["episode_return"][-1]) == 2.0  # greedy at the end (eps_end = 0)
    # Epsilon-greedy at eps_end = 0 is greedy too.
    sampled = learner.policy(agent, False)(jax.random.PRNGKey(2), obs, None)
    np.testing.assert_array_equal(np.asarray(sampled), np.asarray(action))


def test_two_step_discounting():
    learner, _, state, _ = _run("two_step", gamma=0.9)
    np.testing.assert_allclose(values(learner, state, 0.0, 1.0), [0.9, 1.0], atol=0.05)


@pytest.mark.parametrize("truncate", [True, False])
def test_truncation_bootstraps_termination_does_not(truncate):
    """Reward 1 each step, the same observation always, episodes cut after 5 steps.

    Truncated: the cut is not an end, V = 1 / (1 - gamma) = 5. Terminated: the fifth step
    does not bootstrap; with the time unobserved, one-step TD's fixed point over the buffer
    (1 in 5 transitions terminal) is V = 1 / (1 - gamma * 4 / 5) = 2.78.
    """
    gamma = 0.8
    expected = 1 / (1 - gamma) if truncate else 1 / (1 - gamma * 0.8)
    name = "truncated" if truncate else "terminated"
    learner, _, state, _ = _run(name, gamma=gamma, total_steps=24_000)
    np.testing.assert_allclose(values(learner, state, 0.0), [expected], rtol=0.03)
    terminated = np.asarray(state.replay.data.terminated)
    assert terminated.mean() == (0.0 if truncate else 0.2)


def test_plain_dqn_options_two_step_discounting():
    """The non-default paths together: the target network's own max (no double DQN), no
    dueling, the Huber loss (the probe's targets are deterministic, so its fit is their value)
    and the learning rate annealed to 0. The values are still gamma and 1."""
    learner, _, state, _ = _run(
        "two_step", gamma=0.9, double=False, dueling=False, loss="huber", anneal_lr=True
    )
    assert "state_value" not in state.agent.net["params"]  # no dueling stream
    np.testing.assert_allclose(values(learner, state, 0.0, 1.0), [0.9, 1.0], atol=0.05)


@pytest.mark.parametrize("branch_target", ["stage", "mean"])
def test_branch_targets_bootstrap_every_head(branch_target):
    """Two order heads, the reward [a0 == 2] + [a1 == 1] on the second step only: each head
    must bootstrap 2 into the first step, from its own next value ("stage") or the mean over
    heads ("mean"): V(0) = 2 gamma = 1.8, V(1) = 2, greedy orders [2, 1] at the second step."""
    learner, _, state, _ = _run(
        "two_step_orders", gamma=0.9, eps_end=0.0, branch_target=branch_target
    )
    np.testing.assert_allclose(values(learner, state, 0.0, 1.0), [1.8, 2.0], atol=0.06)
    obs = jnp.ones((2, 1), jnp.float32)
    action = learner.policy(learner.agent(state), True)(None, obs, None)
    np.testing.assert_array_equal(np.asarray(action), [[2, 1]] * 2)


def test_normalised_observations_value_in_scaled_units():
    """Obs 40 or 60 (mean 50, variance 100), reward -4 or +4, reward_scale 0.25: Q values in
    scaled units are -1, +1, from raw observations standardised by the running statistics."""
    learner, _, state, _ = _run("scaled", normalize_obs=True, reward_scale=0.25)
    np.testing.assert_allclose(values(learner, state, 40.0, 60.0), [-1.0, 1.0], atol=0.05)
    stats = learner.agent(state).obs_stats
    # 8,000 coin flips: standard error of the mean 10 / sqrt(8,000) = 0.11.
    np.testing.assert_allclose(float(stats.mean[0]), 50.0, atol=0.45)
    np.testing.assert_allclose(float(stats.var[0]), 100.0, rtol=0.03)


def test_retail_store_episode_ends_are_stored_before_the_reset():
    """On a real env (batched ``step_many``, ``Discrete`` orders): the horizon terminates, and
    the buffer keeps the observation the store reached (a Saturday), not the reset (Monday)."""
    env, params = jaxinv.make("RetailStore-v0", horizon=5)
    config = dqn.make_config(
        **{**PROBE, "hidden": (8,), "num_envs": 4, "num_steps": 5, "total_steps": 40}
    )
    learner = dqn.make_learner(config, env, params)
    state, metrics = jax.jit(base.train_fn(learner))(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(np.asarray(metrics["episodes"]), [4, 4])
    data = jax.tree.map(np.asarray, state.replay.data)
    assert int(state.replay.size) == 40 and data.terminated.sum() == 8
    weekday = data.next_obs[:, 1:].argmax(-1) + data.next_obs[:, 1:].max(-1)  # 0 = Monday
    np.testing.assert_array_equal(weekday[data.terminated], 5)
    np.testing.assert_array_equal(np.asarray(state.batch.obs)[:, 1:], 0.0)  # Monday again
    assert data.action.shape == (1_000, 1) and data.action[:40].max() <= 20
    action = learner.policy(learner.agent(state), True)(None, state.batch.obs, None)
    assert action.shape == (4,) and action.dtype == jnp.int32


def _experience(ids: list[int]) -> dqn.Experience:
    x = jnp.asarray(ids, jnp.float32)
    return dqn.Experience(
        obs=jnp.stack([x, -x], -1),
        action=x[:, None].astype(jnp.int32),
        reward=x,
        next_obs=jnp.stack([x + 0.5, -x], -1),
        terminated=x % 2 == 0,
    )


def test_replay_wraps_around_and_samples_only_filled_slots():
    add = jax.jit(dqn.replay_add)
    sample = jax.jit(dqn.replay_sample, static_argnums=2)
    replay = add(dqn.replay_init(5, obs_size=2, num_stages=1), _experience([1, 2, 3]))
    assert (int(replay.position), int(replay.size)) == (3, 3)
    # Partly filled: every draw comes from the 3 filled slots, each about a third of the time.
    drawn = np.asarray(sample(replay, jax.random.PRNGKey(0), 3_000).reward)
    counts = np.bincount(drawn.astype(int), minlength=6)
    assert counts[0] == 0 and counts[4:].sum() == 0
    assert np.all(np.abs(counts[1:4] - 1_000) < 120)
    # Nine items into five slots: the oldest four are overwritten, in order, wrapping around.
    replay = add(add(replay, _experience([4, 5, 6])), _experience([7, 8, 9]))
    np.testing.assert_array_equal(np.asarray(replay.data.reward), [6, 7, 8, 9, 5])
    assert (int(replay.position), int(replay.size)) == (4, 5)
    drawn = sample(replay, jax.random.PRNGKey(1), 3_000)
    reward = np.asarray(drawn.reward)
    assert set(reward.astype(int)) == {5, 6, 7, 8, 9}
    # Each draw is one whole transition.
    np.testing.assert_array_equal(np.asarray(drawn.obs), np.stack([reward, -reward], -1))
    np.testing.assert_array_equal(np.asarray(drawn.next_obs)[:, 0], reward + 0.5)
    np.testing.assert_array_equal(np.asarray(drawn.action)[:, 0], reward.astype(int))
    np.testing.assert_array_equal(np.asarray(drawn.terminated), reward % 2 == 0)


def test_traced_tau_and_eps_start():
    """Floats DQN alone has are traced too: one compiled run serves tau = 0 (the target network
    never follows) and eps_start = 0.5 (the schedule starts there) next to the probe config."""
    env = ENVS["observation"]()
    config = dqn.make_config(**PROBE)

    @jax.jit
    def run(cfg, key):
        return base.train_fn(dqn.make_learner(cfg, env, env.default_params))(key)

    key = jax.random.PRNGKey(0)
    init = dqn.make_learner(config, env, env.default_params).init(key)
    kernel0 = np.asarray(jax.tree.leaves(init.agent.net)[0])
    frozen, frozen_metrics = run(config.replace(tau=0.0, eps_start=0.5), key)
    moving, moving_metrics = run(config, key)
    assert run._cache_size() == 1
    np.testing.assert_array_equal(np.asarray(jax.tree.leaves(frozen.target_net)[0]), kernel0)
    assert not np.allclose(np.asarray(jax.tree.leaves(frozen.agent.net)[0]), kernel0)
    assert not np.allclose(np.asarray(jax.tree.leaves(moving.target_net)[0]), kernel0)
    # After the first update: 32 of the 2,400 env steps of the decay (eps_fraction 0.3 of 8,000).
    first = [float(m["epsilon"][0]) for m in (moving_metrics, frozen_metrics)]
    np.testing.assert_allclose(first, [1.0 - 0.98 / 75, 0.5 - 0.48 / 75], rtol=1e-5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target_update": 10}, "Did you mean 'target_update_every'?"),
        ({"loss": "l1"}, "'loss'='l1' is not allowed"),
        ({"branch_target": "max"}, "'branch_target'='max' is not allowed"),
        ({"num_envs": 16, "buffer_size": 8}, "'buffer_size'=8 must hold"),
    ],
)
def test_bad_choice_is_named(overrides, message):
    """DQN's choices and cross-field checks (ranges, types and unknown keys of every
    algorithm: test_learner_contract.py)."""
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        dqn.make_config(**overrides)
