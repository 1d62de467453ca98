"""Real crashes: a running ``jaxinv train``, ``sweep`` and ``compare`` subprocess is SIGKILLed
at a seeded random chunk and at the nastiest moments (half-way through writing a training
state; after a sweep group's run directories, before ``groups.json`` lists them), then
``--resume`` finishes it with the uninterrupted run's bits: checkpoints, evaluation returns,
metrics and tables apart from their time columns. Damaged files of each kind of directory are
named, never used.

The kills are deterministic: ``JAXINV_FAULT=POINT:N`` makes the process SIGKILL itself the
N-th time it reaches ``POINT`` (``jaxinv.faults``), so nothing here depends on timing. The
references and the final resumes run in this process; only the killed commands are
subprocesses (about 3 s each to import JAX, plus compiling).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxinv import cli, runs, sweep, training

ROOT = Path(__file__).resolve().parents[1]
ENV = "InvManagement-v1"
SEED = 17  # of the random kill points: random.Random(f"{SEED} {command}")
# 50 updates of 20 env steps in chunks of one, a state every 10 updates.
TRAIN = [
    "train", "--env", ENV, "--algo", "ppo", "--seeds", "2", "--episodes", "4",
    "--checkpoint-every", "10", "--set", "env.periods=5", "--set", "total_steps=1000",
    "--set", "num_envs=4", "--set", "num_steps=5", "--set", "hidden=[8,8]",
    "--set", "num_minibatches=2", "--set", "update_epochs=2",
]  # fmt: skip
# Two compiled groups (num_envs 4: 20 updates; 8: 10 updates) of two configurations each; on
# one device (without --devices, `jaxinv sweep` re-executes itself with one per core).
SWEEP = [
    "sweep", "--env", ENV, "--algo", "ppo", "--seeds", "2", "--episodes", "10", "--devices", "1",
    "--grid", "num_envs=4,8", "--grid", "lr=0.001,0.01", "--set", "env.periods=5",
    "--set", "num_steps=5", "--set", "hidden=[8]", "--set", "num_minibatches=1",
    "--set", "update_epochs=2", "--set", "total_steps=400",
]  # fmt: skip
# One baseline and one learner of 40 updates (24 env steps each), a state every 4 updates.
COMPARE = [
    "compare", "--env", ENV, "--algos", "ppo", "--seeds", "2", "--total-steps", "960",
    "--episodes", "20", "--baselines", "constant", "--set", "env.periods=6",
    "--set", "ppo.num_envs=4", "--set", "ppo.num_steps=6", "--set", "ppo.hidden=[8]",
]  # fmt: skip


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A compilation cache the killed subprocesses share (never the user's): the second one
    loads the programs the first compiled."""
    return tmp_path_factory.mktemp("jax_cache")


def killed(argv: list[str], fault: str, cache: Path) -> subprocess.CompletedProcess:
    """Run ``jaxinv ARGV`` in a subprocess that SIGKILLs itself at ``fault`` (``POINT:N``);
    fails unless it died of that SIGKILL."""
    env = {**os.environ, "JAXINV_FAULT": fault, "PYTHONPATH": str(ROOT)}
    env["JAXINV_COMPILATION_CACHE"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-m", "jaxinv.cli", *argv, "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])
    return done


def quiet_main(argv: list[str]) -> str:
    """``jaxinv ARGV --quiet`` in this process; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        cli.main([*argv, "--quiet"])
    return printed.getvalue()


def read_rows(path: Path, drop: tuple[str, ...] = ()) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def assert_same_state(a: Path, b: Path) -> None:
    """The training states in run directories ``a`` and ``b`` agree bit for bit."""
    want, got = training.read_saved_state(a), training.read_saved_state(b)
    assert want.progress["updates"] == got.progress["updates"]
    for x, y in zip(jax.tree.leaves(want.state), jax.tree.leaves(got.state), strict=True):
        np.testing.assert_array_equal(x, y)


# -- train ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_runs(tmp_path_factory, cache):
    """``(reference, resumed, kill_at)``: an uninterrupted run; the same run SIGKILLed after
    chunk ``kill_at`` (seeded random, not on a checkpoint), resumed and SIGKILLed again half-way
    through writing its first new state, then resumed to the end."""
    base = tmp_path_factory.mktemp("train")
    reference, run = base / "reference", base / "run"
    quiet_main([*TRAIN, "--out", str(reference)])
    kill_at = random.Random(f"{SEED} train").choice([k for k in range(11, 50) if k % 10])
    killed([*TRAIN, "--out", str(run)], f"chunk:{kill_at}", cache)
    saved = training.read_saved_state(run)
    assert saved.progress["updates"] == kill_at // 10 * 10  # the last checkpoint before it
    assert not (run / runs.SUMMARY).exists() and (run / runs.LOCK).exists()
    killed(["train", "--resume", str(run)], "state-write:1", cache)
    tmp = run / (runs.STATE + ".tmp")
    assert 0 < tmp.stat().st_size < saved.path.stat().st_size  # half a state, left behind
    assert training.read_saved_state(run).progress["updates"] == saved.progress["updates"]
    quiet_main(["train", "--resume", str(run)])
    return reference, run, kill_at


def test_train_killed_twice_then_resumed_is_bitwise_the_uninterrupted_run(train_runs):
    reference, run, kill_at = train_runs
    assert_same_state(reference, run)
    assert (run / runs.CHECKPOINT).read_bytes() == (reference / runs.CHECKPOINT).read_bytes()
    np.testing.assert_array_equal(
        np.load(run / "eval_returns.npy"), np.load(reference / "eval_returns.npy")
    )
    assert read_rows(run / runs.METRICS, ("wall_s",)) == read_rows(
        reference / runs.METRICS, ("wall_s",)
    )
    summary = json.loads((run / runs.SUMMARY).read_text())
    last = kill_at // 10 * 10
    assert summary["resumed_at"] == [last]  # the resume killed mid-write saved nothing
    want = json.loads((reference / runs.SUMMARY).read_text())
    assert summary["eval"] == want["eval"] and summary["eval_per_seed"] == want["eval_per_seed"]
    assert not (run / runs.LOCK).exists()


# -- sweep ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_runs(tmp_path_factory, cache):
    """``(reference, resumed)``: an uninterrupted sweep; the same sweep SIGKILLed in a seeded
    random chunk of its second group, resumed and SIGKILLed again once that group's run
    directories were written but before ``groups.json`` listed it, then resumed to the end."""
    base = tmp_path_factory.mktemp("sweep")
    reference, out = base / "reference", base / "sweep"
    quiet_main([*SWEEP, "--out", str(reference)])
    kill_at = random.Random(f"{SEED} sweep").randint(21, 30)  # the first group has 20 chunks
    killed([*SWEEP, "--out", str(out)], f"chunk:{kill_at}", cache)
    assert len(json.loads((out / sweep.GROUPS).read_text())["groups"]) == 1
    killed(["sweep", "--resume", str(out)], "group:1", cache)
    second = json.loads((reference / sweep.GROUPS).read_text())["groups"][1]["configurations"]
    assert all((out / "runs" / f"c{c}" / runs.SUMMARY).exists() for c in second)
    assert len(json.loads((out / sweep.GROUPS).read_text())["groups"]) == 1  # not listed yet
    quiet_main(["sweep", "--resume", str(out)])
    return reference, out


def test_sweep_killed_twice_then_resumed_matches_the_uninterrupted_sweep(sweep_runs):
    reference, out = sweep_runs
    times = ("group_wall_s", "wall_s")  # the retrained group's times
    assert read_rows(out / "results.csv", times) == read_rows(reference / "results.csv", times)
    assert read_rows(out / runs.METRICS, times) == read_rows(reference / runs.METRICS, times)
    for c in range(4):
        run, ref = out / "runs" / f"c{c}", reference / "runs" / f"c{c}"
        np.testing.assert_array_equal(
            np.load(run / "eval_returns.npy"), np.load(ref / "eval_returns.npy")
        )
        assert (run / runs.CHECKPOINT).read_bytes() == (ref / runs.CHECKPOINT).read_bytes()
    want = json.loads((reference / runs.SUMMARY).read_text())
    got = json.loads((out / runs.SUMMARY).read_text())
    assert got["best"] == want["best"] and got["configurations"] == want["configurations"]


# -- compare ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_runs(tmp_path_factory, cache):
    """``(reference, resumed, kill_at)``: an uninterrupted comparison; the same comparison
    SIGKILLed after chunk ``kill_at`` (seeded random) of its learner, then resumed."""
    base = tmp_path_factory.mktemp("compare")
    reference, out = base / "reference", base / "cmp"
    quiet_main([*COMPARE, "--out", str(reference)])
    kill_at = random.Random(f"{SEED} compare").choice([k for k in range(5, 40) if k % 4])
    killed([*COMPARE, "--out", str(out)], f"chunk:{kill_at}", cache)
    assert (out / "constant" / runs.SUMMARY).exists() and not (out / runs.SUMMARY).exists()
    assert training.read_saved_state(out / "ppo").progress["updates"] == kill_at // 4 * 4
    quiet_main(["compare", "--resume", str(out)])
    return reference, out, kill_at


def test_compare_killed_mid_learner_resumes_it_from_its_checkpoint(compare_runs):
    reference, out, kill_at = compare_runs
    learner = json.loads((out / "ppo" / runs.SUMMARY).read_text())
    assert learner["resumed_at"] == [kill_at // 4 * 4]  # not trained again from the start
    assert_same_state(reference / "ppo", out / "ppo")
    for policy in ("constant", "ppo"):
        np.testing.assert_array_equal(
            np.load(out / policy / "eval_returns.npy"),
            np.load(reference / policy / "eval_returns.npy"),
        )
    times = ("train_s", "compile_s", "wall_s")
    assert read_rows(out / "results.csv", times) == read_rows(reference / "results.csv", times)
    assert not (out / "ppo" / runs.STATE_PREV).exists()  # a finished learner keeps one state


# -- damaged files: named, never used ---------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


@pytest.mark.parametrize(
    ("kind", "damage", "message"),
    [
        ("compare", "ppo/eval_returns.npy", r"ppo/eval_returns.npy cannot be read"),
        ("compare", "ppo/state", r"no complete training state to resume from"),
        ("compare", "config.json", r"cmp/config.json is not valid JSON"),
        ("sweep", "groups.json", r"groups.json is not valid JSON"),
        ("sweep", "runs/c0/summary.json", r"c0 of a finished group cannot be read"),
    ],
)
def test_a_truncated_file_is_named_never_used(
    compare_runs, sweep_runs, tmp_path, kind, damage, message
):
    """Each kind of file a resume reads, cut in half in a finished directory, stops the resume
    with a message naming it (before anything trains)."""
    source = compare_runs[1] if kind == "compare" else sweep_runs[1]
    out = tmp_path / source.name
    shutil.copytree(source, out)
    (out / runs.SUMMARY).unlink()  # unfinished: the resume reads its parts back
    if damage == "ppo/state":  # a learner cut short, both its state files damaged
        (out / "ppo" / runs.SUMMARY).unlink()
        shutil.copy(out / "ppo" / runs.STATE, out / "ppo" / runs.STATE_PREV)
        truncate(out / "ppo" / runs.STATE)
        truncate(out / "ppo" / runs.STATE_PREV)
    else:
        truncate(out / damage)
    with pytest.raises(SystemExit, match=message):
        quiet_main([kind, "--resume", str(out)])


def test_fault_points_are_parsed_or_refused():
    from jaxinv import faults

    assert faults.parse("state-write:2") == ("state-write", 2)
    for bad in ("chunk", "chunk:0", ":3", "chunk:x"):
        with pytest.raises(ValueError, match="JAXINV_FAULT"):
            faults.parse(bad)
