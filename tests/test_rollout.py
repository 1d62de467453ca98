"""Advantage estimation, explained variance and the running normaliser, against hand-worked
cases and numpy (the learners' probes only exercise them end to end)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxinv.agents import actor_critic, rollout
from jaxinv.agents import normalize as norm


def trajectory(reward, value, done, bootstrap) -> rollout.Transition:
    """A ``(T, N)`` trajectory with only what ``gae`` reads filled in."""
    reward = jnp.asarray(reward, jnp.float32)
    zeros = jnp.zeros_like(reward)
    return rollout.Transition(
        obs=zeros[..., None],
        raw_action=zeros[..., None],
        log_prob=zeros,
        value=jnp.asarray(value, jnp.float32),
        reward=reward,
        done=jnp.asarray(done, bool),
        bootstrap=jnp.asarray(bootstrap, jnp.float32),
    )


def test_gae_by_hand_with_termination_truncation_and_bootstrap() -> None:
    """Env 0, four periods, gamma = 0.9, lambda = 0.5:

    t  reward value  end                         bootstrap
    0  1      2      -
    1  0      1      terminated (a real end)     0
    2  2      3      truncated (a time limit)    5 = V(final observation)
    3  1      4      - (the rollout is cut here; last_value = 10)

    Backwards, delta_t = r_t + gamma * (value after t) - V_t, A_t = delta_t + gamma * lambda
    * A_{t+1} within an episode:
      t=3: delta = 1 + 0.9 * 10 - 4 = 6, A = 6 (the cut bootstraps from last_value only)
      t=2: delta = 2 + 0.9 * 5 - 3 = 3.5, A = 3.5 (the next period is a new episode)
      t=1: delta = 0 + 0 - 1 = -1, A = -1 (nothing after a termination)
      t=0: delta = 1 + 0.9 * 1 - 2 = -0.1, A = -0.1 + 0.45 * (-1) = -0.55
    Returns (value targets) = A + V: 1.45, 0, 6.5, 10.
    Env 1 never ends, reward 1 and value 0 throughout, last_value 0: delta = 1 each period and
    A_3 = 1, A_2 = 1 + 0.45 = 1.45, A_1 = 1 + 0.45 * 1.45 = 1.6525, A_0 = 1 + 0.45 * 1.6525
    = 1.743625.
    """
    traj = trajectory(
        reward=[[1, 1], [0, 1], [2, 1], [1, 1]],
        value=[[2, 0], [1, 0], [3, 0], [4, 0]],
        done=[[False, False], [True, False], [True, False], [False, False]],
        bootstrap=[[0, 0], [0, 0], [5, 0], [0, 0]],
    )
    advantages, targets = rollout.gae(traj, jnp.asarray([10.0, 0.0]), 0.9, 0.5)
    np.testing.assert_allclose(
        np.asarray(advantages),
        [[-0.55, 1.743625], [-1.0, 1.6525], [3.5, 1.45], [6.0, 1.0]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(np.asarray(targets)[:, 0], [1.45, 0.0, 6.5, 10.0], rtol=1e-6)

    # lambda = 1: targets are the discounted rewards to each episode's end, plus gamma^k times
    # the bootstrap where it was cut: 1 + 0.9 * 0 = 1 (terminated), 0, 2 + 0.9 * 5 = 6.5,
    # 1 + 0.9 * 10 = 10; env 1: 1 + 0.9 + 0.81 + 0.729 = 3.439, 2.71, 1.9, 1.
    _, targets = rollout.gae(traj, jnp.asarray([10.0, 0.0]), 0.9, 1.0)
    np.testing.assert_allclose(
        np.asarray(targets), [[1.0, 3.439], [0.0, 2.71], [6.5, 1.9], [10.0, 1.0]], rtol=1e-6
    )


def test_explained_variance_by_hand() -> None:
    ev = actor_critic.explained_variance
    targets = jnp.asarray([1.0, 2.0, 3.0, 4.0])  # variance 1.25
    assert float(ev(targets, targets)) == 1.0  # perfect values
    assert float(ev(jnp.full(4, 2.5), targets)) == 0.0  # the mean explains nothing
    # Errors +-1 (variance 1): 1 - 1 / 1.25 = 0.2.
    np.testing.assert_allclose(float(ev(targets + jnp.asarray([1, -1, 1, -1]), targets)), 0.2)
    # Values anti-correlated: errors 2 * (t - 2.5), variance 5: 1 - 5 / 1.25 = -3.
    np.testing.assert_allclose(float(ev(5.0 - targets, targets)), -3.0, rtol=1e-6)
    assert float(ev(targets, jnp.full(4, 7.0))) == 0.0  # constant targets: 0, not NaN


def test_running_stats_merge_equals_the_concatenation() -> None:
    """Batches of different sizes merged one by one (Chan et al.) give the mean and variance
    of all of them together, computed by numpy in float64; shelf-stock-like data (mean
    about 300, spread 7) checks the merge does not lose the variance to cancellation."""
    rng = np.random.default_rng(0)
    batches = [300 + 7 * rng.standard_normal((n, 3)) * [1, 2, 0.5] for n in (5, 1, 40, 13, 200)]
    batches[1] = batches[1] + 50  # a batch far from the rest
    first = batches[0]
    stats = norm.RunningStats(
        jnp.asarray(first.mean(0), jnp.float32),
        jnp.asarray(first.var(0), jnp.float32),
        jnp.asarray(len(first), jnp.float32),
    )
    for batch in batches[1:]:
        stats = norm.update(stats, jnp.asarray(batch, jnp.float32))
    everything = np.concatenate(batches)
    assert float(stats.count) == len(everything)
    np.testing.assert_allclose(np.asarray(stats.mean), everything.mean(0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(stats.var), everything.var(0), rtol=1e-4)

    # From the empty stats, a prior of weight w = 1e-4 at mean 0 with variance 1, and with
    # batches shaped (T, N, D) as rollouts give them: the mixture of that prior and the data,
    # mean = sum(x) / (n + w), var = (w * (1 + mean^2) + sum((x - mean)^2)) / (n + w).
    stats = norm.RunningStats.create((3,))
    for batch in batches:
        stats = norm.update(stats, jnp.asarray(batch.reshape(-1, 1, 3), jnp.float32))
    w, n = 1e-4, len(everything)
    mean = everything.sum(0) / (n + w)
    var = (w * (1 + mean**2) + ((everything - mean) ** 2).sum(0)) / (n + w)
    assert not np.allclose(var, everything.var(0), rtol=1e-3)  # the prior is visible here
    np.testing.assert_allclose(np.asarray(stats.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(stats.var), var, rtol=1e-4)

    # Scalar stats (the reward scale's discounted returns).
    returns = rng.exponential(40.0, (4, 64))
    stats = norm.RunningStats(jnp.asarray(0.0), jnp.asarray(0.0), jnp.asarray(0.0))
    for row in returns:
        stats = norm.update(stats, jnp.asarray(row, jnp.float32))
    np.testing.assert_allclose(float(stats.mean), returns.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(stats.var), returns.var(), rtol=1e-4)


def test_standardise_clips_and_scale_divides_by_the_std() -> None:
    stats = norm.RunningStats(jnp.asarray([1.0, 2.0]), jnp.asarray([4.0, 0.01]), jnp.asarray(9.0))
    x = jnp.asarray([[5.0, 2.5], [101.0, 2.0], [-1.0, -3.0]])
    # (5 - 1) / 2 = 2, (2.5 - 2) / 0.1 = 5; (101 - 1) / 2 = 50 -> clipped to 10; -1, -50 -> -10.
    np.testing.assert_allclose(
        np.asarray(norm.standardise(stats, x)), [[2, 5], [10, 0], [-1, -10]], rtol=1e-5
    )
    reward_stats = norm.RunningStats(jnp.asarray(3.0), jnp.asarray(4.0), jnp.asarray(9.0))
    # Divided by the std (2), not centred on the mean (3).
    np.testing.assert_allclose(float(norm.scale(reward_stats, jnp.asarray(6.0))), 3.0, rtol=1e-6)
