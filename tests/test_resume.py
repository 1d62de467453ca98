"""Exact resume of training runs: a run interrupted between checkpoints and resumed ends with
the very bits of an uninterrupted run (every leaf of the training state, all seeds, replay
buffer included) and the same metrics rows; damaged, truncated or foreign state files are
named; a crash while a state is written leaves the previous one loadable; the CLI resumes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax.serialization import msgpack_restore, to_state_dict

from jaxinv import cli, runs, training

ENV = "InvManagement-v1"
# Tiny runs: 5-period episodes, 20 env steps per update, 50 updates in chunks of one.
TINY = {"env.periods": 5, "total_steps": 1_000, "num_envs": 4, "num_steps": 5, "hidden": [8, 8]}
CONFIGS = {
    "ppo": {**TINY, "num_minibatches": 2, "update_epochs": 2},
    # Learning starts at update 5, so the interruption falls after real gradient steps.
    "dqn": {**TINY, "buffer_size": 300, "learning_starts": 100, "batch_size": 16},
}
SEEDS = 2
EVERY = 10  # updates between saved states
STOP = 25  # the interrupted run dies after this many updates: 5 past its last checkpoint


class Interrupt(Exception):
    """Stands for a crash (or Ctrl-C) between two chunks."""


def stop_after(updates: int):
    def on_chunk(done: int) -> None:
        if done >= updates:
            raise Interrupt(done)

    return on_chunk


def num_updates(algo: str) -> int:
    return training.build(ENV, algo, CONFIGS[algo]).learner.num_updates


def without_wall_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def interrupted_and_resumed(algo: str, tmp_path_factory):
    """``(algo, reference, crashed, resumed, cli_output)``: an uninterrupted run (stopped after
    its final checkpoint, before evaluation); a copy of its directory as it stood after
    ``STOP`` updates, i.e. what a crash there leaves; and that copy resumed to the end (PPO
    through the CLI, with its evaluation; DQN through ``resume_run``, stopped before it)."""
    total = num_updates(algo)
    assert total == 50 and training.chunk_size(total) == 1
    reference = tmp_path_factory.mktemp(f"{algo}_reference")
    crashed = tmp_path_factory.mktemp(f"{algo}_crashed") / "run"

    def on_chunk(done: int) -> None:
        if done == STOP:
            shutil.copytree(reference, crashed)
        if done == total:
            raise Interrupt(done)

    with pytest.raises(Interrupt):
        training.train_run(
            ENV,
            algo,
            CONFIGS[algo],
            reference,
            seeds=SEEDS,
            progress=False,
            checkpoint_every=EVERY,
            on_chunk=on_chunk,
        )
    resumed = tmp_path_factory.mktemp(f"{algo}_resumed") / "run"
    shutil.copytree(crashed, resumed)
    output = io.StringIO()
    if algo == "ppo":
        argv = ["train", "--resume", str(resumed), "--algo", "ppo", "--seeds", "2", "--quiet"]
        with contextlib.redirect_stdout(output):  # the run's own settings may be repeated
            cli.main([*argv, "--set", "env.periods=5", "--episodes", "4"])
    else:
        with pytest.raises(Interrupt):
            training.resume_run(resumed, progress=False, on_chunk=stop_after(total))
    return algo, reference, crashed, resumed, output.getvalue()


@pytest.fixture(scope="module")
def ppo_runs(tmp_path_factory):
    """PPO's runs (see ``interrupted_and_resumed``), resumed through the CLI."""
    return interrupted_and_resumed("ppo", tmp_path_factory)


@pytest.fixture(scope="module")
def dqn_runs(tmp_path_factory):
    return interrupted_and_resumed("dqn", tmp_path_factory)


@pytest.fixture(params=["ppo", "dqn"])
def runs_of(request):
    """Each algorithm's runs, for the tests that hold for every algorithm."""
    return request.getfixturevalue(f"{request.param}_runs")


def test_interrupted_then_resumed_run_is_bitwise_the_uninterrupted_one(runs_of):
    algo, reference, _, resumed, _ = runs_of
    total = num_updates(algo)
    want, got = training.read_saved_state(reference), training.read_saved_state(resumed)
    assert want.progress["updates"] == got.progress["updates"] == total
    assert got.progress["resumed_at"] == [20]  # the last checkpoint before the crash at 25
    want_leaves = jax.tree_util.tree_leaves_with_path(want.state)
    got_leaves = jax.tree.leaves(got.state)
    assert len(want_leaves) == len(got_leaves) > 20
    for (where, a), b in zip(want_leaves, got_leaves, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b), jax.tree_util.keystr(where)
    # The learned parameters (what checkpoint.msgpack and evaluation use) are in there, and
    # the two seeds learned different ones.
    params = jax.tree.leaves(want.state["agent"]["net"])
    assert params and not np.array_equal(params[0][0], params[0][1])
    if algo == "dqn":  # the replay buffer came back too, full of the same transitions
        replay = got.state["replay"]
        np.testing.assert_array_equal(replay["size"], [300, 300])
        np.testing.assert_array_equal(replay["data"]["obs"], want.state["replay"]["data"]["obs"])

    # Same metrics rows (wall times aside), exact in the state file and in metrics.csv.
    assert len(got.progress["rows"]) == total * SEEDS
    assert without_wall_times(got.progress["rows"]) == without_wall_times(want.progress["rows"])
    with open(reference / runs.METRICS) as f, open(resumed / runs.METRICS) as g:
        want_csv, got_csv = list(csv.DictReader(f)), list(csv.DictReader(g))
    assert list(want_csv[0]) == list(got_csv[0])  # same columns in the same order
    assert without_wall_times(got_csv) == without_wall_times(want_csv)


def test_checkpoints_fall_on_chunk_boundaries_and_keep_the_previous_one(runs_of):
    _, _, interrupted, _, _ = runs_of
    newest = training.read_saved_state(interrupted)
    previous_body = runs._state_body(interrupted / runs.STATE_PREV)
    assert newest.progress["updates"] == 20
    assert json.loads(msgpack_restore(previous_body)["progress"])["updates"] == 10
    assert not (interrupted / (runs.STATE + ".tmp")).exists()
    assert training.checkpoint_interval(50, 1, EVERY) == 10
    assert training.checkpoint_interval(100, 4, 30) == 32  # rounded up to whole chunks
    assert training.checkpoint_interval(400, 10, None) == 40  # about a tenth of the run
    assert training.checkpoint_interval(10, 10, None) == 10  # at least one chunk


def test_corrupt_or_truncated_state_falls_back_to_the_previous_one(runs_of, tmp_path, capsys):
    _, _, interrupted, _, _ = runs_of
    run_dir = tmp_path / "run"
    shutil.copytree(interrupted, run_dir)
    data = (run_dir / runs.STATE).read_bytes()
    (run_dir / runs.STATE).write_bytes(data[: len(data) // 2])  # truncated
    saved = training.read_saved_state(run_dir)
    assert saved.path == run_dir / runs.STATE_PREV and saved.progress["updates"] == 10
    note = capsys.readouterr().err
    assert "state.msgpack is truncated or corrupt" in note and "state.prev.msgpack" in note

    flipped = bytearray(data)
    flipped[-100] ^= 1  # one bit of the body
    (run_dir / runs.STATE).write_bytes(bytes(flipped))
    (run_dir / runs.STATE_PREV).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"state\.msgpack is truncated or corrupt") as error:
        training.read_saved_state(run_dir)
    assert "state.prev.msgpack is not a jaxinv training state" in str(error.value)

    for name in (runs.STATE, runs.STATE_PREV):
        (run_dir / name).unlink()
    with pytest.raises(FileNotFoundError, match="holds no training state"):
        training.resume_run(run_dir, progress=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(seeds=3), "seeds=2 there but 3 here"),
        (lambda c: c["overrides"].update(lr=0.5), "config.lr="),
        (lambda c: c["overrides"].update({"env.periods": 6}), "env_config.periods=5 there"),
    ],
)
def test_state_of_another_run_is_refused(runs_of, tmp_path, change, message):
    _, _, interrupted, _, _ = runs_of
    run_dir = tmp_path / "run"
    shutil.copytree(interrupted, run_dir)
    config = json.loads((run_dir / runs.CONFIG).read_text())
    change(config)
    (run_dir / runs.CONFIG).write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message) as error:
        training.resume_run(run_dir, progress=False)
    assert "state.msgpack was saved by another run" in str(error.value)


def test_state_whose_arrays_do_not_fit_is_named(runs_of, tmp_path):
    algo, _, interrupted, _, _ = runs_of
    saved = training.read_saved_state(interrupted)
    overrides = training.resolved_overrides(ENV, algo, CONFIGS[algo])
    built = training.build(ENV, algo, overrides)
    meta = training.state_meta(
        ENV, algo, overrides, built.config, built.learner, seeds=SEEDS, seed=0
    )
    template = jax.eval_shape(
        jax.vmap(built.learner.init), jax.random.split(jax.random.PRNGKey(0), SEEDS)
    )
    assert training.restore_state(saved, template, meta) is not None
    saved.state["key"] = np.zeros((SEEDS, 3), np.uint32)  # a key of another shape
    with pytest.raises(ValueError, match=r"state.msgpack does not hold .*\.key is \(2, 3\)"):
        training.restore_state(saved, template, meta)


def test_crash_while_writing_a_state_keeps_the_previous_one(tmp_path, monkeypatch, capsys):
    runs.write_state(tmp_path, b"first state")
    runs.write_state(tmp_path, b"second state")
    replace = os.replace

    def crash_at(step: str):
        def failing_replace(src, dst):
            if (step == "old aside" and str(src).endswith(runs.STATE)) or (
                step == "new in place" and str(src).endswith(".tmp")
            ):
                raise OSError(f"simulated crash: {step}")
            return replace(src, dst)

        return failing_replace

    # Crash once the new state is complete in the temporary file, before any rename.
    monkeypatch.setattr(os, "replace", crash_at("old aside"))
    with pytest.raises(OSError, match="simulated crash"):
        runs.write_state(tmp_path, b"third state")
    assert (tmp_path / (runs.STATE + ".tmp")).exists()
    assert runs.read_state(tmp_path) == (tmp_path / runs.STATE, b"second state")
    # Crash between the renames: the newest name is gone, the previous one still loads.
    monkeypatch.setattr(os, "replace", crash_at("new in place"))
    with pytest.raises(OSError, match="simulated crash"):
        runs.write_state(tmp_path, b"third state")
    assert not (tmp_path / runs.STATE).exists()
    assert runs.read_state(tmp_path) == (tmp_path / runs.STATE_PREV, b"second state")
    assert "state.msgpack not found; using" in capsys.readouterr().err
    monkeypatch.setattr(os, "replace", replace)
    runs.write_state(tmp_path, b"third state")  # and the next write recovers
    assert runs.read_state(tmp_path) == (tmp_path / runs.STATE, b"third state")


def test_cli_resume_finishes_the_run_then_says_it_is_finished(ppo_runs, tmp_path, capsys):
    """The CLI path is the same for every algorithm; PPO's run goes through it."""
    _, reference, crashed, resumed, output = ppo_runs
    assert "ppo greedy policy: mean return" in output and str(resumed) in output
    summary = json.loads((resumed / runs.SUMMARY).read_text())
    assert summary["resumed_at"] == [20] and summary["eval"]["episodes"] == 4 * SEEDS
    assert not (resumed / runs.STATE_PREV).exists()  # a finished run keeps its final state only
    loaded = training.load_run(resumed)  # checkpoint.msgpack holds the final parameters
    final = training.read_saved_state(reference).state["agent"]
    assert jax.tree.structure(final) == jax.tree.structure(to_state_dict(loaded.agent))
    learned = jax.tree.leaves(to_state_dict(loaded.agent))
    for a, b in zip(jax.tree.leaves(final), learned, strict=True):
        assert np.array_equal(a, b)

    cli.main(["train", "--resume", str(resumed), "--quiet"])
    captured = capsys.readouterr()
    assert "finished already (50 of 50 updates)" in captured.err
    assert "ppo greedy policy: mean return" in captured.out
    assert json.loads((resumed / runs.SUMMARY).read_text()) == summary  # not evaluated again

    with pytest.raises(SystemExit, match=r"--algo dqn \(the run has ppo\)"):
        cli.main(["train", "--resume", str(crashed), "--algo", "dqn"])
    with pytest.raises(SystemExit, match=r"--set lr=0.5 \(the run has its default\)"):
        cli.main(["train", "--resume", str(crashed), "--set", "lr=0.5"])
    with pytest.raises(SystemExit, match="checkpoint_every=0 must be at least 1"):
        cli.main(["train", "--algo", "ppo", "--out", str(tmp_path / "x"), "--checkpoint-every=0"])
    assert not (tmp_path / "x").exists()


def test_cli_resume_takes_over_a_killed_runs_lock_and_the_finished_run_is_guarded(
    ppo_runs, tmp_path, capsys
):
    """A process killed while training leaves its lock file behind (pid dead): ``--resume``
    takes it over and finishes; ``train --out`` on the finished run is then refused, naming
    it, until ``--overwrite``."""
    _, _, crashed, _, _ = ppo_runs
    run_dir = tmp_path / "run"
    shutil.copytree(crashed, run_dir)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = {"pid": dead.pid, "host": runs.platform.node(), "command": "train"}
    (run_dir / runs.LOCK).write_text(json.dumps(lock))
    cli.main(["train", "--resume", str(run_dir), "--quiet", "--episodes", "4"])
    captured = capsys.readouterr()
    assert f"took over the lock of pid {dead.pid}" in captured.err
    assert "ppo greedy policy: mean return" in captured.out
    assert not (run_dir / runs.LOCK).exists()
    argv = ["train", "--algo", "ppo", "--out", str(run_dir), "--quiet"]
    with pytest.raises(SystemExit, match="finished jaxinv train run") as refused:
        cli.main(argv)
    assert "(ppo on InvManagement-v1, 2 seeds, 1,000 env steps)" in str(refused.value)
    assert "--overwrite" in str(refused.value)
    assert json.loads((run_dir / runs.SUMMARY).read_text())["resumed_at"] == [20]


def test_a_prime_update_count_runs_in_about_log_chunks_and_resumes_bitwise(tmp_path):
    """61 updates (a prime) run as 30 chunks of 2 and a remainder of 1 (about LOG_CHUNKS rows
    per seed, not 61); a crash after update 24 resumes from the state saved at 20 and ends
    bitwise where the uninterrupted run ends, with the same rows. A state that says it
    stopped between chunk ends is refused. (Both runs stop before evaluating.)"""
    config = {**CONFIGS["ppo"], "total_steps": 61 * 20, "update_epochs": 1}
    sizes = [2] * 30 + [1]
    assert training.chunk_sizes(61) == sizes
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"

    def on_chunk(done: int) -> None:
        if done == 24:
            shutil.copytree(reference, crashed)
        if done == 61:
            raise Interrupt(done)

    with pytest.raises(Interrupt):
        training.train_run(
            ENV, "ppo", config, reference, seeds=SEEDS, progress=False, checkpoint_every=10,
            on_chunk=on_chunk,
        )  # fmt: skip
    rows = runs.read_metrics(reference / runs.METRICS)
    assert len(rows) == len(sizes) * SEEDS == 62
    assert [r["update"] for r in rows if r["seed"] == 0] == list(np.cumsum(sizes))
    saved = training.read_saved_state(crashed)
    assert saved.progress["updates"] == 20
    with pytest.raises(Interrupt):
        training.resume_run(crashed, progress=False, on_chunk=stop_after(61))
    want, got = training.read_saved_state(reference), training.read_saved_state(crashed)
    assert want.progress["updates"] == got.progress["updates"] == 61
    assert got.progress["resumed_at"] == [20]
    for a, b in zip(jax.tree.leaves(want.state), jax.tree.leaves(got.state), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert without_wall_times(got.progress["rows"]) == without_wall_times(want.progress["rows"])
    saved.progress["updates"] = 21  # not the end of a chunk
    with pytest.raises(ValueError, match="21 updates were done: not the end of a chunk"):
        training.check_meta(saved, saved.meta)


def test_checkpoints_false_saves_the_final_state_only(tmp_path):
    """``train_run(checkpoints=False)`` writes no training state until the end, then the
    final one, which a resume recognises as finished training."""
    config = {**CONFIGS["ppo"], "total_steps": 8 * 20, "update_epochs": 1}
    seen = []

    def on_chunk(done: int) -> None:
        seen.append((done, (tmp_path / runs.STATE).exists()))
        if done == 8:
            raise Interrupt(done)

    with pytest.raises(Interrupt):
        training.train_run(
            ENV, "ppo", config, tmp_path, seeds=SEEDS, progress=False, checkpoint_every=1,
            checkpoints=False, on_chunk=on_chunk,
        )  # fmt: skip
    assert seen == [(n, n == 8) for n in range(1, 9)]
    assert training.read_saved_state(tmp_path).progress["updates"] == 8
    assert not (tmp_path / runs.STATE_PREV).exists()
    assert json.loads((tmp_path / runs.CONFIG).read_text())["checkpoints"] is False
