"""Config validation at ``jaxinv.make``: bad input fails in plain Python, naming key and value.

Every config error is a ``ValueError`` (``validate.ConfigError``) raised by ``make`` itself,
before anything is traced, whose message starts with the env id and names the offending key and
the value given.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv.envs import serial
from jaxinv.envs.validate import ConfigError

V0, V1 = "InvManagement-v0", "InvManagement-v1"

# (config, text the message must contain: the key and the value as shown, then what is allowed)
BAD = {
    # Vector lengths against len(I0) = 3 stages (r and k: one more, for the source).
    "r-length": ({"r": [1.5, 1.0, 0.75]}, "'r'=[1.5, 1.0, 0.75]", "expected 4 entries"),
    "k-length": ({"k": [0.1] * 5}, "'k'=[0.1, 0.1, 0.1, 0.1, 0.1]", "expected 4 entries"),
    "h-length": ({"h": [0.15, 0.1]}, "'h'=[0.15, 0.1]", "expected 3 entries"),
    "c-length": ({"c": [100, 90, 80, 70]}, "'c'=[100.0, 90.0, 80.0, 70.0]", "expected 3 entries"),
    "L-length": ({"L": [3, 5]}, "'L'=[3.0, 5.0]", "expected 3 entries"),
    "I0-length": ({"I0": [100, 100]}, "'r'=[1.5, 1.0, 0.75, 0.5]", "expected 3 entries"),
    # Signs and ranges.
    "r-negative": ({"r": [1.5, -1.0, 0.75, 0.5]}, "'r'=[1.5, -1.0, 0.75, 0.5]", "[0, inf)"),
    "k-negative": ({"k": [-0.1, 0.075, 0.05, 0.025]}, "'k'=[-0.1, 0.075, 0.05, 0.025]", "[0, inf)"),
    "h-negative": ({"h": [0.15, 0.1, -0.05]}, "'h'=[0.15, 0.1, -0.05]", "[0, inf)"),
    "p-negative": ({"p": -2.0}, "'p'=-2.0", "[0, inf)"),
    "I0-negative": ({"I0": [100, -1, 200]}, "'I0'=[100.0, -1.0, 200.0]", "[0, inf)"),
    "c-negative": ({"c": [100, -90, 80]}, "'c'=[100.0, -90.0, 80.0]", "(0, inf)"),
    "c-zero": ({"c": [100, 0, 80]}, "'c'=[100.0, 0.0, 80.0]", "(0, inf)"),
    "c-fractional": ({"c": [100, 90.5, 80]}, "'c'=[100.0, 90.5, 80.0]", "whole numbers"),
    "L-negative": ({"L": [3, -1, 10]}, "'L'=[3.0, -1.0, 10.0]", "whole numbers in [0, 1000]"),
    "L-fractional": ({"L": [3, 1.5, 10]}, "'L'=[3.0, 1.5, 10.0]", "whole numbers"),
    "alpha-zero": ({"alpha": 0}, "'alpha'=0.0", "(0, 1]"),
    "alpha-above-one": ({"alpha": 1.5}, "'alpha'=1.5", "(0, 1]"),
    "periods-zero": ({"periods": 0}, "'periods'=0.0", "whole numbers in [1,"),
    "periods-fractional": ({"periods": 2.5}, "'periods'=2.5", "whole numbers"),
    "periods-list": ({"periods": [30]}, "'periods'=[30]", "a single number"),
    "observation": ({"observation": "pixels"}, "'observation'='pixels'", "'orgym', 'full'"),
    # Demand.
    "user_D-length": (
        {"dist": 5, "periods": 3, "user_D": [1, 2]},
        "'user_D'=[1.0, 2.0]",
        "expected 3 entries",
    ),
    "user_D-negative": (
        {"dist": 5, "periods": 3, "user_D": [1, -1, 2]},
        "'user_D'=[1.0, -1.0, 2.0]",
        "[0, inf)",
    ),
    "user_D-without-dist5": ({"periods": 3, "user_D": [1, 2, 3]}, "'user_D'=", "dist=5"),
    "dist5-without-user_D": ({"dist": 5}, "'user_D'=None", "needs a demand path"),
    "dist-7": ({"dist": 7}, "'dist'=7", "5 (user_D)"),
    "dist-bool": ({"dist": True}, "'dist'=True", "1 (poisson)"),
    "dist_param-unknown": (
        {"dist_param": {"muu": 20}},
        "\"dist_param['muu']\"=20",
        "Did you mean 'mu'?",
    ),
    "dist_param-missing": ({"dist": 2, "dist_param": {"n": 10}}, "'dist_param'={'n': 10}", "'p'"),
    "dist_param-range": (
        {"dist": 2, "dist_param": {"n": 10, "p": 1.5}},
        "\"dist_param['p']\"=1.5",
        "[0, 1]",
    ),
    "dist_param-not-dict": ({"dist_param": 20}, "'dist_param'=20", "a dict"),
    "randint-empty": (
        {"dist": 3, "dist_param": {"low": 5, "high": 5}},
        "\"dist_param['high']\"=5.0",
        "[6, inf)",
    ),
    # Unknown keys, and OR-Gym keys jaxinv does not take.
    "unknown-key": ({"perods": 3}, "unknown config key 'perods'", "Did you mean 'periods'?"),
    "seed_int": ({"seed_int": 42}, "'seed_int'=42", "JAX key"),
    "backlog": ({"backlog": True}, "'backlog'=True", "InvManagement-v0"),
}


@pytest.mark.parametrize("env_id", [V0, V1])
@pytest.mark.parametrize(("config", "names", "allowed"), BAD.values(), ids=BAD.keys())
def test_bad_config_fails_at_make(env_id: str, config: dict, names: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as error:
        jaxinv.make(env_id, **config)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert message.startswith(f"{env_id}: ")
    assert names in message, message
    assert allowed in message, message


def test_unknown_env_id_suggests_the_close_one() -> None:
    with pytest.raises(ValueError, match=r"'InvManagment-v1'\. Did you mean 'InvManagement-v1'"):
        jaxinv.make("InvManagment-v1")
    with pytest.raises(ValueError, match="Registered: InvManagement-v0, InvManagement-v1"):
        jaxinv.make("CartPole-v1")


def test_orgym_scalar_forms_for_one_stage() -> None:
    config = {"I0": 50, "r": [1.5, 1.0], "k": [0.1, 0.05], "h": 0.15, "c": 10, "L": 2}
    env, params = jaxinv.make(V1, **config)
    assert (env.num_stages, env.max_lead_time, env.obs_size) == (1, 2, 3)
    for name, value in (("I0", 50), ("h", 0.15), ("c", 10), ("L", 2)):
        np.testing.assert_array_equal(getattr(params, name), np.asarray([value], np.float32))
    assert params.L.dtype == jnp.int32
    np.testing.assert_array_equal(env.reset(jax.random.key(0), params)[0], [50, 0, 0])


def test_valid_config_is_kept() -> None:
    config = {
        "periods": 7,
        "I0": [10, 20],
        "p": 3.0,
        "r": [1.0, 0.5, 0.25],
        "k": [0.5, 0.25, 0.125],
        "h": [0.25, 0.5],
        "c": [15, 25],
        "L": [1, 4],
        "dist": 3,
        "dist_param": {"low": 2, "high": 9, "loc": 1},
        "alpha": 1.0,
        "user_D": None,
        "observation": "full",
    }
    assert set(config) == set(serial.DEFAULT_CONFIG)  # every key is exercised
    env, params = jaxinv.make(V0, **config)
    assert env.backlog and env.name == V0
    assert (env.periods, env.num_stages, env.max_lead_time) == (7, 2, 4)
    assert env.observation == "full" and env.obs_size == 2 * 5 + 2 + 2
    for name in ("I0", "r", "k", "h", "c", "L"):
        np.testing.assert_array_equal(getattr(params, name), config[name], err_msg=name)
    assert float(params.p) == 3.0 and float(params.alpha) == 1.0
    # randint(2, 9) shifted by loc=1: support 3..9, one threshold per value but the last.
    assert float(params.demand.low) == 3.0 and params.demand.thresholds.shape == (6,)
    # Defaults fill what is left out.
    env, params = jaxinv.make(V1, periods=5)
    assert env.periods == 5 and env.num_stages == 3 and env.max_lead_time == 10
    np.testing.assert_array_equal(params.c, serial.DEFAULT_CONFIG["c"])


@pytest.mark.parametrize("env_id", [V0, V1])
def test_all_zero_lead_times(env_id: str) -> None:
    """or-gym crashes on L = 0 everywhere; jaxinv has no pipeline then and observes on-hand."""
    env, params = jaxinv.make(env_id, L=[0, 0, 0], periods=2, dist=5, user_D=[7, 3])
    assert env.max_lead_time == 0 and env.obs_size == env.num_stages == 3
    obs, state = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, [100, 100, 200])
    # Orders [10, 20, 30] (within c = [100, 90, 80] and upstream stock) arrive at once:
    # stock [110, 120, 230]; retail sells demand 7; stages 1, 2 ship 10, 20 down.
    # On-hand: [110 - 7, 120 - 10, 230 - 20] = [103, 110, 210].
    action = jnp.asarray([10.0, 20.0, 30.0])
    obs, state, _, terminated, _, info = env.step(jax.random.key(1), state, action, params)
    np.testing.assert_array_equal(obs, [103, 110, 210])
    np.testing.assert_array_equal(info["arrivals"], info["shipments"])
    assert not bool(terminated)
    full, _ = jaxinv.make(env_id, L=[0, 0, 0], observation="full")
    assert full.obs_size == 3 + 4 + 1  # on-hand, unfilled (M + 1), remaining fraction
