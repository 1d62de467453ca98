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
