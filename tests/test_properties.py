"""Invariants of the serial chain for random parameter values, all through ONE compilation.

Costs, prices, capacities, lead times (up to the env's static maximum), initial stock and the
demand path are traced params, so hypothesis can draw hundreds of different supply chains and
every one runs through the same compiled rollout; ``chex.assert_max_traces`` checks that.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxinv

PERIODS, STAGES, MAX_LEAD = 12, 3, 4
ENVS = {
    backlog: jaxinv.make(
        "InvManagement-v0" if backlog else "InvManagement-v1",
        periods=PERIODS,
        L=[MAX_LEAD, 1, 0],
        dist=5,
        user_D=[10] * PERIODS,
    )[0]
    for backlog in (True, False)
}


def make_episode(env):
    """A jitted episode of ``env``, traced once whatever the param values.

    chex counts traces per function body, which the two versions' closures share: two in all.
    """

    @jax.jit
    @chex.assert_max_traces(n=len(ENVS))
    def run(params, actions):
        _, state = env.reset(jax.random.key(0), params)

        def period(state, action):
            _, new_state, reward, _, info = env.step_env(jax.random.key(0), state, action, params)
            return new_state, (state, new_state, reward, info)

        return jax.lax.scan(period, state, actions)[1]

    return run


RUNS = {backlog: make_episode(env) for backlog, env in ENVS.items()}

whole = st.integers(0, 150)
chains = st.fixed_dictionaries(
    {
        "I0": st.lists(whole, min_size=STAGES, max_size=STAGES),
        "c": st.lists(st.integers(1, 120), min_size=STAGES, max_size=STAGES),
        "L": st.lists(st.integers(0, MAX_LEAD), min_size=STAGES, max_size=STAGES),
        "h": st.lists(st.floats(0, 2), min_size=STAGES, max_size=STAGES),
        "k": st.lists(st.floats(0, 2), min_size=STAGES + 1, max_size=STAGES + 1),
        "p": st.floats(0, 20),
        "r_top": st.floats(0, 10),
        "alpha": st.floats(0.5, 1.0),
        "demand": st.lists(st.integers(0, 80), min_size=PERIODS, max_size=PERIODS),
        "actions": st.lists(
            st.lists(st.floats(-50, 300), min_size=STAGES, max_size=STAGES),
            min_size=PERIODS,
            max_size=PERIODS,
        ),
        "backlog": st.booleans(),
    }
)


@settings(max_examples=200, deadline=None)
@given(chains)
def test_flows_balance_and_stay_non_negative(chain: dict) -> None:
    env = ENVS[chain["backlog"]]
    params = env.default_params.replace(
        I0=jnp.asarray(chain["I0"], jnp.float32),
        c=jnp.asarray(chain["c"], jnp.float32),
        L=jnp.asarray(chain["L"], jnp.int32),
        h=jnp.asarray(chain["h"], jnp.float32),
        k=jnp.asarray(chain["k"], jnp.float32),
        demand=jnp.asarray(chain["demand"], jnp.float32),
        p=jnp.asarray(chain["p"], jnp.float32),
        r=env.default_params.r.at[-1].set(chain["r_top"]),
        alpha=jnp.asarray(chain["alpha"], jnp.float32),
    )
    actions = jnp.asarray(chain["actions"], jnp.float32)
    pre, post, reward, info = jax.tree.map(np.asarray, RUNS[chain["backlog"]](params, actions))

    # Nothing negative, nothing lost in transit: stock in the system changes by what the
    # source releases minus what customers buy.
    for quantity in (post.on_hand, post.pipeline, info["shipments"], info["unfilled"]):
        assert (quantity >= 0).all()
    in_system = post.on_hand.sum(1) + post.pipeline.sum((1, 2))
    expected = sum(chain["I0"]) + np.cumsum(info["shipments"][:, -1] - info["sales"])
    np.testing.assert_allclose(in_system, expected, atol=1e-3)

    # Shipments respect capacity and the supplier's stock at the start of the period.
    assert (info["shipments"] <= np.asarray(chain["c"]) + 1e-6).all()
    assert (info["shipments"][:, :-1] <= pre.on_hand[:, 1:] + 1e-6).all()
    assert (info["sales"] <= pre.on_hand[:, 0] + info["arrivals"][:, 0] + 1e-6).all()

    # Requests: floor(max(action, 0)) of the float32 action the env receives, plus the
    # supplier's backlog in v0 only.
    requested = np.floor(np.maximum(np.asarray(actions), 0))
    carried = pre.unfilled[:, 1:] if chain["backlog"] else 0.0
    np.testing.assert_allclose(
        info["unfilled"][:, 1:], requested + carried - info["shipments"], atol=1e-3
    )

    # The reward is the discounted profit of the module docstring (OR-Gym's): alpha^t * (p *
    # retail sales - r_top * units the source released - sum k * unfilled - sum h * end
    # on-hand); transfer prices between stages cancel, so only r_top appears.
    f64 = {name: np.asarray(value, np.float64) for name, value in info.items()}
    terms = np.stack(
        [
            chain["p"] * f64["sales"],
            -chain["r_top"] * f64["shipments"][:, -1],
            -(np.asarray(chain["k"]) * f64["unfilled"]).sum(1),
            -(np.asarray(chain["h"]) * np.asarray(post.on_hand, np.float64)).sum(1),
        ]
    )
    discount = np.float64(np.float32(chain["alpha"])) ** np.arange(PERIODS)
    expected = discount * terms.sum(0)
    # float32 arithmetic: the error scales with the size of the terms, not of their sum.
    size = 1.0 + discount * np.abs(terms).sum(0)
    assert (np.abs(reward - expected) <= 1e-5 * size).all()
