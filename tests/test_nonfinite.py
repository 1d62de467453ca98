"""A run whose losses, parameters or returns become NaN or inf stops at the chunk where it
happens, names the update, the quantity and the likely cause, keeps the last good training
state (the bad one is never saved) and exits non-zero."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxinv import cli, runs, training

SEEDS = 2


def fake_chunk(bad_loss_at: int | None = None, bad_param_at: int | None = None):
    """A compiled chunk of one update over a toy state ``{"w": (seeds, 3), "update": ()}``
    whose loss (seed 1) or parameter (seed 0) turns non-finite at a chosen update."""

    def chunk(state):
        update = state["update"] + 1
        w = state["w"] + 1.0
        if update == bad_param_at:
            w = w.copy()
            w[0, 2] = np.nan
        loss = np.ones((SEEDS, 1))
        if update == bad_loss_at:
            loss[1, 0] = np.inf
        metrics = {
            "loss": loss,
            "episode_return": np.full((SEEDS, 1), -5.0),
            "episodes": np.ones((SEEDS, 1), np.int32),
        }
        return {"w": w, "update": update}, metrics

    return {1: chunk}


@pytest.mark.parametrize(
    ("bad", "update", "quantity"),
    [
        ({"bad_loss_at": 5}, 5, "loss (seed 1: inf; 1 of 2 seeds)"),
        ({"bad_param_at": 3}, 3, "parameter ['w'] (seed 0: nan; 1 of 2 seeds)"),
    ],
)
def test_the_chunk_that_goes_non_finite_stops_the_run_before_it_is_saved(bad, update, quantity):
    saved = []
    state = {"w": np.zeros((SEEDS, 3)), "update": 0}
    with pytest.raises(training.NonFinite) as error:
        training.train_chunks(
            fake_chunk(**bad),
            state,
            8,
            20,
            every=2,
            checkpoint=lambda state, done, *_: saved.append(done),
            watch=lambda state: {"w": state["w"]},
        )
    message = str(error.value)
    assert f"training stopped at update {update} of 8 (chunk {update} of 8," in message
    assert f"{update * 20:,} env steps per run" in message and quantity in message
    assert saved == list(range(2, update, 2)) and error.value.saved_at == saved[-1]
    # Unwatched (a sweep, where a diverging configuration is a result), the run goes on.
    loop = training.train_chunks(fake_chunk(**bad), state, 8, 20)
    assert loop.state["update"] == 8


def test_an_overflowing_reward_scale_stops_jaxinv_train_with_its_causes(tmp_path):
    """Prices of 1e30 with reward normalisation off: the squared value error overflows float32
    in the first update."""
    out = tmp_path / "run"
    sets = {"env.periods": 5, "env.p": 1e30, "normalize_reward": False, "total_steps": 200}
    sets.update(num_envs=4, num_steps=5, hidden=[8, 8], num_minibatches=2, update_epochs=1)
    argv = ["train", "--algo", "ppo", "--out", str(out), "--quiet", "--checkpoint-every", "2"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, *(f"--set={k}={json.dumps(v)}" for k, v in sets.items())])
    message = str(exit_info.value)
    assert message.startswith("error: training stopped at update 1 of 10 (chunk 1 of 10")
    assert "value_loss (seed 0: inf" in message
    assert "Likely cause: a learning rate too high (lr=" in message
    assert "rewards too large for float32 (normalize_reward is off)" in message
    assert "no training state had been saved yet" in message
    assert not (out / runs.SUMMARY).exists() and not (out / runs.STATE).exists()
    assert not (out / runs.LOCK).exists()
