"""PPO and A2C on probe environments (known values and best actions), and their contracts:
config checking, same seed same numbers, vmap over seeds and over traced hyperparameters."""

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


@pytest.mark.parametrize("algo", ALGOS)
def test_same_seed_same_numbers_and_vmap_over_seeds(algo):
    module = ALGOS[algo]
    env = probes.ObservationReward()
    config = module.make_config(**PROBE_CONFIG[algo], total_steps=3_200)
    train_fn = base.train_fn(module.make_learner(config, env, env.default_params))
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    batched_state, _batched_metrics = jax.jit(jax.vmap(train_fn))(keys)
    one_state, _one_metrics = jax.jit(train_fn)(keys[1])
    again_state, _ = jax.jit(train_fn)(keys[1])
    leaves = jax.tree.leaves(one_state.agent.net)
    for a, b in zip(leaves, jax.tree.leaves(again_state.agent.net), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(leaves, jax.tree.leaves(batched_state.agent.net), strict=True):
        np.testing.assert_allclose(np.asarray(b)[1], np.asarray(a), rtol=1e-4, atol=1e-5)
    # Different seeds give different networks.
    first = jax.tree.leaves(batched_state.agent.net)[0]
    assert not np.allclose(np.asarray(first)[0], np.asarray(first)[2])


@pytest.mark.parametrize("algo", ALGOS)
def test_vmap_over_traced_learning_rate(algo):
    """A sweep over learning rates is one vmapped call; lr = 0 leaves the network untouched."""
    module = ALGOS[algo]
    env = probes.ConstantReward()
    config = module.make_config(**PROBE_CONFIG[algo], total_steps=3_200)
    configs = jax.tree.map(lambda x: jnp.stack([jnp.asarray(x)] * 2), config)
    configs = configs.replace(lr=jnp.asarray([0.0, 3e-3]))

    def run(cfg, key):
        return base.train_fn(module.make_learner(cfg, env, env.default_params))(key)

    state, _ = jax.jit(jax.vmap(run, (0, None)))(configs, jax.random.PRNGKey(0))
    init = module.make_learner(config, env, env.default_params).init(jax.random.PRNGKey(0))
    kernel0 = np.asarray(jax.tree.leaves(init.agent.net)[0])
    trained = np.asarray(jax.tree.leaves(state.agent.net)[0])
    np.testing.assert_array_equal(trained[0], kernel0)
    assert not np.allclose(trained[1], kernel0)


@pytest.mark.parametrize(
    ("algo", "overrides", "message"),
    [
        ("ppo", {"lr": -1.0}, "'lr'=-1.0 must be in [0.0, 1.0]"),
        ("ppo", {"learning_rate": 1e-3}, "unknown config key 'learning_rate'"),
        ("ppo", {"num_envs": 2.5}, "'num_envs'=2.5 should be like"),
        ("ppo", {"head": "beta"}, "'head'='beta' is not allowed"),
        ("ppo", {"num_envs": 3, "num_steps": 3, "num_minibatches": 2}, "divisible"),
        ("a2c", {"gamma": 1.5}, "'gamma'=1.5 must be in [0.0, 1.0]"),
        ("a2c", {"optimizer": "sgd"}, "'optimizer'='sgd' is not allowed"),
        ("a2c", {"ent_coeff": 0.1}, "Did you mean 'ent_coef'?"),
    ],
)
def test_bad_config_is_named(algo, overrides, message):
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
