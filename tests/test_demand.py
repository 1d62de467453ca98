"""Demand tables: exact inverse-CDF sampling of OR-Gym's (scipy's) demand distributions.

A table stores ``thresholds[j] = round(P(X <= low + j) * 2**31)``, so the probability it gives
value ``low + j`` is ``(thresholds[j] - thresholds[j - 1]) / 2**31`` (the last value takes the
rest, including the < 1e-12 tail that is cut off). Each probability is therefore within 2**-31
of scipy's (two roundings of at most 2**-32 each).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinv
from jaxinv.envs import demand

ONE = 1 << demand.RESOLUTION_BITS  # 2**31

DISTS = [
    pytest.param(1, {"mu": 20}, id="poisson20"),
    pytest.param(1, {"mu": 3.5}, id="poisson3.5"),
    pytest.param(2, {"n": 10, "p": 0.3}, id="binom10-0.3"),
    pytest.param(3, {"low": 5, "high": 15, "loc": 2}, id="randint5-15-loc2"),
    pytest.param(4, {"p": 0.2}, id="geom0.2"),
]


def implied_pmf(table: demand.DemandTable) -> np.ndarray:
    """The probability the table gives each of its values (the last one takes the rest)."""
    th = np.asarray(table.thresholds, np.float64)
    return np.diff(np.concatenate([[0.0], th, [float(ONE)]])) / ONE


@pytest.mark.parametrize(("dist", "dist_param"), DISTS)
def test_table_pmf_matches_scipy(dist: int, dist_param: dict) -> None:
    frozen = demand.scipy_distribution(dist, dist_param)
    low, pmf = demand.table_pmf(dist, dist_param)
    table = demand.build_table(dist, dist_param)
    values = low + np.arange(pmf.size)

    assert low == float(table.low) == frozen.support()[0]
    assert table.thresholds.dtype == jnp.uint32
    assert table.thresholds.shape == (pmf.size - 1,)
    th = np.asarray(table.thresholds, np.int64)
    assert (np.diff(th) >= 0).all() and th.min() >= 0 and th.max() <= ONE

    np.testing.assert_allclose(pmf, frozen.pmf(values), rtol=1e-12, atol=0)
    # Each threshold is the CDF rounded to the nearest multiple of 2**-31.
    assert np.abs(th / ONE - frozen.cdf(values[:-1])).max() <= 2.0**-32 + 1e-15
    implied = implied_pmf(table)
    assert np.abs(implied - frozen.pmf(values)).max() <= 2.0**-31 + 1e-12
    # What lies beyond the table is below the documented tail cut; for unbounded supports the
    # cut is tight (two values earlier the tail still holds more).
    assert frozen.sf(values[-1]) < demand.TAIL_MASS
    if np.isinf(frozen.support()[1]):
        assert frozen.sf(values[-1] - 2) >= demand.TAIL_MASS
    else:
        assert values[-1] == frozen.support()[1]


@pytest.mark.parametrize(("dist", "dist_param"), DISTS)
def test_draw_is_the_inverse_cdf(dist: int, dist_param: dict) -> None:
    """Bits b give low + #{j : b >= thresholds[j]}: value low + j for exactly the
    thresholds[j] - thresholds[j - 1] bit patterns in [thresholds[j - 1], thresholds[j])."""
    table = demand.build_table(dist, dist_param)
    th = np.asarray(table.thresholds, np.int64)
    low = float(table.low)
    j = np.arange(th.size)
    reachable = th < ONE
    at = np.asarray(demand.draw_from_bits(jnp.asarray(th[reachable], jnp.uint32), table))
    # At thresholds[j] the draw is past value low + j (at least low + j + 1)...
    assert (at >= low + j[reachable] + 1).all()
    positive = th > 0
    below = np.asarray(demand.draw_from_bits(jnp.asarray(th[positive] - 1, jnp.uint32), table))
    # ... and one bit pattern below it, it is at most low + j.
    assert (below <= low + j[positive]).all()
    ends = np.asarray(demand.draw_from_bits(jnp.asarray([0, ONE - 1], jnp.uint32), table))
    assert ends[0] == low + (th == 0).sum()
    assert ends[1] == low + (th <= ONE - 1).sum()


def chi_square_pvalue(samples: np.ndarray, dist: int, dist_param: dict) -> float:
    """Pearson's goodness of fit of integer ``samples`` to scipy's pmf.

    Bins are the reference table's values (samples outside are clipped into the end bins, so
    the end bins hold the tails), pooled left to right until each expects at least 5.
    """
    low, _ = demand.table_pmf(dist, dist_param)
    frozen = demand.scipy_distribution(dist, dist_param)
    table_size = demand.build_table(dist, dist_param).thresholds.shape[0] + 1
    values = low + np.arange(table_size)
    prob = frozen.pmf(values)
    prob[0] = frozen.cdf(values[0])
    prob[-1] = frozen.sf(values[-2])
    idx = np.clip(samples.astype(np.int64) - low, 0, table_size - 1)
    counts = np.bincount(idx, minlength=table_size)
    expected = prob * samples.size

    obs_bins, exp_bins, obs_acc, exp_acc = [], [], 0.0, 0.0
    for o, e in zip(counts, expected, strict=True):
        obs_acc, exp_acc = obs_acc + o, exp_acc + e
        if exp_acc >= 5:
            obs_bins.append(obs_acc)
            exp_bins.append(exp_acc)
            obs_acc = exp_acc = 0.0
    obs_bins[-1] += obs_acc
    exp_bins[-1] += exp_acc
    exp_bins = np.asarray(exp_bins) * samples.size / np.sum(exp_bins)
    assert len(obs_bins) >= 3
    return float(stats.chisquare(obs_bins, exp_bins).pvalue)


N_SAMPLES = 200_000


@jax.jit
def draw_with_keys(key: jax.Array, table: demand.DemandTable) -> jax.Array:
    """N_SAMPLES draws through sample_table (one key each, as env.step_env does)."""
    keys = jax.random.split(key, N_SAMPLES)
    return jax.vmap(demand.sample_table, (0, None))(keys, table)


@jax.jit
def draw_with_bits(key: jax.Array, table: demand.DemandTable) -> jax.Array:
    """N_SAMPLES draws from one block of bits (as env.step_many does)."""
    bits = jax.random.bits(key, (N_SAMPLES,), jnp.uint32) >> (32 - demand.RESOLUTION_BITS)
    return demand.draw_from_bits(bits, table)


# With a correct sampler the p-value is uniform, so each of these 10 checks (fixed keys, hence
# deterministic) has a 1e-4 chance of a false alarm: 1e-3 for the set.
@pytest.mark.parametrize("draw", [draw_with_keys, draw_with_bits], ids=["keys", "bits"])
@pytest.mark.parametrize(("dist", "dist_param"), DISTS)
def test_samples_fit_scipy(dist: int, dist_param: dict, draw) -> None:
    table = demand.build_table(dist, dist_param)
    samples = np.asarray(draw(jax.random.key(dist), table))
    assert samples.shape == (N_SAMPLES,)
    assert (samples == np.round(samples)).all()
    assert chi_square_pvalue(samples, dist, dist_param) > 1e-4


@pytest.mark.parametrize("draw", [draw_with_keys, draw_with_bits], ids=["keys", "bits"])
def test_chi_square_rejects_a_slightly_wrong_distribution(draw) -> None:
    """Negative control: Poisson(20.3) samples fail the test for Poisson(20) (the expected
    chi-square is ~ N * 0.3**2 / 20 = 900 over ~40 bins: a p-value far below 1e-10)."""
    wrong = demand.build_table(1, {"mu": 20.3})
    samples = np.asarray(draw(jax.random.key(1), wrong))
    assert chi_square_pvalue(samples, 1, {"mu": 20}) < 1e-10
    assert chi_square_pvalue(samples, 1, {"mu": 20.3}) > 1e-4


def test_pad_table_keeps_the_distribution() -> None:
    table = demand.build_table(1, {"mu": 20})
    size = table.thresholds.shape[0]
    padded = demand.pad_table(table, size + 37)
    assert padded.thresholds.shape == (size + 37,)
    np.testing.assert_array_equal(padded.thresholds[size:], ONE)
    np.testing.assert_array_equal(padded.thresholds[:size], table.thresholds)
    bits = jax.random.bits(jax.random.key(0), (10_000,), jnp.uint32) >> 1
    edges = jnp.asarray([0, 1, ONE - 2, ONE - 1], jnp.uint32)
    # Draws take 31 bits (values below 2**31): the thresholds themselves and one below them.
    th = table.thresholds[table.thresholds < jnp.uint32(ONE)]
    bits = jnp.concatenate([bits, edges, th, th - 1])
    np.testing.assert_array_equal(
        demand.draw_from_bits(bits, padded), demand.draw_from_bits(bits, table)
    )
    assert demand.pad_table(table, size).thresholds.shape == (size,)
    with pytest.raises(ValueError, match="cannot pad"):
        demand.pad_table(table, size - 1)


CHAIN = {"I0": [10], "r": [1.0, 0.5], "k": [0.1, 0.1], "h": [0.1], "c": [5], "L": [1]}


@pytest.mark.parametrize(
    ("dist_param", "mean"),
    [({"mu": 7.5}, 7.5), ({"mu": 7.5, "loc": 3}, 10.5)],
    ids=["poisson", "poisson-loc"],
)
def test_env_demand_has_the_poisson_mean_and_variance(dist_param: dict, mean: float) -> None:
    """Demand seen by env.step_env (one key per chain) and env.step_many (one key per batch)."""
    env, params = jaxinv.make("InvManagement-v1", dist=1, dist_param=dist_param, **CHAIN)
    n, mu = 50_000, dist_param["mu"]
    keys = jax.random.split(jax.random.key(0), n)
    _, states = jax.vmap(env.reset, (0, None))(keys, params)
    actions = jnp.zeros((n, 1))

    @jax.jit
    def demands(keys, states, actions):
        one = jax.vmap(env.step_env, (0, 0, 0, None))(keys, states, actions, params)[4]
        many = env.step_many(keys[0], states, actions, params)[5]
        return one["demand"], many["demand"]

    for d in map(np.asarray, demands(keys, states, actions)):
        # Poisson: variance mu; the sample variance has variance ~ (mu + 2 mu**2) / n.
        assert abs(d.mean() - mean) < 5 * np.sqrt(mu / n)
        assert abs(d.var() - mu) < 5 * np.sqrt((mu + 2 * mu**2) / n)
        assert d.min() >= dist_param.get("loc", 0)  # loc shifts the support


@pytest.mark.parametrize(
    ("dist", "dist_param"),
    [pytest.param(1, {"mu": 1000}, id="poisson1000"), pytest.param(4, {"p": 0.2}, id="geom0.2")],
)
def test_long_tables_bisect_to_the_same_draws(dist: int, dist_param: dict) -> None:
    """Tables longer than LINEAR_SEARCH_MAX are searched by bisection: same value per bits."""
    table = demand.build_table(dist, dist_param)
    assert table.thresholds.shape[0] > demand.LINEAR_SEARCH_MAX
    bits = jax.random.bits(jax.random.key(7), (50_000,), jnp.uint32) >> 1
    bits = jnp.concatenate([bits, jnp.asarray([0, 1, ONE - 2, ONE - 1], jnp.uint32)])  # edges
    bisected = np.asarray(demand.draw_from_bits(bits, table))
    counted = float(table.low) + (np.asarray(bits)[:, None] >= np.asarray(table.thresholds)).sum(1)
    np.testing.assert_array_equal(bisected, counted)


def test_lower_tail_is_cut_only_below_the_tail_mass() -> None:
    """Poisson(1000) starts its table far above 0, leaving out less than 1e-12 below."""
    frozen = demand.scipy_distribution(1, {"mu": 1000})
    low, _ = demand.table_pmf(1, {"mu": 1000})
    assert low > 0
    assert frozen.cdf(low - 1) < demand.TAIL_MASS <= frozen.cdf(low)


@pytest.mark.parametrize(("dist", "dist_param"), DISTS)
def test_table_mean_is_the_distribution_mean(dist: int, dist_param: dict) -> None:
    expected = demand.scipy_distribution(dist, dist_param).mean()
    assert demand.table_mean(demand.build_table(dist, dist_param)) == pytest.approx(expected, 1e-6)
