"""Linear programs of the serial chain (InvManagement-v0/-v1): the OR-Gym paper's baselines.

One LP plans ``H`` periods of the chain from a given state (on-hand per stage, the units in
transit, v0's backlogs, the period index ``t0``) for a given retail demand per period. The
decision is the number of units shipped to each stage each period, ``s[t, i]``; with it come
retail sales ``q[t]``, end-of-period on-hand ``I[t, i]`` and, in v0, the retail backlog
``B[t]`` and the backlogged supplier requests ``U[t, i]``. The constraints are the env's
(``jaxinv.envs.serial``):

* ``0 <= s[t, i] <= c_i``, and ``s[t, i] <=`` stage ``i + 1``'s on-hand at the start of
  period ``t`` (before that period's arrivals) for every stage but the top one, whose raw
  material source is unlimited;
* stock balance ``I[t, i] = I[t-1, i] + arrivals[t, i] - outflow[t, i]``, where a shipment
  ``s[t, i]`` arrives at stage ``i`` in period ``t + L_i`` (units already in transit arrive
  when the state's pipeline says), the retailer's outflow is its sales ``q[t]`` and stage
  ``i >= 1``'s is its shipment ``s[t, i-1]`` down the line; ``I >= 0``;
* v0: ``B[t] = B[t-1] + D[t] - q[t] >= 0`` (backlog carried); v1: ``q[t] <= D[t]`` (lost).

The objective is the env's reward summed over the horizon, in currency units:
``sum_t alpha**(t0 + t) * (p q[t] - r_top s[t, M-1] - k_0 unfilled_retail[t]
- sum_i k_{i+1} U[t, i] - sum_i h_i I[t, i])``, with ``unfilled_retail = B`` (v0) or
``D - q`` (v1). Units still in transit at the end of the horizon are worth nothing, as in the
env. Solved with HiGHS' dual simplex (``scipy.optimize.linprog(method="highs-ds")``).

Where the LP relaxes the env, and why its value still bounds every policy from above
-------------------------------------------------------------------------------------
1. Orders are real numbers, not whole units.
2. Sales ``q[t] <= min(D[t] (+ B[t-1]), stock)`` where the env sells exactly that minimum.
3. The env's decision is a *request*; the supplier ships ``min(request (+ v0 backlogged
   requests), c, upstream on-hand)`` and the unfilled part costs ``k`` (and, in v0, is owed
   later). The LP chooses the shipment itself, so it never pays for an unfilled request, and a
   v0 backlogged request ``U`` is only a cost (``U[t] >= U[t-1] - s[t]``), never a shipment the
   supplier is forced to make.

Whatever a policy does on a demand path, its shipments, sales and stock are a feasible point of
the LP on that path with the same profit, less its unfilled-request costs (>= 0). So the LP
value on a realised path (the *oracle*, all demand known in advance) is at least the return of
any policy, learned or not, on that path: an upper bound, which is what the OR-Gym paper
reports as its "oracle".

It is also attained. From a state with no backlogged supplier requests (every reset state) the
constraint matrix is that of a min-cost network flow (split each stage-period into a node
holding its opening stock, which feeds the shipment down the line, and one receiving the
arrivals; v0's backlog is an arc back in time), so with whole-unit demand, stock and capacities
every vertex is integral, and the simplex returns one: the MILP with integer orders has the
same value, so it is not needed. Relaxation 2 does not help the LP either when ``alpha <= 1``
and costs are >= 0: a unit sold later rather than now earns no more and is held longer.
Replaying the oracle's integral shipments as the env's orders reproduces the LP value to
float32 round-off (``replay_returns``; checked in the tests, and on the 1,000 evaluation paths
of v0 and v1 to within 1e-4), so the oracle is the exact optimum of each path with perfect
information, not only a bound.

SHLP (shrinking-horizon LP) is a policy: every period it plans the remaining periods on MEAN
demand from the env's true current state and applies the first period's shipments as the
orders, rounded down to whole units (``floor(s + 1e-6)``: a vertex is integral for whole-unit
mean demand; the ``1e-6`` absorbs solver round-off; flooring keeps the order within capacity
and upstream stock). In v0 the env adds last period's backlogged request to the order, so the
order is ``max(planned - backlogged, 0)``; SHLP's orders are always shippable, so none builds up.
It runs on the host inside ``jax.pure_callback``, so ``evaluate`` scores it on the same demand
paths as every other policy. For speed, the constraint matrix and costs are built once per
horizon length; a call changes only the right-hand side, and the episodes' LPs at one period
are solved ``BLOCK_EPISODES`` at a time as one block-diagonal LP (about 2.5x faster than one
HiGHS call each, where scipy's per-call overhead dominates). 1,000 episodes of 30 periods take
about a minute on 2 CPU cores.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from jaxinv import evaluate as evaluate_lib
from jaxinv.envs import demand as demand_lib
from jaxinv.envs.serial import EnvParams, EnvState, InvManagement
from jaxinv.policies.constant import Policy

ROUNDING_SLACK = 1e-6
"""Added before flooring a planned shipment to whole units (solver round-off)."""
BLOCK_EPISODES = 20
"""SHLP solves up to this many episodes' LPs as one block-diagonal LP."""


@dataclasses.dataclass(frozen=True)
class LPPlan:
    """An LP's optimal plan over ``H`` periods from one state.

    ``value`` is the discounted profit ``sum_t alpha**(t0 + t) * profit_t`` over the horizon
    (currency units; for ``t0 = 0`` the env's episode return). Arrays are in units.
    """

    value: float
    shipments: np.ndarray  # (H, M) units shipped to stage i in period t
    sales: np.ndarray  # (H,) retail sales
    on_hand: np.ndarray  # (H, M) end-of-period on-hand


@dataclasses.dataclass(frozen=True)
class _Layout:
    """The LP of one horizon length: column offsets, constraint matrices, costs at t0 = 0."""

    horizon: int
    num_vars: int
    ship: int  # offsets of the variable blocks (-1: block absent)
    sales: int
    stock: int
    backlog: int
    requests: int
    a_eq: sp.csr_array
    a_ub: sp.csr_array
    cost: np.ndarray  # (num_vars,) minimise: -discounted profit at t0 = 0 (no constants)
    upper: np.ndarray  # (num_vars,) variable upper bounds (lower bounds are all 0)


class SerialChainLP:
    """LPs of one serial chain (``env``, unbatched ``params``); see the module docstring."""

    def __init__(self, env: InvManagement, params: EnvParams) -> None:
        if not isinstance(env, InvManagement):
            raise ValueError(f"the LP models the serial chain, not {type(env).__name__}")
        if np.ndim(params.p) != 0:
            raise ValueError("the LP needs one chain's params, not a batch (params.p is not 0-d)")
        self.env = env
        self.backlog = bool(env.backlog)
        self.num_stages = m = env.num_stages
        self.max_lead_time = env.max_lead_time
        self.periods = env.periods
        self.price = float(params.p)
        self.source_cost = float(np.asarray(params.r, np.float64)[-1])
        self.unfilled_cost = np.asarray(params.k, np.float64)  # (M + 1,)
        self.holding_cost = np.asarray(params.h, np.float64)  # (M,)
        self.capacity = np.asarray(params.c, np.float64)  # (M,)
        self.lead_time = np.asarray(params.L, np.int64)  # (M,)
        self.alpha = float(params.alpha)
        self.initial_on_hand = np.asarray(params.I0, np.float64)
        if self.unfilled_cost.shape != (m + 1,) or self.capacity.shape != (m,):
            raise ValueError("params do not match the env's number of stages")
        self._layouts: dict[tuple[int, bool], _Layout] = {}

    # -- the LP -----------------------------------------------------------------------------

    def layout(self, horizon: int, with_requests: bool = False) -> _Layout:
        """The LP's matrices for ``horizon`` periods (cached); ``with_requests``: v0's ``U``."""
        key = (horizon, with_requests and self.backlog)
        if key not in self._layouts:
            self._layouts[key] = self._build(*key)
        return self._layouts[key]

    def _build(self, horizon: int, with_requests: bool) -> _Layout:
        h, m = horizon, self.num_stages
        ship, sales, stock = 0, h * m, h * m + h
        n = stock + h * m
        backlog = requests = -1
        if self.backlog:
            backlog, n = n, n + h
        if with_requests:
            requests, n = n, n + h * m

        def s(t: int, i: int) -> int:
            return ship + t * m + i

        def inv(t: int, i: int) -> int:
            return stock + t * m + i

        eq_rows, eq_cols, eq_vals = [], [], []
        ub_rows, ub_cols, ub_vals = [], [], []
        row = 0

        def put(rows, cols, vals, r, c, v):
            rows.append(r)
            cols.append(c)
            vals.append(v)

        # Stock balance, row t * M + i: I[t,i] - I[t-1,i] - s[t-L_i,i] + outflow[t,i] = const.
        for t in range(h):
            for i in range(m):
                put(eq_rows, eq_cols, eq_vals, row, inv(t, i), 1.0)
                if t > 0:
                    put(eq_rows, eq_cols, eq_vals, row, inv(t - 1, i), -1.0)
                if t >= self.lead_time[i]:
                    put(eq_rows, eq_cols, eq_vals, row, s(t - int(self.lead_time[i]), i), -1.0)
                outflow = sales + t if i == 0 else s(t, i - 1)
                put(eq_rows, eq_cols, eq_vals, row, outflow, 1.0)
                row += 1
        if self.backlog:  # retail backlog, row H*M + t: B[t] - B[t-1] + q[t] = D[t] (+ B0)
            for t in range(h):
                put(eq_rows, eq_cols, eq_vals, row, backlog + t, 1.0)
                if t > 0:
                    put(eq_rows, eq_cols, eq_vals, row, backlog + t - 1, -1.0)
                put(eq_rows, eq_cols, eq_vals, row, sales + t, 1.0)
                row += 1
        num_eq = row

        row = 0
        # Upstream stock, row t * (M-1) + i: s[t,i] - I[t-1,i+1] <= (t == 0: on_hand[i+1]).
        for t in range(h):
            for i in range(m - 1):
                put(ub_rows, ub_cols, ub_vals, row, s(t, i), 1.0)
                if t > 0:
                    put(ub_rows, ub_cols, ub_vals, row, inv(t - 1, i + 1), -1.0)
                row += 1
        if not self.backlog:  # lost sales, row H*(M-1) + t: q[t] <= D[t]
            for t in range(h):
                put(ub_rows, ub_cols, ub_vals, row, sales + t, 1.0)
                row += 1
        if with_requests:  # v0 requests owed: U[t-1,i] - U[t,i] - s[t,i] <= (t == 0: -U0_i)
            for t in range(h):
                for i in range(m):
                    put(ub_rows, ub_cols, ub_vals, row, requests + t * m + i, -1.0)
                    if t > 0:
                        put(ub_rows, ub_cols, ub_vals, row, requests + (t - 1) * m + i, 1.0)
                    put(ub_rows, ub_cols, ub_vals, row, s(t, i), -1.0)
                    row += 1
        num_ub = row

        weight = self.alpha ** np.arange(h, dtype=np.float64)  # (H,)
        cost = np.zeros(n)
        cost[ship + np.arange(h) * m + (m - 1)] = self.source_cost * weight
        retail_value = self.price + (0.0 if self.backlog else self.unfilled_cost[0])
        cost[sales : sales + h] = -retail_value * weight
        cost[stock : stock + h * m] = (weight[:, None] * self.holding_cost[None, :]).reshape(-1)
        if self.backlog:
            cost[backlog : backlog + h] = self.unfilled_cost[0] * weight
        if with_requests:
            cost[requests : requests + h * m] = (
                weight[:, None] * self.unfilled_cost[None, 1:]
            ).reshape(-1)
        upper = np.full(n, np.inf)
        upper[ship : ship + h * m] = np.tile(self.capacity, h)

        a_eq = sp.csr_array((eq_vals, (eq_rows, eq_cols)), shape=(num_eq, n))
        a_ub = sp.csr_array((ub_vals, (ub_rows, ub_cols)), shape=(max(num_ub, 0), n))
        return _Layout(h, n, ship, sales, stock, backlog, requests, a_eq, a_ub, cost, upper)

    def _rhs(
        self, layout: _Layout, demand: np.ndarray, on_hand, pipeline, unfilled
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Right-hand sides (b_eq (K, rows), b_ub (K, rows)) and the objective constants (K,)
        for K states: demand (K, H), on_hand (K, M), pipeline (K, W, M), unfilled (K, M+1)."""
        k, h, m = demand.shape[0], layout.horizon, self.num_stages
        arrivals = np.zeros((k, h, m))
        w = min(pipeline.shape[1], h)
        arrivals[:, :w] = pipeline[:, :w]
        arrivals[:, 0] += on_hand
        b_eq = [arrivals.reshape(k, h * m)]
        if self.backlog:
            retail = demand.copy()
            retail[:, 0] += unfilled[:, 0]
            b_eq.append(retail)
        b_ub = []
        if m > 1:
            upstream = np.zeros((k, h, m - 1))
            upstream[:, 0] = on_hand[:, 1:]
            b_ub.append(upstream.reshape(k, -1))
        if not self.backlog:
            b_ub.append(demand)
        if layout.requests >= 0:
            owed = np.zeros((k, h, m))
            owed[:, 0] = -unfilled[:, 1:]
            b_ub.append(owed.reshape(k, -1))
        constant = np.zeros(k)
        if not self.backlog:  # -k_0 * D[t] of the lost-sales cost
            weight = self.alpha ** np.arange(h, dtype=np.float64)
            constant = -self.unfilled_cost[0] * demand @ weight
        empty = np.zeros((k, 0))
        return np.concatenate(b_eq, axis=1), np.concatenate(b_ub or [empty], axis=1), constant

    def solve(
        self,
        demand: Any,
        on_hand: Any = None,
        pipeline: Any = None,
        unfilled: Any = None,
        period: int = 0,
    ) -> LPPlan:
        """The optimal plan for ``demand`` (H,) units per period from one state.

        ``on_hand`` (M,), ``pipeline`` (W, M) (``[j, i]`` arrives at stage i in j periods) and
        ``unfilled`` (M+1,) (v0: retail backlog, then backlogged requests; ignored in v1)
        default to the env's reset state; ``period`` is the index ``t0`` of the first planned
        period (it sets the discount ``alpha**t0``).
        """
        plans = self.solve_many(
            np.asarray(demand, np.float64)[None],
            None if on_hand is None else np.asarray(on_hand, np.float64)[None],
            None if pipeline is None else np.asarray(pipeline, np.float64)[None],
            None if unfilled is None else np.asarray(unfilled, np.float64)[None],
            np.asarray([period]),
        )
        return plans[0]

    def solve_many(
        self,
        demand: Any,
        on_hand: Any = None,
        pipeline: Any = None,
        unfilled: Any = None,
        period: Any = 0,
        block: int = BLOCK_EPISODES,
    ) -> list[LPPlan]:
        """``solve`` for K states sharing one horizon: demand (K, H), on_hand (K, M), ...,
        ``period`` () or (K,). Up to ``block`` LPs are solved as one block-diagonal LP."""
        demand, on_hand, pipeline, unfilled, period = self._check_states(
            demand, on_hand, pipeline, unfilled, period
        )
        k, h = demand.shape
        with_requests = self.backlog and bool(np.any(unfilled[:, 1:] > 0))
        layout = self.layout(h, with_requests)
        b_eq, b_ub, constant = self._rhs(layout, demand, on_hand, pipeline, unfilled)
        plans: list[LPPlan] = []
        for start in range(0, k, block):
            stop = min(start + block, k)
            x, fun = _solve_blocks(layout, b_eq[start:stop], b_ub[start:stop])
            for j in range(stop - start):
                value = (-fun[j] + constant[start + j]) * self.alpha ** float(period[start + j])
                plans.append(self._plan(layout, x[j], value))
        return plans

    def _plan(self, layout: _Layout, x: np.ndarray, value: float) -> LPPlan:
        h, m = layout.horizon, self.num_stages
        return LPPlan(
            value=float(value),
            shipments=x[layout.ship : layout.ship + h * m].reshape(h, m),
            sales=x[layout.sales : layout.sales + h],
            on_hand=x[layout.stock : layout.stock + h * m].reshape(h, m),
        )

    def _check_states(self, demand, on_hand, pipeline, unfilled, period):
        """Validate and default a batch of states (plain Python; ValueError names the field)."""
        m, w = self.num_stages, self.max_lead_time
        demand = np.asarray(demand, np.float64)
        if demand.ndim != 2 or demand.shape[1] < 1:
            raise ValueError(f"demand: need (states, H >= 1) units per period, got {demand.shape}")
        k = demand.shape[0]
        defaults = {
            "on_hand": (on_hand, self.initial_on_hand, (m,)),
            "pipeline": (pipeline, np.zeros((w, m)), (w, m)),
            "unfilled": (unfilled, np.zeros(m + 1), (m + 1,)),
        }
        out = {"demand": demand}
        for name, (value, default, shape) in defaults.items():
            value = np.broadcast_to(default, (k, *shape)) if value is None else value
            value = np.asarray(value, np.float64)
            if value.shape != (k, *shape):
                raise ValueError(f"{name}: need shape {(k, *shape)}, got {value.shape}")
            out[name] = value
        for name, value in out.items():
            if not np.all(np.isfinite(value)) or np.any(value < 0):
                raise ValueError(f"{name}: every entry must be a finite number of units >= 0")
        period = np.broadcast_to(np.asarray(period), (k,))
        if np.any(period < 0) or np.any(period != np.floor(period)):
            raise ValueError(f"period: must be a whole number >= 0, got {period}")
        return out["demand"], out["on_hand"], out["pipeline"], out["unfilled"], period


def _solve_blocks(
    layout: _Layout, b_eq: np.ndarray, b_ub: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Solve K copies of ``layout``'s LP with right-hand sides b_eq (K, .) and b_ub (K, .) as
    one block-diagonal LP; returns x (K, num_vars) and each block's objective (K,)."""
    k = b_eq.shape[0]
    a_eq = sp.block_diag([layout.a_eq] * k, format="csr") if k > 1 else layout.a_eq
    has_ub = layout.a_ub.shape[0] > 0
    a_ub = None
    if has_ub:
        a_ub = sp.block_diag([layout.a_ub] * k, format="csr") if k > 1 else layout.a_ub
    bounds = np.stack([np.zeros(layout.num_vars * k), np.tile(layout.upper, k)], axis=1)
    result = linprog(
        np.tile(layout.cost, k),
        A_ub=a_ub,
        b_ub=b_ub.reshape(-1) if has_ub else None,
        A_eq=a_eq,
        b_eq=b_eq.reshape(-1),
        bounds=bounds,
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"HiGHS did not solve the chain's LP: {result.message}")
    x = result.x.reshape(k, layout.num_vars)
    return x, x @ layout.cost


# -- SHLP: a policy -------------------------------------------------------------------------


def mean_demand(env: InvManagement, params: EnvParams) -> np.ndarray:
    """Expected retail demand per period (periods,), units: the distribution's mean, or the
    trace itself for a deterministic ``dist=5`` path."""
    if env.demand_source == "trace":
        return np.asarray(params.demand, np.float64).reshape(env.periods)
    # The table's mean, to 1e-6 units (a whole-unit mean stays whole: integral LP vertices).
    return np.full(env.periods, round(demand_lib.table_mean(params.demand), 6))


def shlp_orders(
    lp: SerialChainLP,
    forecast: np.ndarray,
    on_hand: np.ndarray,
    pipeline: np.ndarray,
    unfilled: np.ndarray,
    time: np.ndarray,
) -> np.ndarray:
    """SHLP's orders (..., M) for states with leading batch axes (host side, NumPy).

    Plans periods ``time..periods-1`` on ``forecast`` (periods,) from each state, floors the
    first period's shipments to whole units and, in v0, subtracts the backlogged requests the
    env will add.
    """
    m = lp.num_stages
    batch = np.shape(time)
    on_hand = np.asarray(on_hand, np.float64).reshape(-1, m)
    pipeline = np.asarray(pipeline, np.float64).reshape(on_hand.shape[0], -1, m)
    unfilled = np.asarray(unfilled, np.float64).reshape(-1, m + 1)
    time = np.asarray(time, np.int64).reshape(-1)
    orders = np.zeros_like(on_hand)
    start = np.clip(time, 0, lp.periods - 1)
    for t0 in np.unique(start):
        rows = np.flatnonzero(start == t0)
        demand = np.broadcast_to(forecast[t0:], (rows.size, lp.periods - t0))
        plans = lp.solve_many(demand, on_hand[rows], pipeline[rows], unfilled[rows], t0)
        first = np.stack([plan.shipments[0] for plan in plans])
        orders[rows] = np.floor(first + ROUNDING_SLACK)
    if lp.backlog:
        orders = np.maximum(orders - unfilled[:, 1:], 0.0)
    return orders.astype(np.float32).reshape(*batch, m)


def shlp_policy(env: InvManagement, params: EnvParams, forecast: Any = None) -> Policy:
    """The shrinking-horizon LP policy ``(key, obs, state) -> orders (N, M)``.

    Each call solves one LP per episode on the host (``jax.pure_callback``), planning the
    remaining periods on ``forecast`` (periods,) units per period (default ``mean_demand``)
    from the true state; jittable and usable with ``evaluate`` like any other policy.
    """
    lp = SerialChainLP(env, params)
    forecast = mean_demand(env, params) if forecast is None else np.asarray(forecast, float)
    if forecast.shape != (env.periods,) or not np.all(np.isfinite(forecast)) or forecast.min() < 0:
        raise ValueError(f"forecast: need {env.periods} finite demands >= 0, got {forecast}")
    m = env.num_stages

    def host(on_hand, pipeline, unfilled, time):
        return shlp_orders(lp, forecast, on_hand, pipeline, unfilled, time)

    def policy(key: jax.Array, obs: jax.Array, state: EnvState) -> jax.Array:
        del key, obs
        shape = jax.ShapeDtypeStruct((*state.time.shape, m), jnp.float32)
        return jax.pure_callback(
            host,
            shape,
            state.on_hand,
            state.pipeline,
            state.unfilled,
            state.time,
            vmap_method="broadcast_all",
        )

    return policy


# -- the oracle: an upper bound on each path --------------------------------------------------


def _no_orders(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
    return jnp.zeros((obs.shape[0], state.on_hand.shape[-1]), jnp.float32)


def evaluation_demand(
    env: InvManagement, params: EnvParams, key: jax.Array, num_episodes: int, num_steps: int
) -> np.ndarray:
    """The retail demand (num_episodes, num_steps) units of each path ``evaluate`` runs on
    ``key`` (demand is exogenous, so any policy reveals it; this one orders nothing)."""
    demand = _demand_paths(env, params, key, num_episodes, num_steps)
    return np.asarray(demand, np.float64).T


@functools.partial(jax.jit, static_argnames=("env", "num_episodes", "num_steps"))
def _demand_paths(env, params, key, num_episodes: int, num_steps: int) -> jax.Array:
    _, trajectory = evaluate_lib.episode_trajectories(
        env, _no_orders, params, key, num_episodes, num_steps
    )
    return trajectory["info"]["demand"]  # (T, N)


def oracle_plans(lp: SerialChainLP, demand_paths: Any) -> list[LPPlan]:
    """The perfect-information plan of each path: demand (N, T) units from the reset state."""
    return lp.solve_many(np.asarray(demand_paths, np.float64))


def replay_returns(
    env: InvManagement,
    params: EnvParams,
    demand_paths: Any,
    orders: Any,
    start: EnvState | None = None,
) -> np.ndarray:
    """The env's return (N,) of ordering ``orders`` (N, T, M) on demand paths (N, T), from
    ``start`` (one unbatched state; default the reset state)."""
    demand = jnp.asarray(demand_paths, jnp.float32)
    orders = jnp.asarray(orders, jnp.float32)
    if start is None:
        _, start = env.reset_env(None, params)
    return np.asarray(_replay(env, params, demand, orders, start), np.float64)


@functools.partial(jax.jit, static_argnames="env")
def _replay(
    env: InvManagement, params: EnvParams, demand: jax.Array, orders: jax.Array, start: EnvState
):
    def episode(path: jax.Array, plan: jax.Array) -> jax.Array:
        state = start

        def period(state, inputs):
            d, action = inputs
            _, state, reward, _, _ = env.transition(d, state, action, params)
            return state, reward

        _, rewards = jax.lax.scan(period, state, (path, plan))
        return rewards.sum()

    return jax.vmap(episode)(demand, orders)


@dataclasses.dataclass(frozen=True)
class OracleBound:
    """Not a policy: the clairvoyant LP's value on each evaluation path, reported as "returns"
    so that it pairs with policies evaluated on the same key (same ``crn``)."""

    def evaluate_bound(
        self,
        env: InvManagement,
        params: EnvParams,
        key: jax.Array,
        num_episodes: int | None = None,
        num_steps: int | None = None,
        batched_params: bool = False,
    ) -> evaluate_lib.EvalResult:
        """Oracle values on the paths ``evaluate(env, policy, params, key, ...)`` would use."""
        if batched_params:
            raise ValueError("batched_params: the oracle needs one chain's params")
        n = evaluate_lib.DEFAULT_EPISODES if num_episodes is None else int(num_episodes)
        steps = env.periods if num_steps is None else int(num_steps)
        if steps != env.periods:
            raise ValueError(f"num_steps: the oracle plans whole episodes ({env.periods})")
        demand = evaluation_demand(env, params, key, n, steps)
        values = [plan.value for plan in oracle_plans(SerialChainLP(env, params), demand)]
        crn = evaluate_lib.crn_name(env, params, key, n, steps, batched_params)
        return evaluate_lib.summarize(values, crn)
