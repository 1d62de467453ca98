"""Customer demand: discrete distributions drawn exactly by an inverse-CDF table, and traces.

A demand distribution over whole units is compiled, once and in plain Python, into a
``DemandTable``: the lowest value kept and the cumulative probabilities of the values above it
as 31-bit integer thresholds. One draw takes 31 random bits and finds how many thresholds they
pass (by counting for short tables, by binary search for long ones), so every value has its
probability up to 2**-31 (4.7e-10); the support is cut only where each tail left out holds
less than 1e-12 of the mass (that mass goes to the end value kept). That is several times
faster on a CPU than ``jax.random.poisson`` and works for any bounded pmf.

Distribution codes and parameter names follow OR-Gym, which follows ``scipy.stats``:
1 Poisson ``mu`` (``loc``), 2 binomial ``n``, ``p`` (``loc``), 3 uniform integer ``low``,
``high`` with ``high`` excluded (``loc``), 4 geometric ``p`` with support starting at 1
(``loc``), 5 a user-supplied demand path (``user_D``, one value per period).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from scipy import stats

TAIL_MASS = 1e-12
"""Each tail cut from a demand table holds less than this much probability mass."""

LINEAR_SEARCH_MAX = 64
"""Tables up to this many thresholds are searched by counting; longer ones by bisection."""

RESOLUTION_BITS = 31
"""Random bits per draw; each value's probability is exact to 2**-31."""

MAX_TABLE_SIZE = 1 << 16
"""Largest support (in units) a table may span; wider distributions are refused at make()."""

DIST_NAMES = {1: "poisson", 2: "binom", 3: "randint", 4: "geom", 5: "user_D"}
DIST_PARAMS = {
    1: ("mu",),
    2: ("n", "p"),
    3: ("low", "high"),
    4: ("p",),
}


@struct.dataclass
class DemandTable:
    """An exact sampler for a discrete distribution on ``low, low + 1, ...``.

    ``thresholds[j] = round(P(X <= low + j) * 2**31)``, shape ``(K,)``; a draw is
    ``low + #{j : bits >= thresholds[j]}`` for 31 uniform bits (values below 2**31), so a
    threshold of 2**31 is never passed: that is how ``pad_table`` pads.
    """

    low: jax.Array  # () float32: smallest value of the support, in units
    thresholds: jax.Array  # (K,) uint32 in [0, 2**31]


def scipy_distribution(dist: int, dist_param: dict[str, float]) -> stats.rv_discrete:
    """The frozen ``scipy.stats`` distribution that OR-Gym would draw from."""
    family = {1: stats.poisson, 2: stats.binom, 3: stats.randint, 4: stats.geom}[dist]
    return family(**dist_param)


def table_pmf(dist: int, dist_param: dict[str, float]) -> tuple[int, np.ndarray]:
    """``(low, pmf)`` on ``low..high``: both tails beyond hold less than TAIL_MASS each.

    The returned pmf is scipy's on the kept values; ``build_table`` gives the lower tail's mass
    to ``low`` and never draws above ``high``.
    """
    frozen = scipy_distribution(dist, dist_param)
    support_low, support_high = frozen.support()
    low = max(int(support_low), int(frozen.ppf(TAIL_MASS)) - 1)
    # Walk until the tails left out are below TAIL_MASS (ppf and isf are approximate).
    while low > support_low and frozen.cdf(low - 1) >= TAIL_MASS:
        low -= 1
    while frozen.cdf(low) < TAIL_MASS:
        low += 1
    high = int(support_high) if not math.isinf(support_high) else int(frozen.isf(TAIL_MASS))
    while frozen.sf(high) >= TAIL_MASS:
        high += 1
    if high - low + 1 > MAX_TABLE_SIZE:
        raise ValueError(
            f"dist_param={dist_param!r} spans {high - low + 1} demand values; "
            f"at most {MAX_TABLE_SIZE} are supported"
        )
    values = np.arange(low, high + 1)
    return low, frozen.pmf(values)


def build_table(dist: int, dist_param: dict[str, float]) -> DemandTable:
    """Compile a scipy-parameterised distribution into an exact ``DemandTable``."""
    low, pmf = table_pmf(dist, dist_param)
    frozen = scipy_distribution(dist, dist_param)
    cdf = frozen.cdf(np.arange(low, low + pmf.size - 1))  # P(X <= low + j), lower tail in
    scale = float(1 << RESOLUTION_BITS)
    thresholds = np.minimum(np.rint(cdf * scale), scale).astype(np.uint32)
    return DemandTable(
        low=jnp.asarray(low, jnp.float32), thresholds=jnp.asarray(thresholds, jnp.uint32)
    )


def table_from_pmf(low: int, pmf: np.ndarray) -> DemandTable:
    """An exact table for any pmf on ``low, low + 1, ..., low + len(pmf) - 1`` (normalised here).

    Zero-probability values inside the support are allowed (their thresholds repeat).
    """
    pmf = np.asarray(pmf, np.float64)
    if pmf.ndim != 1 or pmf.size == 0 or np.any(pmf < 0) or not np.isfinite(pmf).all():
        raise ValueError(f"a pmf must be a non-empty list of non-negative numbers, got {pmf}")
    if pmf.sum() <= 0:
        raise ValueError("a pmf must have positive total mass")
    cdf = np.cumsum(pmf / pmf.sum())[:-1]  # P(X <= low + j) for all but the last value
    scale = float(1 << RESOLUTION_BITS)
    thresholds = np.minimum(np.rint(cdf * scale), scale).astype(np.uint32)
    return DemandTable(
        low=jnp.asarray(low, jnp.float32), thresholds=jnp.asarray(thresholds, jnp.uint32)
    )


def clipped_rounded_normal_pmf(mean: float, std: float) -> tuple[int, np.ndarray]:
    """``(low, pmf)`` of ``round(max(X, 0))`` for ``X ~ N(mean, std)``, tails below TAIL_MASS cut.

    ``P(D = 0) = P(X < 0.5)`` and ``P(D = k) = P(k - 0.5 <= X < k + 0.5)`` for ``k >= 1``: the
    half-way points, where round-half-to-even and round-half-up differ, have probability zero.
    ``std = 0`` is the point mass at ``round(max(mean, 0))`` (numpy's round, half to even).
    """
    if std == 0:
        return int(np.round(max(mean, 0.0))), np.ones(1)
    normal = stats.norm(mean, std)
    low = max(0, math.floor(normal.ppf(TAIL_MASS)))
    while low > 0 and normal.cdf(low - 0.5) >= TAIL_MASS:
        low -= 1
    while normal.cdf(low + 0.5) < TAIL_MASS:
        low += 1
    high = max(low, math.ceil(normal.isf(TAIL_MASS)))
    while normal.sf(high + 0.5) >= TAIL_MASS:
        high += 1
    if high - low + 1 > MAX_TABLE_SIZE:
        raise ValueError(
            f"N({mean}, {std}) spans {high - low + 1} demand values; at most {MAX_TABLE_SIZE}"
        )
    edges = np.arange(low, high + 2) - 0.5  # value k takes [k - 0.5, k + 0.5)
    cdf = normal.cdf(edges)
    cdf[0], cdf[-1] = 0.0, 1.0  # the cut tails go to the end values kept
    return low, np.diff(cdf)


def table_distribution(table: DemandTable) -> tuple[np.ndarray, np.ndarray]:
    """``(values, pmf)`` a table draws from, float64, exact to 2**-31 (plain Python)."""
    thresholds = np.asarray(table.thresholds, np.float64) / float(1 << RESOLUTION_BITS)
    pmf = np.diff(np.concatenate([[0.0], np.minimum(thresholds, 1.0), [1.0]]))
    return float(table.low) + np.arange(pmf.size), pmf


def table_mean(table: DemandTable) -> float:
    """Mean demand of a table's distribution, in units (plain Python, outside jit)."""
    values, pmf = table_distribution(table)
    return float(np.dot(values, pmf))


def pad_table(table: DemandTable, size: int) -> DemandTable:
    """Pad ``table`` to ``size`` thresholds that no draw reaches (for stacking params)."""
    extra = size - table.thresholds.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad a table of {table.thresholds.shape[-1]} to {size}")
    unreachable = jnp.full((extra,), 1 << RESOLUTION_BITS, jnp.uint32)
    return table.replace(thresholds=jnp.concatenate([table.thresholds, unreachable]))


def stack_tables(tables: list[DemandTable]) -> DemandTable:
    """Tables stacked on a new leading axis, padded to the longest (e.g. one per weekday)."""
    size = max(t.thresholds.shape[-1] for t in tables)
    padded = [pad_table(t, size) for t in tables]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *padded)


def uniform_bits(key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
    """Uniform RESOLUTION_BITS-bit integers (uint32) of the given shape, for ``draw_from_bits``."""
    return jax.random.bits(key, shape, jnp.uint32) >> (32 - RESOLUTION_BITS)


def sample_table(key: jax.Array, table: DemandTable, shape: tuple[int, ...] = ()) -> jax.Array:
    """Independent draws from ``table`` as float32 units, of the given shape."""
    return draw_from_bits(uniform_bits(key, shape), table)


def sample_rows(key: jax.Array, tables: DemandTable, rows: jax.Array) -> jax.Array:
    """One independent draw from ``tables[rows[i]]`` for each entry of ``rows``, float32.

    ``tables`` is stacked on a leading axis (``stack_tables``), e.g. one table per weekday, and
    ``rows`` (any shape) picks the table of each draw.
    """
    rows = jnp.asarray(rows, jnp.int32)
    bits = uniform_bits(key, rows.shape).reshape(-1)

    def draw(bit: jax.Array, row: jax.Array) -> jax.Array:
        return draw_from_bits(bit, jax.tree.map(lambda leaf: leaf[row], tables))

    return jax.vmap(draw)(bits, rows.reshape(-1)).reshape(rows.shape)


def draw_from_bits(bits: jax.Array, table: DemandTable) -> jax.Array:
    """Map 31-bit uniform integers (any shape) to draws from ``table``, float32.

    The draw is ``low`` plus the number of thresholds ``bits`` reaches; thresholds ascend, so
    for long tables that count is found by bisection (the same number, fewer comparisons).
    """
    size = table.thresholds.shape[-1]
    if size <= LINEAR_SEARCH_MAX:
        passed = (bits[..., None] >= table.thresholds).astype(jnp.float32)
        return table.low + passed.sum(-1)
    # Bisection over a power-of-two padded table: find the count n with
    # thresholds[n - 1] <= bits < thresholds[n].
    padded = pad_table(table, 1 << (size - 1).bit_length()).thresholds
    count = jnp.zeros(bits.shape, jnp.int32)
    step = padded.shape[-1] // 2
    while step >= 1:
        candidate = count + step
        count = jnp.where(bits >= padded[candidate - 1], candidate, count)
        step //= 2
    return table.low + count.astype(jnp.float32)
