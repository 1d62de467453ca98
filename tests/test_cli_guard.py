"""``--out`` never silently loses a run: a directory holding a jaxinv run (or anything else)
is refused before any work, naming what is there and the ways on (``--resume``,
``--overwrite``); ``--overwrite`` replaces it; one process at a time writes a directory (a
lock a crashed process does not leave stuck). The refusals exit before anything trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxinv import cli, runs

ROOT = Path(__file__).resolve().parents[1]
# The cheapest real command that writes a run directory: the constant baseline, 2 episodes.
BASELINE = ["baseline", "--policy", "constant", "--set", "env.periods=5", "--episodes", "2"]


def fake_run(path: Path, command: str, *, finished: bool = True, state: bool = False) -> Path:
    """A run directory as ``command`` leaves it (the files the guard reads), plus a figure."""
    path.mkdir(parents=True)
    record = {"command": command, "env": "InvManagement-v1", "algo": "ppo", "seeds": 4}
    if command == "compare":  # a comparison's own config.json
        record = {**record, "algos": {"ppo": "ppo"}}
    if command == "sweep":  # a sweep's
        record = {**record, "configurations": [{"lr": 0.1}]}
    (path / runs.CONFIG).write_text(json.dumps({**record, "overrides": {}}))
    if finished:
        (path / runs.SUMMARY).write_text(json.dumps({**record, "total_steps": 6000}))
    if state:
        runs.write_state(path, b"a training state")
    (path / "learning_curve.png").write_bytes(b"png")
    return path


def refusal(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    message = str(exit_info.value)
    assert message.startswith("error: ")  # a message, so the exit status is 1
    return message


def test_a_finished_run_is_refused_then_replaced_with_overwrite(tmp_path, capsys):
    out = fake_run(tmp_path / "run", "train", state=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    message = refusal([*BASELINE, "--out", str(out)])
    assert f"--out {out} already holds a finished jaxinv train run (ppo on " in message
    assert "InvManagement-v1, 4 seeds, 6,000 env steps" in message
    assert f"nothing to resume (jaxinv evaluate --run {out})" in message
    assert "--overwrite (deletes what is in" in message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched, no lock left

    cli.main([*BASELINE, "--out", str(out), "--overwrite"])
    assert "constant" in capsys.readouterr().out
    summary = json.loads((out / runs.SUMMARY).read_text())
    assert summary["command"] == "baseline" and summary["eval"]["episodes"] == 2
    # The old run is gone, not mixed in: only the baseline's files remain.
    assert runs.entries(out) == ["eval_returns.npy", "summary.json"]
    assert not (out / runs.LOCK).exists()


@pytest.mark.parametrize(
    ("command", "argv", "words"),
    [
        ("train", ["train", "--algo", "ppo"], "To continue it: jaxinv train --resume"),
        ("sweep", ["sweep", "--algo", "ppo", "--grid", "lr=0.1", "--devices", "1"], "To contin"),
        ("compare", ["compare", "--algos", "ppo"], "To continue it: jaxinv compare --resume"),
    ],
)
def test_an_unfinished_run_of_each_command_is_refused(tmp_path, command, argv, words):
    out = fake_run(tmp_path / "run", command, finished=False, state=command == "train")
    message = refusal([*argv, "--out", str(out)])
    assert f"already holds an unfinished jaxinv {command} run" in message and words in message
    assert not (out / runs.LOCK).exists()


def test_an_unfinished_train_run_without_a_state_is_not_offered_resume(tmp_path):
    out = fake_run(tmp_path / "run", "train", finished=False)
    message = refusal(["train", "--algo", "ppo", "--out", str(out)])
    assert "no training state saved yet" in message and "--resume" not in message


def test_a_directory_of_other_files_is_refused_and_kept_with_overwrite(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    message = refusal([*BASELINE, "--out", str(out)])
    assert "is not empty and holds no jaxinv run (1 entry: notes.txt)" in message
    cli.main([*BASELINE, "--out", str(out), "--overwrite"])
    assert (out / "notes.txt").read_text() == "my notes"  # written into, nothing deleted
    assert (out / runs.SUMMARY).exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--algo", "ppo", "--set", "lr=7"],
        ["sweep", "--algo", "ppo", "--grid", "lr=7", "--devices", "1"],
        ["compare", "--algos", "ppo", "--set", "ppo.lr=7"],
    ],
)
def test_a_bad_setting_with_overwrite_leaves_the_old_run(tmp_path, argv):
    out = fake_run(tmp_path / "run", "train", state=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "'lr'=7.0 must be in" in refusal([*argv, "--out", str(out), "--overwrite"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_and_overwrite_exclude_each_other(tmp_path):
    out = fake_run(tmp_path / "run", "train", finished=False, state=True)
    assert "not both" in refusal(["train", "--resume", str(out), "--overwrite"])


def test_a_live_lock_refuses_and_a_dead_holders_lock_is_taken_over(tmp_path, capsys):
    """A real second process holds the lock; a SIGKILL leaves its lock file behind, naming a
    dead pid, and the next command takes it over."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from jaxinv import runs; runs.lock(sys.argv[1], 'train'); "
            "print('locked', flush=True); time.sleep(60)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        message = refusal(["train", "--algo", "ppo", "--out", str(out)])
        assert f"{out} is being written by pid {holder.pid} on host" in message
        assert "(jaxinv train, since" in message
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((out / runs.LOCK).read_text())["pid"] == holder.pid  # left behind
    capsys.readouterr()
    with runs.locked(out, "train"):
        assert json.loads((out / runs.LOCK).read_text())["pid"] == os.getpid()
        with pytest.raises(runs.Locked, match=f"pid {os.getpid()}"):
            runs.lock(out, "sweep")  # and ours holds too, against any other open
    assert f"took over the lock of pid {holder.pid}" in capsys.readouterr().err
    assert not (out / runs.LOCK).exists()  # released on exit


def test_without_flock_a_lock_holds_while_its_pid_lives(tmp_path, monkeypatch):
    """Where the file system has no flock, the pid and host in the lock file decide."""
    monkeypatch.setattr(runs, "_try_flock", lambda fd: None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "run"
    out.mkdir()
    for pid, host, held in [
        (os.getppid(), runs.platform.node(), True),  # alive, here
        (dead.pid, runs.platform.node(), False),  # dead: stale
        (dead.pid, "elsewhere", True),  # another host: cannot tell, so it holds
    ]:
        (out / runs.LOCK).write_text(json.dumps({"pid": pid, "host": host}))
        if held:
            with pytest.raises(runs.Locked, match=f"pid {pid} on host {host}"):
                runs.lock(out, "train")
        else:
            runs.unlock(runs.lock(out, "train"))


def test_find_run_tells_runs_from_other_files(tmp_path):
    assert runs.find_run(tmp_path / "missing") is None
    (tmp_path / runs.CONFIG).write_text(json.dumps({"name": "another tool's config"}))
    assert runs.find_run(tmp_path) is None
    sweep = {"env": "InvManagement-v1", "algo": "ppo", "configurations": [{}], "seeds": 2}
    (tmp_path / runs.CONFIG).write_text(json.dumps(sweep))
    found = runs.find_run(tmp_path)
    assert (found.command, found.finished, found.resumable) == ("sweep", False, True)
    message = refusal(["baseline", "--policy", "constant", "--out", str(tmp_path)])
    assert "unfinished jaxinv sweep run (ppo on InvManagement-v1, 2 seeds)" in message
    assert f"To continue it: jaxinv sweep --resume {tmp_path}" in message
    (tmp_path / runs.CONFIG).unlink()
    (tmp_path / runs.SUMMARY).write_text(json.dumps({"command": "baseline", "env": "X"}))
    message = refusal(["baseline", "--policy", "constant", "--out", str(tmp_path)])
    assert "finished jaxinv baseline run (X)" in message and "It finished" in message
