"""The Gymnasium bridge: Gymnasium's own env checker passes for every registered id, and the
vector env agrees step for step with N single envs on the same seeds, across episode ends."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import jaxinv
import jaxinv.gym_bridge  # registers jaxinv/<id> with Gymnasium
from jaxinv import families


def smoke(env_id: str) -> dict:
    return dict(families.family_of(env_id).smoke_config.get(env_id, {}))


@pytest.mark.parametrize("env_id", jaxinv.registered_envs)
def test_gymnasium_env_checker_passes(env_id: str) -> None:
    env = gymnasium.make(f"jaxinv/{env_id}", **smoke(env_id))
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert env.unwrapped.env.horizon == jaxinv.make(env_id, **smoke(env_id))[0].horizon


@pytest.mark.parametrize("env_id", jaxinv.registered_envs)
def test_vector_env_agrees_with_single_envs(env_id: str) -> None:
    n, config = 3, smoke(env_id)
    vector = gymnasium.make_vec(f"jaxinv/{env_id}", num_envs=n, **config)
    singles = [gymnasium.make(f"jaxinv/{env_id}", **config).unwrapped for _ in range(n)]
    assert vector.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.SAME_STEP
    horizon = singles[0].env.horizon
    obs, _ = vector.reset(seed=10)
    single_obs = [env.reset(seed=10 + i)[0] for i, env in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(2 * horizon + 1):  # crosses two episode ends
        actions = np.stack([singles[0].action_space.sample() for _ in range(n)])
        actions = rng.permutation(actions)
        obs, reward, terminated, truncated, info = vector.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, _ = env.step(actions[i])
            np.testing.assert_allclose(reward[i], r, rtol=1e-6)
            assert (terminated[i], truncated[i]) == (term, trunc)
            np.testing.assert_array_equal(info["final_obs"][i], o)
            if term or trunc:
                o, _ = env.reset()
                ended += 1
            np.testing.assert_array_equal(obs[i], o)
        assert (info["_final_obs"] == (terminated | truncated)).all()
    assert ended == 2 * n


def test_shared_key_vector_env_repeats_a_seed_and_refuses_render() -> None:
    config = smoke("InvManagement-v1")

    def run(seed: int) -> np.ndarray:
        vector = gymnasium.make_vec(
            "jaxinv/InvManagement-v1", num_envs=4, shared_key=True, **config
        )
        vector.reset(seed=seed)
        actions = np.full((4, 3), 5)
        return np.stack([vector.step(actions)[1] for _ in range(5)])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    with pytest.raises(ValueError, match="render_mode"):
        gymnasium.make("jaxinv/RetailStore-v0", render_mode="human")
