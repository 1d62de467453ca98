"""Exact long-run average cost of Zipkin's lost-sales system (``LostSales-v0``), in JAX.

The state is ``x = (x0, x1, ..., x_{L-1})``: on hand including this period's arrival, then the
orders in transit (``jaxinv.envs.lost_sales``). With expected period cost
``C(x0) = h E(x0 - d)^+ + p E(d - x0)^+`` the average-cost optimality equation is

    g + v(x) = C(x0) + min_a { c a + E_d v((x0 - d)^+ + x1, x2, ..., x_{L-1}, a) }

(with ``L = 1`` the next state is ``(x0 - d)^+ + a``). ``solve`` runs relative value iteration
on the state space truncated by Zipkin's (2008) bounds: an order is at most ``q_bar``, the
``p/(p+h)`` quantile of one period's demand (or the env's ``max_order`` if smaller), and the
inventory position after ordering is at most ``S_bar``, the ``p/(p+h)`` quantile of ``L + 1``
periods' demand (the backorder system's base-stock level, which bounds the optimal lost-sales
order-up-to level; Morton 1969). That set of states is closed under the allowed orders, so no
state outside it is ever reached from it. Each iteration's ``T v - v`` brackets ``g``
(Odoni's bounds: ``min <= g <= max``); iteration stops when the bracket (the span) is below
``tol`` (1e-7 by default) and raises if it does not within ``max_iter``.

The expectation over demand touches only the first two coordinates, so one iteration is one
matrix product: ``A[(x0, x1), z] = P((x0 - d)^+ + x1 = z)`` times ``v`` laid out as
``[z, (x2, ..., x_{L-1}, a)]``, then a masked minimum over ``a``. Everything runs in float64
(``jax.enable_x64``), one ``lax.while_loop`` per solve.

``evaluate`` gives the exact average cost of any stationary policy (an order for every state of
a truncated box) by the same iteration without the minimum, on the states the policy keeps:
``x0 + ... + x_{L-1} <= position_bound`` and orders ``<= order_bound``. ``base_stock`` and
``capped_base_stock`` evaluate those classes; ``myopic_orders`` is Zipkin's myopic policy.
``truncation_check`` tests that the truncation does not bind: where the optimal policy's
recurrent states reach a bound (allowed: the bounds are inclusive), it solves again with wider
bounds and compares.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

SPAN_TOL = 1e-7
"""Relative value iteration stops when the bracket on the average cost is this narrow."""
MAX_ITER = 20_000
"""Zipkin's grid converges in 10 to 60 iterations; a chain made periodic by a demand pmf
with gaps (e.g. demand always 2) need not converge at all without an aperiodicity transform."""
BIG = 1e30  # the value of an order outside the truncated space


@dataclass(frozen=True)
class Problem:
    """One lost-sales system, in plain numbers (float64 demand pmf on {0, 1, ...})."""

    pmf: np.ndarray  # (K + 1,) P(d = k), sums to 1
    lead_time: int  # L >= 1
    holding_cost: float  # h
    lost_sale_cost: float  # p
    order_cost: float = 0.0  # c per unit ordered
    max_order: int | None = None  # the env's cap on one order (None: no cap)
    widen: int = 0  # units added to both truncation bounds (checks; negative: tighter)

    @property
    def ratio(self) -> float:
        return self.lost_sale_cost / (self.lost_sale_cost + self.holding_cost)

    @property
    def order_bound(self) -> int:
        """``q_bar``: Zipkin's bound on an optimal order (+ ``widen``), within the env's cap."""
        bound = quantile(self.pmf, self.ratio) + self.widen
        return bound if self.max_order is None else min(bound, self.max_order)

    @property
    def position_bound(self) -> int:
        """``S_bar``: the ``p/(p+h)`` quantile of ``L + 1`` periods' demand (+ ``widen``)."""
        return quantile(convolve_power(self.pmf, self.lead_time + 1), self.ratio) + self.widen


def problem_from_env(env: Any, params: Any) -> Problem:
    """The ``Problem`` a ``LostSales-v0`` env poses with ``params`` (its table's pmf)."""
    from jaxinv.envs import lost_sales

    return Problem(
        pmf=lost_sales.params_pmf(params),
        lead_time=int(env.lead_time),
        holding_cost=float(np.asarray(params.holding_cost)),
        lost_sale_cost=float(np.asarray(params.lost_sale_cost)),
        order_cost=float(np.asarray(params.order_cost)),
        max_order=int(np.asarray(params.max_order)),
    )


# -- demand arithmetic (plain numpy) ------------------------------------------------------------


def quantile(pmf: np.ndarray, ratio: float) -> int:
    """The smallest ``q`` with ``P(d <= q) >= ratio``."""
    return int(np.searchsorted(np.cumsum(pmf), ratio - 1e-12))


def convolve_power(pmf: np.ndarray, n: int) -> np.ndarray:
    """The pmf of the sum of ``n`` independent draws."""
    out = np.ones(1)
    for _ in range(n):
        out = np.convolve(out, pmf)
    return out


def period_cost(problem: Problem, size: int) -> np.ndarray:
    """``C(y) = h E(y - d)^+ + p E(d - y)^+`` for ``y = 0..size-1``, float64 (size,)."""
    pmf = problem.pmf
    d = np.arange(pmf.size)
    y = np.arange(size)[:, None]
    over = (np.maximum(y - d, 0) * pmf).sum(1)
    short = (np.maximum(d - y, 0) * pmf).sum(1)
    return problem.holding_cost * over + problem.lost_sale_cost * short


def leftover_matrix(pmf: np.ndarray, size: int) -> np.ndarray:
    """``P[y, k] = P((y - d)^+ = k)`` for ``y, k = 0..size-1``, float64 (size, size)."""
    padded = np.concatenate([pmf, np.zeros(max(size - pmf.size, 0))])
    tail = 1.0 - np.concatenate([[0.0], np.cumsum(padded)])  # tail[y] = P(d >= y)
    out = np.zeros((size, size))
    for y in range(size):
        out[y, 1 : y + 1] = padded[y - 1 :: -1][:y]  # k = y - d for d = 0..y-1
        out[y, 0] = max(tail[y], 0.0)
    return out


def arrival_matrix(pmf: np.ndarray, size: int, shifts: int) -> np.ndarray:
    """``A[(y, s), z] = P((y - d)^+ + s = z)``, shape (size * shifts, size), ``z < size``.

    Rows with ``y + s >= size`` lose the mass beyond ``size - 1``; the truncated space never
    uses them.
    """
    left = leftover_matrix(pmf, size)
    out = np.zeros((size, shifts, size))
    for s in range(shifts):
        out[:, s, s:] = left[:, : size - s]
    return out.reshape(size * shifts, size)


# -- the truncated space ------------------------------------------------------------------------


def box_shape(lead_time: int, position_bound: int, order_bound: int) -> tuple[int, ...]:
    """Dense layout of the states: ``(x0 in 0..B, x1..x_{L-1} in 0..r)``."""
    return (position_bound + 1,) + (order_bound + 1,) * (lead_time - 1)


def box_positions(shape: tuple[int, ...]) -> np.ndarray:
    """The inventory position ``x0 + ... + x_{L-1}`` of every cell of a box, int (shape)."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return sum(grids, np.zeros(shape, np.int64))


# -- relative value iteration -------------------------------------------------------------------


@dataclass(frozen=True)
class Solution:
    """The optimal average cost and policy on the truncated space.

    ``policy`` and ``values`` are laid out on ``box_shape(L, position_bound, order_bound)``;
    cells with inventory position above ``position_bound`` are outside the space (order 0).
    """

    average_cost: float  # midpoint of the final bracket, cost per period
    lower: float
    upper: float
    iterations: int
    policy: np.ndarray  # int32 optimal order per state
    values: np.ndarray  # float64 relative values (0 at the empty state)
    position_bound: int
    order_bound: int
    lead_time: int
    states: int  # states in the truncated space
    wall_s: float


def _relative_value_iteration(backup, v0, valid, tol, max_iter):
    """Iterate ``v <- backup(v) - backup(v)[0]`` until ``T v - v`` on the ``valid`` cells
    spans less than ``tol``. Returns (values, aux of the last backup, lower, upper, iterations).
    """

    def body(carry):
        v, _, _, _, it = carry
        new, aux = backup(v)
        diff = new - v
        lower = jnp.min(jnp.where(valid, diff, jnp.inf))
        upper = jnp.max(jnp.where(valid, diff, -jnp.inf))
        return new - new.reshape(-1)[0], aux, lower, upper, it + 1

    def cond(carry):
        _, _, lower, upper, it = carry
        return (upper - lower >= tol) & (it < max_iter)

    aux0 = jax.eval_shape(lambda v: backup(v)[1], v0)
    aux0 = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), aux0)
    start = (v0, aux0, jnp.asarray(-jnp.inf), jnp.asarray(jnp.inf), jnp.asarray(0))
    return jax.lax.while_loop(cond, body, start)


@partial(jax.jit, static_argnames=("shape", "tol", "max_iter"))
def _optimise(arrival, cost, order_cost, positions, fixed=None, *, shape, tol, max_iter):
    """Relative value iteration with the minimum over orders, on a box of ``shape``; or, with
    ``fixed`` orders (shape), of that policy.

    ``arrival`` (n * (r + 1), n), ``cost`` (n,) by x0, ``positions`` the inventory position
    after ordering of every (state, order) cell (shape + (r + 1,)).
    """
    n, r1 = shape[0], arrival.shape[0] // shape[0]
    full = (*shape, r1)
    allowed = positions <= n - 1
    valid = allowed.any(-1)
    penalty = jnp.where(allowed, order_cost * jnp.arange(r1, dtype=jnp.float64), BIG)
    cost = jnp.broadcast_to(cost.reshape((n,) + (1,) * (len(shape) - 1)), shape)

    def backup(v):
        # E v(next state) for every (state, order), then the best order.
        q = (arrival @ v.reshape(n, -1)).reshape(full) + penalty
        policy = jnp.argmin(q, -1).astype(jnp.int32) if fixed is None else fixed
        best = jnp.take_along_axis(q, policy[..., None], -1)[..., 0]
        return jnp.where(valid, cost + best, 0.0), policy

    v0 = jnp.zeros(shape, jnp.float64)
    return _relative_value_iteration(backup, v0, valid, tol, max_iter)


@partial(jax.jit, static_argnames=("layout", "tol", "max_iter"))
def _evaluate(arrival, state_cost, rows, tails, cells, *, layout, tol, max_iter):
    """Relative value iteration of one policy on its m states.

    The values live on a grid of ``layout = (n, T)``: state ``x`` is cell ``x0 * T +
    tail(x1, ..., x_{L-1})``; state ``i`` is cell ``cells[i]``, costs ``state_cost[i]`` this
    period and moves to ``(z, tails[i])`` with probability ``arrival[rows[i], z]``. The layout
    and m are padded to buckets (``_bucket``) so that similar boxes share one compilation:
    padded states repeat state 0 and padded columns of ``arrival`` are zero.
    """
    weights = arrival[rows]  # (m, n)
    size = layout[0] * layout[1]

    def backup(v):
        following = (weights * v.reshape(layout)[:, tails].T).sum(1)
        return jnp.zeros(size, jnp.float64).at[cells].set(state_cost + following), ()

    valid = jnp.zeros(size, bool).at[cells].set(True)
    return _relative_value_iteration(backup, jnp.zeros(size, jnp.float64), valid, tol, max_iter)


def _bucket(n: int) -> int:
    """``n`` rounded up to one of 8 sizes per octave (at most 12.5% larger), at least 8."""
    n = max(int(n), 8)
    step = 1 << max(n.bit_length() - 4, 0)
    return -(-n // step) * step


def _pad(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` (m, ...) padded to ``size`` rows by repeating its first row."""
    extra = size - array.shape[0]
    return np.concatenate([array, np.repeat(array[:1], extra, 0)]) if extra else array


def _check_converged(lower: float, upper: float, iterations: int, tol: float) -> None:
    if not upper - lower < tol:
        raise RuntimeError(
            f"relative value iteration did not converge in {iterations} iterations: the "
            f"average cost is only known to lie in [{lower}, {upper}] (span {upper - lower:.3g}"
            f" >= tol {tol:g}); raise max_iter, or check whether the chain is periodic"
        )


def solve(problem: Problem, *, tol: float = SPAN_TOL, max_iter: int = MAX_ITER) -> Solution:
    """The optimal average cost and policy by relative value iteration (see module doc)."""
    start = time.perf_counter()
    bound, cap = problem.position_bound, problem.order_bound
    shape = box_shape(problem.lead_time, bound, cap)
    n, r1 = shape[0], cap + 1
    with jax.enable_x64(True):
        out = _optimise(
            jnp.asarray(arrival_matrix(problem.pmf, n, r1)),
            jnp.asarray(period_cost(problem, n)),
            jnp.asarray(problem.order_cost, jnp.float64),
            jnp.asarray(box_positions((*shape, r1))),
            shape=shape,
            tol=float(tol),
            max_iter=int(max_iter),
        )
        values, policy, lower, upper, iterations = jax.device_get(out)
    lower, upper, iterations = float(lower), float(upper), int(iterations)
    _check_converged(lower, upper, iterations, tol)
    inside = box_positions(shape) <= bound
    return Solution(
        average_cost=0.5 * (lower + upper),
        lower=lower,
        upper=upper,
        iterations=iterations,
        policy=np.where(inside, policy, 0).astype(np.int32),
        values=values,
        position_bound=bound,
        order_bound=cap,
        lead_time=problem.lead_time,
        states=int(inside.sum()),
        wall_s=time.perf_counter() - start,
    )


# -- exact evaluation of a stationary policy ----------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The exact average cost of one stationary policy (bracket narrower than ``tol``)."""

    average_cost: float
    lower: float
    upper: float
    iterations: int
    states: int
    position_bound: int
    order_bound: int


def _dense_is_faster(shape: tuple[int, ...], order_bound: int, states: int) -> bool:
    """Whether one backup is cheaper as the dense product over every order (``_optimise``)
    than as a gather over the policy's states (``_evaluate``), by rough CPU rates."""
    n, cells = shape[0], math.prod(shape) * (order_bound + 1)
    dense = 2.0 * n * cells / 3e10 + 4 * cells / 1e9
    sparse = states * n * 5e-9
    return dense < sparse


def _evaluate_sparse(problem, orders, inside, states, order_bound, tol, max_iter):
    """``_evaluate`` of the policy ``orders`` on the states ``inside`` its box."""
    a = orders[inside].astype(np.int64)
    r1, lead_time = order_bound + 1, problem.lead_time
    size = inside.shape[0]
    n, tail_size = _bucket(size), _bucket(r1 ** (lead_time - 1))
    x0 = states[:, 0]
    tail_radix = (r1,) * (lead_time - 1)
    if lead_time == 1:
        rows, tails, own = x0 * r1 + a, np.zeros_like(a), np.zeros_like(a)
    else:
        rows = x0 * r1 + states[:, 1]
        tails = np.ravel_multi_index(tuple(np.c_[states[:, 2:], a].T), tail_radix)
        own = np.ravel_multi_index(tuple(states[:, 1:].T), tail_radix)
    cells = x0 * tail_size + own
    state_cost = period_cost(problem, size)[x0] + problem.order_cost * a
    arrival = arrival_matrix(problem.pmf, size, r1)
    arrival = np.pad(arrival, ((0, 0), (0, n - size)))
    m = _bucket(cells.size)
    with jax.enable_x64(True):
        return _evaluate(
            jnp.asarray(arrival),
            jnp.asarray(_pad(state_cost, m)),
            jnp.asarray(_pad(rows, m)),
            jnp.asarray(_pad(tails, m)),
            jnp.asarray(_pad(cells, m)),
            layout=(n, tail_size),
            tol=float(tol),
            max_iter=int(max_iter),
        )


def evaluate(
    problem: Problem,
    orders: np.ndarray,
    position_bound: int,
    order_bound: int,
    *,
    tol: float = SPAN_TOL,
    max_iter: int = MAX_ITER,
) -> Evaluation:
    """Average cost of ordering ``orders[x]`` in state ``x`` (box ``box_shape(L, B, r)``).

    The policy must keep the box closed: every order in ``0..order_bound`` and, where the
    state's position is at most ``position_bound``, position plus order at most that bound
    (``ValueError`` otherwise). The box must contain the states the policy reaches from
    where it starts; its average cost does not depend on the start for a unichain policy.
    """
    shape = box_shape(problem.lead_time, position_bound, order_bound)
    orders = np.asarray(orders)
    if orders.shape != shape:
        raise ValueError(f"orders has shape {orders.shape}; the box is {shape}")
    positions = box_positions(shape)
    inside = positions <= position_bound
    bad = inside & ((orders < 0) | (orders > order_bound) | (positions + orders > position_bound))
    if bad.any():
        state = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"the policy leaves the box (B={position_bound}, r={order_bound}) at state {state}"
            f" with order {int(orders[state])}"
        )
    states = np.argwhere(inside)  # (m, L)
    if _dense_is_faster(shape, order_bound, states.shape[0]):
        with jax.enable_x64(True):
            out = _optimise(
                jnp.asarray(arrival_matrix(problem.pmf, position_bound + 1, order_bound + 1)),
                jnp.asarray(period_cost(problem, position_bound + 1)),
                jnp.asarray(problem.order_cost, jnp.float64),
                jnp.asarray(box_positions((*shape, order_bound + 1))),
                jnp.asarray(np.where(inside, orders, 0), jnp.int32),
                shape=shape,
                tol=float(tol),
                max_iter=int(max_iter),
            )
    else:
        out = _evaluate_sparse(problem, orders, inside, states, order_bound, tol, max_iter)
    _, _, lower, upper, iterations = jax.device_get(out)
    lower, upper, iterations = float(lower), float(upper), int(iterations)
    _check_converged(lower, upper, iterations, tol)
    return Evaluation(
        0.5 * (lower + upper),
        lower,
        upper,
        iterations,
        int(states.shape[0]),
        position_bound,
        order_bound,
    )


def base_stock_orders(
    lead_time: int, level: int, cap: int, box: tuple[int, int] | None = None
) -> np.ndarray:
    """``min((S - IP)^+, cap)`` on the box ``(B, r) = box`` (default ``(S, cap)``)."""
    position_bound, order_bound = (level, cap) if box is None else box
    shape = box_shape(lead_time, position_bound, order_bound)
    return np.clip(level - box_positions(shape), 0, cap).astype(np.int32)


def padded_bound(bound: int) -> int:
    """A box bound at least ``bound`` from a coarse ladder (4 sizes per octave), so that the
    evaluations of a search share a few compilations; the box only adds transient states."""
    size = max(int(bound) + 1, 1)
    if size > 8:
        step = 1 << (size - 1).bit_length() - 3
        size = -(-size // step) * step
    return size - 1


def capped_base_stock(problem: Problem, level: int, cap: int, **kwargs: Any) -> Evaluation:
    """Exact average cost of ``min((S - IP)^+, r)``: a box with ``B >= S``, ``r' >= r`` holds
    its chain (positions above ``S`` are transient: nothing is ordered there)."""
    box = (padded_bound(level), padded_bound(cap))
    orders = base_stock_orders(problem.lead_time, level, cap, box)
    return evaluate(problem, orders, *box, **kwargs)


def base_stock(problem: Problem, level: int, **kwargs: Any) -> Evaluation:
    """Exact average cost of order-up-to ``S`` (uncapped beyond the env's ``max_order``)."""
    cap = level if problem.max_order is None else min(level, problem.max_order)
    return capped_base_stock(problem, level, cap, **kwargs)


def myopic_orders(problem: Problem) -> np.ndarray:
    """Zipkin's myopic policy on the truncated box ``(S_bar, q_bar)``.

    The order minimises ``c a + E C(x0 at t + L)``: the order's own cost and the expected
    holding and lost-sales cost of the period it arrives in, the on hand then being
    ``(on hand left after period t + L - 1) + a``, among orders keeping the position within
    ``S_bar`` (ties: the smaller order).
    """
    bound, cap = problem.position_bound, problem.order_bound
    n, r1 = bound + 1, cap + 1
    shape = box_shape(problem.lead_time, bound, cap)
    arrival = arrival_matrix(problem.pmf, n, r1)
    with jax.enable_x64(True):
        f = jnp.asarray(period_cost(problem, n))  # cost of the arrival period, by its on hand
        a_mat = jnp.asarray(arrival)
        for _ in range(problem.lead_time):
            f = (a_mat @ f.reshape(n, -1)).reshape((n, r1, *f.shape[1:]))
        q = np.asarray(f) + problem.order_cost * np.arange(r1)
    q = np.where(box_positions((*shape, r1)) <= bound, q, np.inf)
    orders = np.argmin(q, -1).astype(np.int32)
    return np.where(box_positions(shape) <= bound, orders, 0)


# -- searches -----------------------------------------------------------------------------------


def best_base_stock(problem: Problem, start: int | None = None, **kwargs: Any):
    """The best order-up-to level and its evaluation, by descent on ``S`` from ``start``.

    The average cost of a base-stock policy in a lost-sales system is convex in ``S``
    (Janakiraman and Roundy 2004), so the first local minimum is the global one. Returns
    ``(S, Evaluation, {S: average cost})`` of every level evaluated.
    """
    return _descend(lambda s: base_stock(problem, s, **kwargs), start or problem.position_bound)


def best_capped_base_stock(problem: Problem, **kwargs: Any):
    """The best ``(S, r)`` of ``min((S - IP)^+, r)``: every cap ``r`` in ``1..q_bar`` with the
    best ``S`` for it (found by descent in ``S``, from the best ``S`` of the previous cap), on
    the truncated box. Returns ``((S, r), Evaluation, {(S, r): average cost})``."""
    tried: dict[tuple[int, int], float] = {}
    best = None
    start = problem.position_bound
    for cap in range(1, problem.order_bound + 1):
        level, evaluation, costs = _descend(
            lambda s, cap=cap: capped_base_stock(problem, s, cap, **kwargs), start
        )
        tried.update({(s, cap): g for s, g in costs.items()})
        start = level
        if best is None or evaluation.average_cost < best[1].average_cost:
            best = ((level, cap), evaluation)
    assert best is not None
    return best[0], best[1], tried


def _descend(cost_of, start: int):
    """Local search over whole ``S >= 0`` from ``start``: step while the cost falls."""
    evaluated: dict[int, Evaluation] = {}

    def at(s: int) -> float:
        if s not in evaluated:
            evaluated[s] = cost_of(s)
        return evaluated[s].average_cost

    s = max(int(start), 0)
    while True:
        here = at(s)
        if s > 0 and at(s - 1) < here:
            s -= 1
        elif at(s + 1) < here:
            s += 1
        else:
            break
    return s, evaluated[s], {k: v.average_cost for k, v in sorted(evaluated.items())}


# -- the optimal policy's recurrent states and the truncation -----------------------------------


def recurrent_states(
    problem: Problem, orders: np.ndarray, steps: int = 2000, seed: int = 0
) -> np.ndarray:
    """The states (L,) a policy on a box keeps visiting: the set reachable from a state a
    simulation of ``steps`` periods ends in (that state is recurrent for a unichain policy
    with overwhelming probability). Returns int (m, L)."""
    shape = orders.shape
    rng = np.random.default_rng(seed)
    state = np.zeros(len(shape), np.int64)
    draws = rng.choice(problem.pmf.size, size=steps, p=problem.pmf)
    for d in draws:
        state = _successors(state[None], orders, shape, draw=int(d))[0]
    seen = {tuple(state)}
    frontier = state[None]
    while frontier.size:
        nxt = _successors(frontier, orders, shape, support=problem.pmf.size)
        flat = np.unique(np.ravel_multi_index(tuple(nxt.T), shape))
        new = [f for f in flat.tolist() if np.unravel_index(f, shape) not in seen]
        keys = [tuple(int(i) for i in np.unravel_index(f, shape)) for f in new]
        seen.update(keys)
        frontier = np.array(keys, np.int64).reshape(-1, len(shape))
    return np.array(sorted(seen), np.int64)


def _successors(states, orders, shape, *, draw=None, support=None):
    """Next states (m, L) of ``states`` under ``orders``: for one demand ``draw``, or for
    every on hand left ``0..x0`` (all demands up to ``support``)."""
    a = orders[tuple(states.T)]
    x0 = states[:, 0]
    shift = states[:, 1] if states.shape[1] > 1 else a
    rest = np.concatenate([states[:, 2:], a[:, None]], 1) if states.shape[1] > 1 else None
    if draw is not None:
        first = np.maximum(x0 - draw, 0) + shift
        return first[:, None] if rest is None else np.concatenate([first[:, None], rest], 1)
    out = []
    for left in range(int(x0.max()) + 1):
        ok = (left <= x0) & (x0 - left < support)
        if not ok.any():
            continue
        first = (left + shift)[ok, None]
        out.append(first if rest is None else np.concatenate([first, rest[ok]], 1))
    return np.concatenate(out)


def _bound_use(problem: Problem, solution: Solution) -> dict[str, Any]:
    """How the optimal policy's recurrent states use the truncation bounds."""
    states = recurrent_states(problem, solution.policy)
    orders = solution.policy[tuple(states.T)]
    positions = states.sum(1) + orders
    env_cap = problem.max_order is not None and solution.order_bound == problem.max_order
    return {
        "recurrent_states": int(states.shape[0]),
        "order_bound_hits": 0 if env_cap else int((orders == solution.order_bound).sum()),
        "position_bound_hits": int((positions == solution.position_bound).sum()),
        "largest_order": int(orders.max()),
        "largest_position": int(positions.max()),
    }


def truncation_check(problem: Problem, solution: Solution) -> dict[str, Any]:
    """Whether the truncation of the state space binds the optimal policy.

    Zipkin's bounds are inclusive (an optimal order may reach ``q_bar``, an order-up-to level
    ``S_bar``), so a recurrent state at a bound proves nothing either way. Where none is at a
    bound the truncation does not bind. Otherwise the problem is solved again with both
    bounds one unit wider: the truncation binds if that optimum's bracket lies wholly below
    this one's, or if its policy goes beyond the original bounds on its recurrent states.
    """
    use = _bound_use(problem, solution)
    use["binds"] = False
    if use["order_bound_hits"] or use["position_bound_hits"]:
        wider_problem = dataclasses.replace(problem, widen=problem.widen + 1)
        wider = solve(wider_problem)
        wider_use = _bound_use(wider_problem, wider)
        better = wider.upper < solution.lower  # brackets apart: a strictly lower optimum
        beyond = (
            wider_use["largest_order"] > solution.order_bound
            or wider_use["largest_position"] > solution.position_bound
        )
        use["widened"] = {**wider_use, "average_cost": wider.average_cost}
        use["binds"] = bool(beyond or better)
    return use


def integer_bounds(problem: Problem) -> dict[str, int]:
    """The truncation of ``problem``: ``S_bar``, ``q_bar`` and the state count."""
    shape = box_shape(problem.lead_time, problem.position_bound, problem.order_bound)
    states = int((box_positions(shape) <= problem.position_bound).sum())
    return {
        "position_bound": problem.position_bound,
        "order_bound": problem.order_bound,
        "states": states,
        "box": math.prod(shape),
    }
