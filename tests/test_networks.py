"""The Gaussian order head (one normal per stage over the order as a fraction of the largest
order, rounded to whole units), against scipy's normal and hand-worked roundings.

The categorical head's sampler is checked in test_agents.py; learning with the Gaussian head on
a probe is there too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxinv.agents import networks

SPEC = networks.ActionSpec((5, 11))  # quantities 0..4 and 0..10: top fractions 4 and 10
MEAN = np.asarray([0.3, 0.72])
STD = np.asarray([0.2, 0.05])


def head_out(mean, std, batch: int = 1) -> jax.Array:
    """``(batch, 2, M)``: mean and log-std stacked, as ``ActorCritic`` returns them."""
    out = jnp.stack([jnp.asarray(mean, jnp.float32), jnp.log(jnp.asarray(std, jnp.float32))])
    return jnp.broadcast_to(out, (batch, 2, len(mean)))


def test_sample_log_prob_and_entropy_are_scipys_normal() -> None:
    n = 100_000
    raw, log_prob = networks.sample("gaussian", head_out(MEAN, STD, n), jax.random.PRNGKey(0))
    raw = np.asarray(raw, np.float64)
    assert raw.shape == (n, 2)
    # The samples are N(mean, std) per stage: moments within 4 standard errors, and the
    # joint log-probability returned with them is the sum of scipy's log-densities.
    assert np.all(np.abs(raw.mean(0) - MEAN) < 4 * STD / np.sqrt(n)), raw.mean(0)
    np.testing.assert_allclose(raw.std(0), STD, rtol=4 / np.sqrt(2 * n))
    reference = stats.norm(MEAN, STD).logpdf(raw).sum(-1)
    np.testing.assert_allclose(np.asarray(log_prob), reference, rtol=1e-5, atol=1e-5)
    # log_prob_entropy at given raw actions, far out in the tails too.
    points = jnp.asarray([[0.3, 0.72], [-1.0, 2.0], [0.5, 0.7]], jnp.float32)
    lp, entropy = networks.log_prob_entropy("gaussian", head_out(MEAN, STD, 3), points)
    np.testing.assert_allclose(
        np.asarray(lp), stats.norm(MEAN, STD).logpdf(np.asarray(points)).sum(-1), rtol=1e-5
    )
    np.testing.assert_allclose(np.asarray(entropy), stats.norm(MEAN, STD).entropy().sum())


def test_greedy_is_the_mean_rounded_to_whole_units() -> None:
    """Fractions of the largest order (4 and 10 units), rounded, then clipped to the range:
    0.3 * 4 = 1.2 -> 1 and 0.72 * 10 = 7.2 -> 7; 0.9 * 4 = 3.6 -> 4 and 0.06 * 10 = 0.6 -> 1;
    below 0 -> 0, above 1 -> the largest order, NaN -> 0."""
    means = [[0.3, 0.72], [0.9, 0.06], [-0.4, 1.7], [np.nan, 1.0]]
    out = jnp.stack([head_out(m, STD)[0] for m in means])
    raw = networks.greedy("gaussian", out)
    np.testing.assert_array_equal(np.asarray(raw)[:3], np.asarray(means, np.float32)[:3])
    quantity = networks.to_quantity("gaussian", SPEC, raw)
    assert quantity.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(quantity), [[1, 7], [4, 1], [0, 10], [0, 10]])


def test_sampled_orders_are_whole_units_with_the_normals_interval_masses() -> None:
    """Order q of a stage with top T is drawn when the fraction falls in
    [(q - 1/2) / T, (q + 1/2) / T), the ends taking the tails: those masses of scipy's normal
    are the order frequencies, and every order lies in the action space."""
    n = 200_000
    wide = np.asarray([0.35, 0.2])  # wide enough that both ends are hit
    raw, _ = networks.sample("gaussian", head_out(MEAN, wide, n), jax.random.PRNGKey(1))
    quantity = np.asarray(networks.to_quantity("gaussian", SPEC, raw))
    assert quantity.dtype == np.int32
    for stage, size in enumerate(SPEC.nvec):
        top = size - 1
        assert quantity[:, stage].min() == 0 and quantity[:, stage].max() == top
        edges = (np.arange(size + 1) - 0.5) / top
        edges[0], edges[-1] = -np.inf, np.inf
        p = np.diff(stats.norm(MEAN[stage], wide[stage]).cdf(edges))
        freq = np.bincount(quantity[:, stage], minlength=size) / n
        np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(p * (1 - p) / n).max() + 1e-4)


def test_actor_critic_gaussian_head_layout() -> None:
    """``(..., 2, M)``: the means start near half the largest order (a small-init layer plus
    0.5) and the log-std at log 0.2, the same for every observation."""
    net = networks.ActorCritic(SPEC, hidden=(8,), head="gaussian")
    obs = jax.random.normal(jax.random.PRNGKey(2), (6, 3))
    params = net.init(jax.random.PRNGKey(3), obs)
    out, value = net.apply(params, obs)
    assert out.shape == (6, 2, 2) and value.shape == (6,)
    np.testing.assert_allclose(np.asarray(out[:, 0]), 0.5, atol=0.05)
    np.testing.assert_allclose(np.asarray(out[:, 1]), np.log(0.2), rtol=1e-6)
