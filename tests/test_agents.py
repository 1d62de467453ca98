"""PPO and A2C on probe environments (known values and best actions), and their own config
choices. The contract every learner shares (same seed same numbers, vmap over seeds and over
traced hyperparameters, config errors) is tests/test_learner_contract.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinv.agents import a2c, base, ppo
from tests import probes

ALGOS = {"ppo": ppo, "a2c": a2c}
SMALL = {"hidden": (16, 16), "normalize_obs": False, "normalize_reward": False}
# Per-algorithm settings for the probes: small nets, enough updates for values to settle.
PROBE_CONFIG = {
    "ppo": dict(SMALL, num_envs=32, num_steps=10, num_minibatches=2, update_epochs=4, lr=3e-3),
    "a2c": dict(SMALL, num_envs=16, num_steps=5, lr=3e-3, optimizer="adam"),
}


def train(algo: str, env, total_steps: int = 20_000, **overrides):
    module = ALGOS[algo]
    config = module.make_config(**{**PROBE_CONFIG[algo], "total_steps": total_steps, **overrides})
    learner = module.make_learner(config, env, env.default_params)
    state, metrics = jax.jit(base.train_fn(learner))(jax.random.PRNGKey(0))
    return learner, learner.agent(state), metrics


def values(learner, agent, *obs: float) -> np.ndarray:
    return np.asarray(learner.value(agent, jnp.asarray(obs, jnp.float32)[:, None]))


@pytest.mark.parametrize("algo", ALGOS)
def test_constant_reward_value(algo):
    learner, agent, _ = train(algo, probes.ConstantReward())
    np.testing.assert_allclose(values(learner, agent, 0.0), [1.0], atol=0.05)


@pytest.mark.parametrize("algo", ALGOS)
def test_observation_dependent_value(algo):
    learner, agent, _ = train(algo, probes.ObservationReward())
    np.testing.assert_allclose(values(learner, agent, -1.0, 1.0), [-1.0, 1.0], atol=0.1)


@pytest.mark.parametrize("algo", ALGOS)
def test_action_dependent_reward_best_action(algo):
    env = probes.ActionReward()
    learner, agent, metrics = train(algo, env, total_steps=40_000, ent_coef=0.0)
    obs = jnp.zeros((4, 1), jnp.float32)
    action = learner.policy(agent, True)(jax.random.PRNGKey(1), obs, None)
    np.testing.assert_array_equal(np.asarray(action), [[2, 1]] * 4)
    np.testing.assert_allclose(values(learner, agent, 0.0), [2.0], atol=0.15)
    # The sampled policy has become nearly deterministic: the last returns are near 2.
    assert float(metrics["episode_return"][-1]) > 1.9


@pytest.mark.parametrize("algo", ALGOS)
def test_two_step_discounting(algo):
    learner, agent, _ = train(algo, probes.TwoStep(), gamma=0.9)
    np.testing.assert_allclose(values(learner, agent, 0.0, 1.0), [0.9, 1.0], atol=0.07)


@pytest.mark.parametrize("algo", ALGOS)
def test_truncation_bootstraps_termination_does_not(algo):
    gamma = 0.9
    truncated_learner, truncated_agent, _ = train(
        algo, probes.Continuing(truncate=True), total_steps=60_000, gamma=gamma
    )
    terminated_learner, terminated_agent, _ = train(
        algo, probes.Continuing(truncate=False), total_steps=60_000, gamma=gamma
    )
    infinite = 1.0 / (1.0 - gamma)  # 10
    finite = np.mean([(1 - gamma**k) / (1 - gamma) for k in range(1, 6)])  # 2.63
    np.testing.assert_allclose(
        values(truncated_learner, truncated_agent, 0.0), [infinite], rtol=0.05
    )
    np.testing.assert_allclose(
        values(terminated_learner, terminated_agent, 0.0), [finite], rtol=0.05
    )


@pytest.mark.parametrize(
    ("algo", "overrides", "message"),
    [
        ("ppo", {"head": "beta"}, "'head'='beta' is not allowed"),
        ("ppo", {"num_envs": 3, "num_steps": 3, "num_minibatches": 2}, "divisible"),
        ("a2c", {"optimizer": "sgd"}, "'optimizer'='sgd' is not allowed"),
    ],
)
def test_bad_choice_is_named(algo, overrides, message):
    """Choices and cross-field checks of PPO and A2C (ranges, types and unknown keys of every
    algorithm: test_learner_contract.py)."""
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        ALGOS[algo].make_config(**overrides)


def test_categorical_sampler_matches_probabilities_and_skips_padding():
    """Inversion sampling draws each quantity with its softmax probability; padding never."""
    from jaxinv.agents import networks

    spec = networks.ActionSpec((4, 2))
    logits = jnp.asarray([[0.5, -1.0, 2.0, 0.0], [1.0, -0.5, 9.0, 9.0]])
    head_out = jnp.where(spec.mask(), logits, networks.MASKED_LOGIT)
    n = 200_000
    raw, log_prob = networks.sample(
        "categorical", jnp.broadcast_to(head_out, (n, 2, 4)), jax.random.PRNGKey(0)
    )
    raw = np.asarray(raw, int)
    assert raw[:, 1].max() <= 1  # stage 1 has two quantities; its padding has logits 9
    for stage, size in enumerate(spec.nvec):
        p = np.asarray(jax.nn.softmax(logits[stage, :size]))
        freq = np.bincount(raw[:, stage], minlength=size) / n
        np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(p * (1 - p) / n).max())
    expected, _ = networks.log_prob_entropy("categorical", head_out[None], raw[:5].astype(float))
    np.testing.assert_allclose(np.asarray(log_prob[:5]), np.asarray(expected), rtol=1e-5)


# -- options, first by hand, then on probes -------------------------------------------------------
#
# ConstantReward with no hidden layers: the observation is always 0, so the critic is its bias
# b (0 at init) and the actor's logits are their bias (0: a uniform policy); every episode is
# one step of reward 1, so every value target is exactly 1 and every advantage is 1 - b, the
# same for all transitions. With the value loss 0.5 * mean((b - 1)^2) and vf_coef 0.5 the
# bias's gradient is g = 0.5 * (b - 1), -0.5 at init. Adam's first step moves a parameter by
# lr * |g| / (|g| + 1e-5) = 0.99998 lr, in the direction -sign(g); later steps on this smooth
# scalar problem by about lr again (m-hat / sqrt(v-hat) = 0.9997 on the second). Normalised
# advantages are all 0, so the actor's gradient is exactly 0 and Adam leaves it exactly alone.


def hand_run(algo: str, updates: int, **overrides):
    """Final state and metrics of ``updates`` updates of 5 envs x 1 period on the case above."""
    env = probes.ConstantReward()
    config = ALGOS[algo].make_config(
        hidden=(),
        num_envs=5,  # odd: sampled actions can never split evenly (see normalize_advantage)
        num_steps=1,
        total_steps=5 * updates,
        normalize_obs=False,
        normalize_reward=False,
        max_grad_norm=1e6,  # no clipping
        **overrides,
    )
    learner = ALGOS[algo].make_learner(config, env, env.default_params)
    state, metrics = jax.jit(base.train_fn(learner))(jax.random.PRNGKey(0))
    assert learner.num_updates == updates
    params = jax.tree.map(np.asarray, state.agent.net["params"])
    return params["value"]["bias"][0], params["logits"]["bias"], metrics


@pytest.mark.parametrize("clip_value", [False, True])
def test_ppo_clip_value_by_hand(clip_value):
    """Two epochs over one batch, lr 0.5, clip_eps 0.2, no annealing. Epoch 1: value 0, loss
    0.5 * (0 - 1)^2 = 0.5; Adam moves b to b1 = 0.5 * 0.5 / 0.50001 = 0.49999. Epoch 2,
    unclipped: 0.5 * (1 - b1)^2 = 0.125. Clipped: the value may move only 0.2 from the
    collected 0, and the loss is the larger of the two: 0.5 * max((1 - b1)^2, (1 - 0.2)^2) =
    0.32. The metric is the mean over the epochs: 0.3125 unclipped, 0.41 clipped."""
    _, _, metrics = hand_run(
        "ppo",
        1,
        update_epochs=2,
        num_minibatches=1,
        lr=0.5,
        clip_eps=0.2,
        anneal_lr=False,
        clip_value=clip_value,
    )
    b1 = 0.5 * 0.5 / (0.5 + 1e-5)
    expected = (0.5 + (0.32 if clip_value else 0.5 * (1 - b1) ** 2)) / 2
    np.testing.assert_allclose(float(metrics["value_loss"][0]), expected, rtol=1e-5)
    assert float(metrics["policy_loss"][0]) == 0.0 and float(metrics["clip_frac"][0]) == 0.0


@pytest.mark.parametrize(
    ("overrides", "value_bias"),
    [
        # Two updates at the constant rate 0.01: b = 0.01 * (0.99998 + 0.9997) = 0.02.
        ({"anneal_lr": False}, 0.02),
        # Annealed over the run's 2 gradient steps: rates 0.01 and 0.005, b = 0.015.
        ({"anneal_lr": True}, 0.015),
        ({"anneal_lr": True, "normalize_advantage": False}, 0.015),
    ],
)
def test_a2c_learning_rate_schedule_and_advantage_normalisation_by_hand(overrides, value_bias):
    """Without advantage normalisation every advantage is 1 - b > 0 and the actor follows the
    gradient of -mean(log pi(a)): for the two logits, p - (share of envs that took each), equal
    and opposite and never 0 with 5 envs. So the two logits move by equal and opposite amounts
    of about lr (Adam); with normalisation they stay exactly 0."""
    b, logits, _ = hand_run("a2c", 2, lr=0.01, **overrides)
    np.testing.assert_allclose(b, value_bias, rtol=1e-3)
    if overrides.get("normalize_advantage", True):
        np.testing.assert_array_equal(logits, [0.0, 0.0])
    else:
        assert logits[0] == pytest.approx(-logits[1], rel=1e-6)
        assert 0.005 < abs(logits[0]) < 0.02


def test_a2c_rmsprop_first_step_by_hand():
    """RMSprop (decay 0.99, eps 1e-5 inside the root) scales the first gradient by
    1 / sqrt(0.01 g^2 + 1e-5): b = 0.01 * 0.5 / sqrt(0.0025 + 0.00001) = 0.0998, ten times
    Adam's first step (0.0099998)."""
    b, logits, _ = hand_run("a2c", 1, lr=0.01, optimizer="rmsprop")
    np.testing.assert_allclose(b, 0.01 * 0.5 / np.sqrt(0.0025 + 1e-5), rtol=1e-5)
    np.testing.assert_array_equal(np.abs(logits), [0.0, 0.0])


def test_normalised_observations_and_rewards_value_in_scaled_units():
    """Obs 40 or 60 (mean 50, variance 100), reward -4 or +4 (std 4): with both normalisers on,
    the critic learns V = -1, +1 in scaled units (unscaled it would be -4, +4), from raw
    observations standardised by statistics that have found the mean and variance."""
    env = probes.ScaledObservationReward(loc=50.0, spread=10.0, gain=4.0)
    learner, agent, metrics = train(
        "ppo", env, total_steps=10_000, normalize_obs=True, normalize_reward=True
    )
    np.testing.assert_allclose(values(learner, agent, 40.0, 60.0), [-1.0, 1.0], atol=0.1)
    # 10,000 coin flips: standard error of the mean 10 / sqrt(10,000) = 0.1.
    np.testing.assert_allclose(float(agent.obs_stats.mean[0]), 50.0, atol=0.4)
    np.testing.assert_allclose(float(agent.obs_stats.var[0]), 100.0, rtol=0.03)
    assert abs(float(metrics["episode_return"][-1])) < 4.0  # raw returns, +-4 per episode


def test_gaussian_head_finds_the_best_orders():
    """ActionReward ([3, 4] quantities, reward [a0 == 2] + [a1 == 1]) with the Gaussian head:
    the greedy orders are the best ones, the means now inside the fractions that round to them
    (a0 * 2 >= 1.5, 0.5 <= a1 * 3 < 1.5), and the value is 2."""
    env = probes.ActionReward()
    learner, agent, _ = train("ppo", env, total_steps=40_000, ent_coef=0.0, head="gaussian")
    obs = jnp.zeros((4, 1), jnp.float32)
    action = learner.policy(agent, True)(jax.random.PRNGKey(1), obs, None)
    np.testing.assert_array_equal(np.asarray(action), [[2, 1]] * 4)
    sampled = learner.policy(agent, False)(jax.random.PRNGKey(2), jnp.zeros((256, 1)), None)
    assert all(env.action_space().contains(a) for a in sampled[:16])
    assert float(jnp.mean(jnp.all(sampled == jnp.asarray([2, 1.0]), axis=-1))) > 0.8
    np.testing.assert_allclose(values(learner, agent, 0.0), [2.0], atol=0.15)
