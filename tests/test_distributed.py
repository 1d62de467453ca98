"""Training over several devices and processes gives what one device gives.

JAX fixes the number of CPU devices when it starts, so the multi-device runs happen in child
processes started with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``: this file run
as a script (``worker``) trains each tiny config on 1 and on 4 devices and writes what the
tests compare. Two ``jaxinv train`` processes on localhost (2 devices each, gloo between them)
make the multi-process run.

Tolerance: the runs agree to float rounding, not bitwise. Split over devices, sums (the
gradient's mean over the batch, the normalisers' batch moments) are reduced in another order
and float32 addition is not associative; a few hundred Adam steps carry differences of about
1e-7 up to about 1e-5 relative (seen here: at most 5e-5 relative). RTOL = 1e-3 leaves room
for that while a real error (a device's envs left out of the gradient, a wrong key) moves the
parameters by far more.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import flax.serialization
import jax
import numpy as np
import pytest

from jaxinv import cli, distributed

ENV_ID = "InvManagement-v1"
ENV = {"env.periods": 5}
# 8 envs x 5 periods = 40 env steps an update, 20 updates.
TINY = {
    "ppo": {"total_steps": 800, "num_envs": 8, "num_steps": 5, "num_minibatches": 2},
    "dqn": {
        "total_steps": 800,
        "num_envs": 8,
        "num_steps": 5,
        "learning_starts": 200,
        "buffer_size": 400,
        "batch_size": 32,
    },
}
HIDDEN = {"hidden": [16, 16]}
EPISODES = 20
SEEDS = 2
RTOL, ATOL = 1e-3, 1e-5
FORCED = 4  # host devices of the single-process child
ROOT = Path(__file__).resolve().parents[1]
# Compiling dominates these tiny runs; LLVM's cheap settings cut it about threefold. Every
# child (the references included) uses them, so the comparisons are like with like.
FAST_COMPILE = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"


def overrides(algo: str) -> dict:
    return {**ENV, **TINY[algo], **HIDDEN}


def child_env(devices: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAXINV_")}
    env[cli.CACHE_VAR] = os.environ.get(cli.CACHE_VAR, "0")  # never the user's cache
    env["XLA_FLAGS"] = f"{distributed.HOST_DEVICE_FLAG}={devices} {FAST_COMPILE}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def assert_trees_close(a, b) -> None:
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=RTOL, atol=ATOL)


def read_checkpoint(run_dir: Path):
    return flax.serialization.msgpack_restore((run_dir / "checkpoint.msgpack").read_bytes())


# -- what the 4-device child does ----------------------------------------------------------------


def train_layout(algo: str, seeds: int, devices: int):
    """Train ``overrides(algo)`` on ``devices`` devices as ``train_run`` lays it out; returns
    the agent before and after training (host arrays), the layout, how the initial state lay
    (read before the chunk donates it) and the compiled chunk's text."""
    from jaxinv import training
    from jaxinv.agents import base

    built = training.build(ENV_ID, algo, overrides(algo))
    layout = distributed.Layout.plan(seeds, built.config.num_envs, devices)
    learner = layout.learner(built.learner)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    state = layout.put(jax.jit(jax.vmap(learner.init))(keys))
    initial = layout.gather(learner.agent(state))
    laid = {}
    if layout.mesh is not None and hasattr(state, "replay"):
        obs = state.batch.obs  # (seeds, num_envs, obs_size)
        laid = {
            "mode": layout.mode,
            "obs_spec": str(obs.sharding.spec),
            "shard_shape": list(obs.addressable_shards[0].data.shape),
            "replay_shard_shape": list(state.replay.data.obs.addressable_shards[0].data.shape),
            "replay_shape": list(state.replay.data.obs.shape),
        }
    run = jax.vmap(lambda s: base.run(learner, s, learner.num_updates))
    compiled = layout.compile_chunk(run, state)
    final, _ = compiled(state)  # donates state
    return initial, layout.gather(learner.agent(final)), laid, compiled.as_text()


def assert_trained_apart(initial, final, seeds: int = SEEDS) -> None:
    """Negative controls for the 1-vs-N comparisons: training moved the parameters by far more
    than the tolerance (a zero learning rate or a broken schedule would pass a closeness test
    on both sides), and seed 0 and seed 1 learned different parameters."""
    # Per leaf, the largest change in units of the tolerance (seen: 800 to 5,000).
    moved = [
        float((np.abs(y - x) / (ATOL + RTOL * np.abs(x))).max())
        for x, y in zip(leaves(initial), leaves(final), strict=True)
    ]
    assert min(moved) > 100, moved
    if seeds > 1:  # (the observation count is the same for both, hence "most leaves")
        apart = [not np.allclose(y[0], y[1], rtol=RTOL, atol=ATOL) for y in leaves(final)]
        assert sum(apart) > len(apart) / 2, apart


def worker(out: Path) -> None:
    """Runs in a child with FORCED host devices; writes ``out/report.json`` and run dirs."""
    from jaxinv import training

    report: dict = {"device_count": jax.device_count()}
    # PPO, two seeds, end to end with evaluation: on one device; on two (a seed each); on
    # four (4 does not divide 2 seeds: each seed's 8 envs split two to a device).
    for devices in (1, 2, FORCED):
        training.train_run(
            ENV_ID,
            "ppo",
            overrides("ppo"),
            out / f"ppo_{devices}",
            seeds=SEEDS,
            episodes=EPISODES,
            progress=False,
            devices=devices,
        )
    # The PPO runs' initial parameters, for the negative control.
    built = training.build(ENV_ID, "ppo", overrides("ppo"))
    keys = jax.random.split(jax.random.PRNGKey(0), SEEDS)
    initial = built.learner.agent(training.init_seeds(built.learner, keys))
    (out / "ppo_initial.msgpack").write_bytes(flax.serialization.to_bytes(initial))
    # DQN (replay buffer, target network), one seed, its envs split over four devices.
    _, ref, _, _ = train_layout("dqn", 1, 1)
    dqn_initial, agent, laid, text = train_layout("dqn", 1, FORCED)
    np.savez(out / "dqn_initial.npz", *leaves(dqn_initial))
    np.savez(out / "dqn_1.npz", *leaves(ref))
    np.savez(out / f"dqn_{FORCED}.npz", *leaves(agent))
    report["dqn_envs"] = {**laid, "all_reduce": "all-reduce" in text}
    seeds_layout = distributed.Layout.plan(SEEDS, 8, 2)
    typed_keys = jax.random.split(jax.random.key(7), SEEDS)  # new-style keys travel too
    placed = seeds_layout.put({"x": jax.numpy.zeros((SEEDS, 8, 3)), "key": typed_keys})
    report["seeds"] = {
        "mode": seeds_layout.mode,
        "shard_shape": list(placed["x"].addressable_shards[0].data.shape),
        "key_shards": len(placed["key"].addressable_shards),
        "keys_kept": bool(
            (jax.random.key_data(placed["key"]) == jax.random.key_data(typed_keys)).all()
        ),
    }
    # Bad layouts are refused before anything is compiled.
    for name, num_envs, devices in [("indivisible", 6, FORCED), ("too_many", 8, FORCED + 1)]:
        try:
            distributed.Layout.plan(1, num_envs, devices)
            report[name] = None
        except ValueError as error:
            report[name] = str(error)
    (out / "report.json").write_text(json.dumps(report))


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("devices")
    result = subprocess.run(
        [sys.executable, __file__, "worker", str(out)],
        env=child_env(FORCED),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("devices", [2, FORCED], ids=["seeds split", "envs split"])
def test_ppo_on_several_devices_matches_one_device_params_and_eval(four_devices, devices):
    one, many = four_devices / "ppo_1", four_devices / f"ppo_{devices}"
    assert report(four_devices)["device_count"] == FORCED
    assert_trees_close(read_checkpoint(one), read_checkpoint(many))
    initial = flax.serialization.msgpack_restore(
        (four_devices / "ppo_initial.msgpack").read_bytes()
    )
    assert_trained_apart(initial, read_checkpoint(one))
    returns_1 = np.load(one / "eval_returns.npy")  # (seeds, episodes)
    returns_n = np.load(many / "eval_returns.npy")
    assert returns_1.shape == (SEEDS, EPISODES)
    np.testing.assert_allclose(returns_1, returns_n, rtol=RTOL, atol=ATOL)
    assert json.loads((many / "summary.json").read_text())["devices"] == devices


def test_dqn_envs_split_matches_one_device(four_devices):
    ref = np.load(four_devices / "dqn_1.npz")
    got = np.load(four_devices / f"dqn_{FORCED}.npz")
    initial = np.load(four_devices / "dqn_initial.npz")
    assert list(ref) == list(got) == list(initial)
    for key in ref:
        np.testing.assert_allclose(ref[key], got[key], rtol=RTOL, atol=ATOL, err_msg=key)
    assert_trained_apart([initial[k] for k in initial], [ref[k] for k in ref], seeds=1)


def test_layouts_split_what_they_say(four_devices):
    got = report(four_devices)
    # Two seeds on two devices: one seed each, all of it.
    assert got["seeds"] == {
        "mode": "seeds",
        "shard_shape": [1, 8, 3],
        "key_shards": 2,
        "keys_kept": True,
    }
    # One seed on four devices: the 8 envs two to a device, the replay buffer whole on each,
    # and the partitioner reduces across devices.
    dqn = got["dqn_envs"]
    assert dqn["mode"] == "envs"
    assert dqn["obs_spec"] == "P(None, 'devices')"
    assert dqn["shard_shape"][:2] == [1, 8 // FORCED]
    assert dqn["replay_shard_shape"] == dqn["replay_shape"]
    assert dqn["all_reduce"]


def test_bad_layouts_name_the_flag_and_the_limits(four_devices):
    got = report(four_devices)
    assert "--devices=4" in got["indivisible"] and "num_envs=6" in got["indivisible"]
    assert "--devices=5" in got["too_many"] and "jax.device_count() is 4" in got["too_many"]


def test_more_devices_than_available_is_refused_in_process():
    with pytest.raises(ValueError, match=r"--devices=.* jax.device_count\(\) is"):
        distributed.Layout.plan(1, 8, jax.device_count() + 1)
    with pytest.raises(ValueError, match=r"--devices=0 must be an integer in \[1, "):
        distributed.Layout.plan(1, 8, 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_together(commands: list[tuple[list[str], dict[str, str]]], timeout: int = 400) -> list[str]:
    """Start every ``(argv, environment)`` at once, wait for all of them (killing any still
    running after ``timeout`` s), check that each succeeded; their outputs, in order."""
    procs = [
        subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        for argv, env in commands
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output[-4000:]
    return outputs


def test_two_processes_match_one_process(four_devices, tmp_path):
    """Two ``jaxinv train`` processes (2 devices each, --devices 4): each seed's envs split
    over both; process 0 alone writes, and its result is the one-process run's."""
    address = f"127.0.0.1:{free_port()}"
    sets = [f"--set={k}={json.dumps(v)}" for k, v in overrides("ppo").items()]
    args = ["train", "--algo", "ppo", *sets, "--episodes", str(EPISODES), "--quiet"]
    args += ["--seeds", str(SEEDS), "--devices", "4"]
    flags = ["--coordinator", address, "--num-processes", "2", "--process-id", "0"]
    by_env = {  # process 1 takes its settings from the environment instead
        "JAXINV_COORDINATOR": address,
        "JAXINV_NUM_PROCESSES": "2",
        "JAXINV_PROCESS_ID": "1",
    }
    command = [sys.executable, "-m", "jaxinv.cli", *args]
    outputs = run_together(
        [
            ([*command, "--out", str(tmp_path / "p0"), *flags], child_env(2)),
            ([*command, "--out", str(tmp_path / "p1")], child_env(2, **by_env)),
        ]
    )
    means = [re.search(r"process (\d) of 2: .* mean return (\S+)", o) for o in outputs]
    assert [m.group(1) for m in means] == ["0", "1"], outputs
    assert means[0].group(2) == means[1].group(2)  # both evaluated the same agent
    assert not (tmp_path / "p1").exists()  # only process 0 writes
    assert json.loads((tmp_path / "p0" / "summary.json").read_text())["devices"] == 4
    assert_trees_close(read_checkpoint(four_devices / "ppo_1"), read_checkpoint(tmp_path / "p0"))
    np.testing.assert_allclose(
        np.load(four_devices / "ppo_1" / "eval_returns.npy"),
        np.load(tmp_path / "p0" / "eval_returns.npy"),
        rtol=RTOL,
        atol=ATOL,
    )


# -- multi-process settings ----------------------------------------------------------------------


def test_cluster_flags_win_over_environment():
    environ = {
        "JAXINV_COORDINATOR": "10.0.0.1:1234",
        "JAXINV_NUM_PROCESSES": "4",
        "JAXINV_PROCESS_ID": "3",
    }
    assert distributed.cluster_from(environ=environ) == distributed.Cluster("10.0.0.1:1234", 4, 3)
    assert distributed.cluster_from(None, None, 1, environ) == distributed.Cluster(
        "10.0.0.1:1234", 4, 1
    )
    assert distributed.cluster_from(environ={}) is None


@pytest.mark.parametrize(
    "given, message",
    [
        (("localhost:99", 2, None), r"--process-id \(or JAXINV_PROCESS_ID\) is needed"),
        (("localhost", 2, 0), r"--coordinator='localhost' must be HOST:PORT"),
        (("localhost:70000", 2, 0), r"PORT in \[1, 65535\]"),
        (("localhost:99", 0, 0), r"--num-processes=0 must be at least 1"),
        (("localhost:99", 2, 2), r"--process-id=2 must be in \[0, 1\]"),
    ],
)
def test_bad_cluster_settings_name_the_flag(given, message):
    with pytest.raises(ValueError, match=message):
        distributed.cluster_from(*given, environ={})


def test_cli_reports_bad_devices_and_cluster(tmp_path, monkeypatch):
    for name in distributed.ENV_VARS.values():  # else the CLI could relaunch pytest itself
        monkeypatch.delenv(name, raising=False)
    base_args = ["train", "--algo", "ppo", "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit, match=r"--devices=0 must be an integer"):
        cli.main([*base_args, "--devices", "0"])
    with pytest.raises(SystemExit, match=r"--coordinator \(or JAXINV_COORDINATOR\) is needed"):
        cli.main([*base_args, "--num-processes", "2", "--process-id", "0"])


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(Path(sys.argv[2]))
