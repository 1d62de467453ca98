"""Policy evaluation: confidence intervals, common random numbers, batched params."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.wrappers.purerl import LogWrapper
from scipy import stats

import jaxinv
from jaxinv import evaluate
from jaxinv.envs.serial import stack_params
from jaxinv.policies.constant import constant_order, uniform_random

# One stage, stock that never runs out, no costs, no discount: the return is the units sold,
# p * sum of T Poisson(mu) demands ~ Poisson(T * mu).
SALES_ONLY = {
    "periods": 5,
    "I0": [10_000],
    "p": 1.0,
    "r": [0.0, 0.0],
    "k": [0.0, 0.0],
    "h": [0.0],
    "c": [10],
    "L": [1],
    "alpha": 1.0,
    "dist_param": {"mu": 4},
}


def test_ci_on_a_known_return_distribution() -> None:
    env, params = jaxinv.make("InvManagement-v1", **SALES_ONLY)
    n = 4000
    result = evaluate.evaluate(env, constant_order([0.0]), params, jax.random.key(0), n)
    mean, sigma = 20.0, np.sqrt(20.0)
    assert result.episodes == n and result.returns.dtype == np.float64
    np.testing.assert_array_equal(result.returns, np.round(result.returns))  # whole units
    lo, hi = result.ci95
    assert lo < mean < hi
    assert (hi - lo) / 2 == pytest.approx(1.96 * sigma / np.sqrt(n), rel=0.05)
    assert result.std == pytest.approx(sigma, rel=0.05)
    assert result.as_dict() == {
        "episodes": n,
        "mean": result.mean,
        "std": result.std,
        "ci95": [lo, hi],
    }


def test_summarize_uses_the_t_interval_and_covers_95_percent() -> None:
    rng = np.random.default_rng(0)
    sample = rng.normal(3.0, 2.0, 12)
    result = evaluate.summarize(sample)
    expected = stats.t.interval(0.95, 11, loc=sample.mean(), scale=stats.sem(sample))
    np.testing.assert_allclose(result.ci95, expected, rtol=1e-12)
    assert result.std == pytest.approx(sample.std(ddof=1))
    # Coverage over 4000 normal samples of 10: 95% within three binomial standard errors.
    samples = rng.normal(3.0, 2.0, (4000, 10))
    covered = [lo < 3.0 < hi for lo, hi in (evaluate.summarize(s).ci95 for s in samples)]
    assert abs(np.mean(covered) - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 4000)
    assert np.isnan(evaluate.summarize([1.0]).std)


def test_same_key_same_numbers_and_paired_difference_with_itself() -> None:
    env, params = jaxinv.make("InvManagement-v0", periods=6)
    policy = uniform_random(params.c)
    a = evaluate.evaluate(env, policy, params, jax.random.key(5), 50)
    b = evaluate.evaluate(env, policy, params, jax.random.key(5), 50)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert (a.mean, a.std, a.ci95) == (b.mean, b.std, b.ci95)
    diff = evaluate.paired_difference(a, b)
    assert (diff.mean, diff.std, diff.ci95, diff.episodes) == (0.0, 0.0, (0.0, 0.0), 50)
    other = evaluate.evaluate(env, policy, params, jax.random.key(6), 50)
    assert not np.array_equal(a.returns, other.returns)
    with pytest.raises(ValueError, match="different random numbers"):
        evaluate.paired_difference(a, other)


def test_two_policies_see_the_same_demand_paths() -> None:
    """Common random numbers: the demand paths do not depend on the policy or its randomness."""
    env, params = jaxinv.make("InvManagement-v1", periods=7)
    key = jax.random.key(11)
    demands, results = [], []
    for policy in (constant_order([20.0, 20.0, 20.0]), uniform_random(params.c)):
        returns, trajectory = evaluate.episode_trajectories(
            env, policy, params, key, 64, env.periods
        )
        demands.append(np.asarray(trajectory["info"]["demand"]))
        results.append(evaluate.summarize(returns, crn="key 11"))
    np.testing.assert_array_equal(demands[0], demands[1])
    assert demands[0].shape == (7, 64) and np.unique(demands[0]).size > 10
    assert not np.array_equal(results[0].returns, results[1].returns)
    diff = evaluate.paired_difference(*results)
    assert diff.mean == pytest.approx(results[0].mean - results[1].mean, rel=1e-9)
    assert diff.std < np.hypot(results[0].std, results[1].std)  # pairing removes demand noise


def test_batched_params_one_demand_trace_per_episode() -> None:
    traces = [[5, 30, 0, 18, 22], [20, 20, 20, 20, 20], [0, 0, 60, 0, 0]]
    chains = [jaxinv.make("InvManagement-v0", periods=5, dist=5, user_D=d) for d in traces]
    env, params = chains[0][0], stack_params([p for _, p in chains])
    policy = constant_order([15.0, 12.0, 30.0])
    result = evaluate.evaluate(env, policy, params, jax.random.key(0), batched_params=True)
    assert result.episodes == 3
    for i, (single_env, single_params) in enumerate(chains):
        _, state = single_env.reset(jax.random.key(0), single_params)
        total = 0.0
        for _ in range(5):
            action = jnp.array([15.0, 12.0, 30.0])
            _, state, reward, *_ = single_env.step(jax.random.key(0), state, action, single_params)
            total += float(reward)
        assert result.returns[i] == pytest.approx(total, rel=1e-5)
    with pytest.raises(ValueError, match="batched params hold 3"):
        evaluate.evaluate(env, policy, params, jax.random.key(0), 4, batched_params=True)


def test_evaluate_many_equals_evaluate_per_candidate() -> None:
    env, params = jaxinv.make("InvManagement-v1", periods=6)
    key = jax.random.key(2)
    quantities = jnp.array([[10.0, 10.0, 10.0], [20.0, 25.0, 30.0], [0.0, 40.0, 5.0]])
    many = evaluate.evaluate_many(env, constant_order, quantities, params, key, 40, batch_size=2)
    assert len(many) == 3 and many[0].mean != many[1].mean
    single = evaluate.evaluate(env, constant_order(quantities[2]), params, key, 40)
    np.testing.assert_allclose(many[2].returns, single.returns, rtol=1e-6)
    assert many[2].crn == single.crn


def test_episodes_stop_counting_at_their_end() -> None:
    """Run past the horizon: the auto-reset episode's rewards are not added."""
    env, params = jaxinv.make("InvManagement-v1", periods=4)
    policy = constant_order([20.0, 20.0, 20.0])
    key = jax.random.key(1)
    exact = evaluate.evaluate(env, policy, params, key, 16)
    longer = evaluate.evaluate(env, policy, params, key, 16, num_steps=9)
    np.testing.assert_array_equal(exact.returns, longer.returns)


def test_discount_weights_each_period() -> None:
    env, params = jaxinv.make("InvManagement-v1", **SALES_ONLY)
    policy = constant_order([0.0])
    key = jax.random.key(4)
    returns, trajectory = evaluate.episode_trajectories(
        env, policy, params, key, 8, env.periods, discount=0.5
    )
    weights = 0.5 ** np.arange(env.periods)[:, None]
    expected = (weights * np.asarray(trajectory["reward"])).sum(axis=0)
    np.testing.assert_allclose(np.asarray(returns), expected, rtol=1e-6)


def test_num_steps_default_comes_from_the_env() -> None:
    env, _ = jaxinv.make("InvManagement-v1", periods=12)
    assert evaluate.default_num_steps(env) == 12

    assert evaluate.default_num_steps(LogWrapper(LogWrapper(env))) == 12  # wrappers unwrapped

    class NoHorizon:
        pass

    with pytest.raises(ValueError, match="pass num_steps"):
        evaluate.default_num_steps(NoHorizon())


def test_crn_names_the_env_config_and_params() -> None:
    """Equal configs give equal ``crn``; another demand parameter, other paths, another ``crn``
    (``paired_difference`` then refuses to pair); an observation-only setting keeps it."""
    policy, key = constant_order([3.0]), jax.random.key(2)
    env, params = jaxinv.make("InvManagement-v1", **SALES_ONLY)
    twin, twin_params = jaxinv.make("InvManagement-v1", **SALES_ONLY)
    other, other_params = jaxinv.make("InvManagement-v1", **{**SALES_ONLY, "dist_param": {"mu": 5}})
    full, full_params = jaxinv.make("InvManagement-v1", **{**SALES_ONLY, "observation": "full"})
    a = evaluate.evaluate(env, policy, params, key, 8)
    assert evaluate.evaluate(twin, policy, twin_params, key, 8).crn == a.crn
    assert evaluate.evaluate(full, policy, full_params, key, 8).crn == a.crn
    b = evaluate.evaluate(other, policy, other_params, key, 8)
    assert b.crn != a.crn and "episodes=8 periods=5" in b.crn
    with pytest.raises(ValueError, match="different random numbers"):
        evaluate.paired_difference(a, b)
    # The params used count, not the env's defaults.
    assert evaluate.evaluate(env, policy, other_params, key, 8).crn == b.crn
