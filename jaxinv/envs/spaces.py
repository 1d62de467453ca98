"""Spaces gymnax lacks: a vector of independent whole-number choices (one order per stage)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces


class MultiDiscrete(spaces.Space):
    """Integer vectors ``x`` with ``0 <= x[i] < nvec[i]``, e.g. orders 0..c_i for each stage."""

    def __init__(self, nvec: np.ndarray | list[int], dtype: jnp.dtype = jnp.int32) -> None:
        nvec = np.asarray(nvec, np.int64)
        if nvec.ndim != 1 or np.any(nvec < 1):
            raise ValueError(f"MultiDiscrete needs a flat list of positive sizes, got {nvec}")
        self.nvec = nvec
        self.shape = nvec.shape
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"MultiDiscrete({self.nvec.tolist()})"

    def sample(self, key: jax.Array) -> jax.Array:
        """Each entry uniform on its own range."""
        return jax.random.randint(key, self.shape, 0, jnp.asarray(self.nvec), self.dtype)

    def contains(self, x: jax.Array) -> jax.Array:
        """True if every entry is whole and in range."""
        x = jnp.asarray(x)
        whole = jnp.all(x == jnp.round(x))
        return whole & jnp.all(x >= 0) & jnp.all(x < jnp.asarray(self.nvec))
