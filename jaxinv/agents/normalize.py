"""Running observation and reward normalisation, as pure functions over a small dataclass.

Inventory observations are stock levels in the hundreds of units and rewards are profits of tens
per period, far from the unit scale networks like. ``RunningStats`` keeps a running mean and
variance (merged batch by batch with Chan's parallel formula); observations are standardised
and clipped, rewards divided by the running standard deviation of the discounted return.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

CLIP = 10.0  # standardised observations are clipped to [-CLIP, CLIP]
EPS = 1e-8


@struct.dataclass
class RunningStats:
    """Mean and variance of everything seen so far, per feature ``(D,)`` (or ``()``)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array  # () float32 number of samples merged

    @classmethod
    def create(cls, shape: tuple[int, ...] = ()) -> RunningStats:
        return cls(jnp.zeros(shape), jnp.ones(shape), jnp.asarray(1e-4, jnp.float32))


def update(stats: RunningStats, batch: jax.Array) -> RunningStats:
    """Merge a batch ``(..., *shape)`` into ``stats`` (Chan et al.'s parallel update)."""
    batch = batch.reshape((-1, *stats.mean.shape))
    n = jnp.asarray(batch.shape[0], jnp.float32)
    mean, var = batch.mean(0), batch.var(0)
    total = stats.count + n
    delta = mean - stats.mean
    new_mean = stats.mean + delta * n / total
    m2 = stats.var * stats.count + var * n + delta**2 * stats.count * n / total
    return RunningStats(new_mean, m2 / total, total)


def standardise(stats: RunningStats, x: jax.Array) -> jax.Array:
    """``(x - mean) / std``, clipped to ``[-CLIP, CLIP]``."""
    return jnp.clip((x - stats.mean) / jnp.sqrt(stats.var + EPS), -CLIP, CLIP)


def scale(stats: RunningStats, reward: jax.Array) -> jax.Array:
    """Reward divided by the running std of the discounted return (not mean-centred)."""
    return reward / jnp.sqrt(stats.var + EPS)
