"""The learner contract, once for every algorithm in ``jaxinv.agents.ALGORITHMS`` and every
registered env: same seed same numbers; ``vmap`` over seeds equals a loop of single seeds; a
traced float (the learning rate) ``vmap``-ped gives per-row results equal to separate runs;
bad configs raise ``ValueError`` at ``make_config`` naming the key.

A fourth algorithm (or env) is covered with no new test code: its tiny config is picked from
``TINY`` by the fields its config has. Compilation dominates (about 10 s a pair on the 2-core
machine, two functions: one run and the batch of rows), so the runs are two updates of tiny
nets and the algorithms and envs are paired round-robin (``PAIRS``: every algorithm and every
env at least once) rather than crossed.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import agents
from jaxinv.agents import base

# Whatever applies to an algorithm's config (by field name); two updates of 2 envs x 3 periods.
TINY = {
    "hidden": (8,),
    "num_envs": 2,
    "num_steps": 3,
    "total_steps": 12,
    "num_minibatches": 1,
    "update_epochs": 2,
    "buffer_size": 32,
    "batch_size": 8,
    "learning_starts": 0,
    "gradient_steps": 2,
}
ENV_CONFIGS = {
    "InvManagement-v0": {"periods": 6},
    "InvManagement-v1": {"periods": 6},
    "RetailStore-v0": {"horizon": 14},
    "LostSales-v0": {"horizon": 14},
}
# Rows of the batched call: (key, lr factor). Row 0 is the base run; row 1 another seed;
# row 2 lr = 0 (nothing may move); row 3 a different rate.
ROWS = ((0, 1.0), (1, 1.0), (0, 0.0), (0, 3.0))
PAIRS = [
    (agents.ALGORITHMS[i % len(agents.ALGORITHMS)], jaxinv.registered_envs[i % len(ENV_CONFIGS)])
    for i in range(max(len(agents.ALGORITHMS), len(jaxinv.registered_envs)))
]
RTOL, ATOL = 1e-4, 1e-5  # vmapped vs single: the same ops, batched (summation order may differ)


def test_every_env_has_a_tiny_config() -> None:
    assert set(ENV_CONFIGS) == set(jaxinv.registered_envs)


def tiny_config(algo: str):
    module = agents.algorithm(algo)
    fields = {f.name for f in dataclasses.fields(module.make_config())}
    return module.make_config(**{k: v for k, v in TINY.items() if k in fields})


@functools.cache
def compiled(algo: str, env_id: str):
    """``(config, init, single run, batched run)``, each jitted once for the pair."""
    module = agents.algorithm(algo)
    env, params = jaxinv.make(env_id, **ENV_CONFIGS[env_id])
    config = tiny_config(algo)

    def run(cfg, key):
        return base.train_fn(module.make_learner(cfg, env, params))(key)

    init = jax.jit(module.make_learner(config, env, params).init)
    return config, init, jax.jit(run), jax.jit(jax.vmap(run))


def row_config(config, factor: float):
    return config.replace(lr=float(config.lr) * factor)


def assert_trees_close(a, b, row=None, **tol) -> None:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        y = np.asarray(y) if row is None else np.asarray(y)[row]
        np.testing.assert_allclose(y, np.asarray(x), **tol)


@pytest.mark.parametrize(("algo", "env_id"), PAIRS, ids=[f"{a}-{e}" for a, e in PAIRS])
def test_same_seed_vmap_over_seeds_and_traced_lr(algo: str, env_id: str) -> None:
    config, init, single, batched = compiled(algo, env_id)
    key0 = jax.random.PRNGKey(0)
    first = single(config, key0)
    again = single(config, key0)
    assert_trees_close(first, again, rtol=0, atol=0)  # bitwise

    configs = jax.tree.map(lambda x: jnp.stack([jnp.asarray(x)] * len(ROWS)), config)
    configs = configs.replace(lr=jnp.asarray([float(config.lr) * f for _, f in ROWS]))
    keys = jnp.stack([jax.random.PRNGKey(k) for k, _ in ROWS])
    rows = batched(configs, keys)
    for i, (k, factor) in enumerate(ROWS):
        alone = single(row_config(config, factor), jax.random.PRNGKey(k))
        assert_trees_close(alone, rows, row=i, rtol=RTOL, atol=ATOL)

    # Negative controls: the rows really differ where they should, so the equalities above
    # could fail. Training moved the network far beyond the tolerance; lr = 0 moved nothing.
    start = jax.tree.leaves(init(key0).agent.net)
    trained = [np.asarray(x) for x in jax.tree.leaves(rows[0].agent.net)]
    moved = max(np.abs(t[0] - s).max() for t, s in zip(trained, start, strict=True))
    assert moved > 100 * ATOL
    for t, s in zip(trained, start, strict=True):
        np.testing.assert_array_equal(t[2], np.asarray(s))

    def distance(i: int, j: int) -> float:
        return max(np.abs(t[i] - t[j]).max() for t in trained)

    assert distance(0, 1) > 100 * ATOL  # another seed
    assert distance(0, 3) > 100 * ATOL  # another learning rate


# -- config errors -------------------------------------------------------------------------------


def wrong_type(default):
    """A value of the wrong type for a field whose default is ``default``."""
    if isinstance(default, bool):
        return 1
    if isinstance(default, int):
        return 2.5
    if isinstance(default, float):
        return "0.1"
    if isinstance(default, str):
        return 3
    if isinstance(default, tuple):
        return "64"
    raise AssertionError(f"no wrong value for {default!r}")


@pytest.mark.parametrize("algo", agents.ALGORITHMS)
def test_config_errors_name_the_key(algo: str) -> None:
    module = agents.algorithm(algo)
    config = module.make_config()
    fields = dataclasses.fields(config)
    # An unknown key, one letter off a real one: named, with the real one suggested.
    for field in fields:
        typo = field.name + "x"
        with pytest.raises(ValueError, match=rf"unknown config key '{typo}'.*Did you mean.*"):
            module.make_config(**{typo: 1})
        with pytest.raises(ValueError) as error:
            module.make_config(**{typo: 1})
        assert re.search(rf"Did you mean [^?]*'{field.name}'", str(error.value)), error.value
    # Every declared range: just outside either end is refused, naming the key and the range.
    assert module.LIMITS and set(module.LIMITS) <= {f.name for f in fields}
    for key, (lo, hi) in module.LIMITS.items():
        kind = type(getattr(config, key))
        for value in (kind(lo - 1), kind(2 * hi + 1)):
            assert not lo <= value <= hi
            message = (
                rf"{algo}: config '{key}'={re.escape(repr(value))} "
                rf"must be in \[{re.escape(str(lo))}, {re.escape(str(hi))}\]"
            )
            with pytest.raises(ValueError, match=message):
                module.make_config(**{key: value})
    # The wrong type for every field is refused, naming the key.
    for field in fields:
        value = wrong_type(getattr(config, field.name))
        with pytest.raises(ValueError, match=rf"config '{field.name}'={re.escape(repr(value))}"):
            module.make_config(**{field.name: value})


@pytest.mark.parametrize("algo", agents.ALGORITHMS)
def test_same_well_known_errors_for_every_algorithm(algo: str) -> None:
    """Fields every learner has, with the messages users see (from ``--set``)."""
    module = agents.algorithm(algo)
    with pytest.raises(ValueError, match=r"'lr'=-1.0 must be in \[0.0, 1.0\]"):
        module.make_config(lr=-1.0)
    with pytest.raises(ValueError, match=r"'gamma'=1.5 must be in \[0.0, 1.0\]"):
        module.make_config(gamma=1.5)
    with pytest.raises(ValueError, match="unknown config key 'learning_rate'"):
        module.make_config(learning_rate=1e-3)
    with pytest.raises(ValueError, match=r"'num_envs'=2.5 should be like"):
        module.make_config(num_envs=2.5)
    with pytest.raises(ValueError, match="'activation'='gelu' is not allowed"):
        module.make_config(activation="gelu")
