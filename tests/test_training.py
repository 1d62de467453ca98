"""Training runs end to end on a small chain: learning beats the constant-order policy by a
margin noise cannot explain, run directories follow the contract, checkpoints round-trip, and
the CLI names bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from jaxinv import baselines, cli, evaluate, families, runs, training

ENV = "InvManagement-v1"
# Two stages, ten periods, Poisson(10) retail demand; starting stock costly to hold, so
# ordering mean demand every period (the constant baseline) is far from optimal.
SMALL_ENV = {
    "env.periods": 10,
    "env.I0": [40, 40],
    "env.p": 3.0,
    "env.r": [1.5, 1.0, 0.5],
    "env.k": [0.2, 0.1, 0.05],
    "env.h": [0.5, 0.3],
    "env.c": [30, 30],
    "env.L": [1, 2],
    "env.dist_param": {"mu": 10},
}
PPO_SMALL = {
    **SMALL_ENV,
    "total_steps": 120_000,
    "num_envs": 100,
    "num_steps": 10,
    "num_minibatches": 2,
    "hidden": [32, 32],
    "lr": 3e-3,
}
EPISODES = 500


def tuned_for(env_id: str, algo: str) -> dict:
    """The tuned-defaults table's entry for ``(env_id, algo)``: the one line here that knows
    where the table lives."""
    return families.family_of(env_id).tuned_for(algo)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppo_run")
    summary = training.train_run(ENV, "ppo", PPO_SMALL, out, episodes=EPISODES, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def constant_baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("constant")
    return out, baselines.baseline_run(ENV, "constant", SMALL_ENV, out, episodes=EPISODES)


def test_ppo_beats_constant_order_by_more_than_noise(trained, constant_baseline):
    run_dir, summary = trained
    base_dir, base_summary = constant_baseline
    assert base_summary["params"] == {"quantity": [10.0, 10.0]}
    ours = evaluate.summarize(np.load(run_dir / "eval_returns.npy")[0], summary["eval_crn"])
    theirs = evaluate.summarize(np.load(base_dir / "eval_returns.npy")[0], base_summary["eval_crn"])
    diff = evaluate.paired_difference(ours, theirs)
    # The paired CI excludes zero, and the gain is a real one: over 5% of the baseline.
    assert diff.ci95[0] > 0.05 * abs(theirs.mean), (ours.mean, theirs.mean, diff)


def test_run_directory_follows_the_contract(trained):
    run_dir, summary = trained
    on_disk = json.loads((run_dir / runs.SUMMARY).read_text())
    for key in ("command", "env", "algo", "config", "eval", "total_steps", "wall_s", "compile_s"):
        assert key in on_disk
    assert tuple(on_disk) == runs.RUN_SUMMARY_KEYS
    assert on_disk["eval"]["episodes"] == EPISODES
    # The eval block describes the returns on disk: their mean, and a t-interval of the width
    # their spread and number give.
    returns = np.load(run_dir / "eval_returns.npy").reshape(-1)
    lo, hi = on_disk["eval"]["ci95"]
    assert on_disk["eval"]["mean"] == pytest.approx(returns.mean(), rel=1e-12)
    t = stats.t.ppf(0.975, returns.size - 1)
    assert hi - lo == pytest.approx(2 * t * returns.std(ddof=1) / np.sqrt(returns.size))
    assert on_disk["config"]["lr"] == pytest.approx(3e-3)
    assert on_disk["env_config"]["periods"] == 10
    rows = runs.read_metrics(run_dir / runs.METRICS)
    assert rows[-1]["env_steps"] == summary["total_steps"] == 120_000
    assert all(np.isfinite(r["episode_return"]) for r in rows if "episode_return" in r)
    assert (run_dir / "learning_curve.png").stat().st_size > 10_000


def test_checkpoint_round_trip_gives_the_same_policy(trained):
    run_dir, summary = trained
    loaded = training.load_run(run_dir)
    (result,) = training.evaluate_agents(loaded.built, loaded.agent, EPISODES)
    np.testing.assert_array_equal(result.returns, np.load(run_dir / "eval_returns.npy")[0])
    assert result.mean == pytest.approx(summary["eval"]["mean"], abs=1e-9)


def test_corrupt_or_mismatched_checkpoint_is_named(trained, tmp_path):
    run_dir, _ = trained
    (tmp_path / runs.CONFIG).write_text((run_dir / runs.CONFIG).read_text())
    (tmp_path / runs.CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"checkpoint\.msgpack does not match"):
        training.load_run(tmp_path)
    config = json.loads((run_dir / runs.CONFIG).read_text())
    config["overrides"]["hidden"] = [8, 8]
    (tmp_path / runs.CONFIG).write_text(json.dumps(config))
    (tmp_path / runs.CHECKPOINT).write_bytes((run_dir / runs.CHECKPOINT).read_bytes())
    with pytest.raises(ValueError, match="does not match the run's config"):
        training.load_run(tmp_path)


def test_cli_evaluate_pairs_with_a_baseline(trained, constant_baseline, capsys):
    run_dir, _ = trained
    base_dir, _ = constant_baseline
    cli.main(["evaluate", "--run", str(run_dir), "--against", str(base_dir)])
    out = capsys.readouterr().out
    assert "minus constant" in out and "better" in out
    report = json.loads((run_dir / "evaluate_greedy.json").read_text())
    assert report["against"]["pairs"][0]["ci95"][0] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--algo", "pp0", "--out", "X"], "unknown algorithm 'pp0'. Did you mean 'ppo'?"),
        (["train", "--env", "InvManagment-v1", "--algo", "ppo", "--out", "X"], "Did you mean"),
        (["train", "--algo", "ppo", "--set", "lr=7", "--out", "X"], "'lr'=7.0 must be in"),
        (["train", "--algo", "a2c", "--set", "env.periods=0", "--out", "X"], "'periods'=0"),
        (["baseline", "--policy", "sS", "--out", "X"], "unknown policy 'sS'"),
        (["baseline", "--policy", "constant", "--set", "qty=3"], "unknown option(s) 'qty'"),
        (["evaluate", "--run", "/nonexistent/run"], "config.json not found"),
    ],
)
def test_cli_names_bad_input(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert message in str(exit_info.value)
    assert not (tmp_path / "X").exists()


def test_retail_baselines_score_on_the_test_years(tmp_path):
    """sS at given levels (the search is tested in test_s_S) and the DP optimum are both
    scored on the 100 test years, the same episodes; the optimum's expected profit is reported
    and beats the (s, S) policy there."""
    s_S = baselines.baseline_run("RetailStore-v0", "sS", {"s": 15, "S": 32}, tmp_path / "sS")
    dp = baselines.baseline_run("RetailStore-v0", "dp", {}, tmp_path / "dp")
    assert s_S["params"] == {"s": 15, "S": 32}
    assert s_S["eval"]["episodes"] == dp["eval"]["episodes"] == 100
    assert round(s_S["eval"]["mean"], 2) == 17_202.08
    assert s_S["eval_crn"] == dp["eval_crn"]
    assert dp["expected_return"] > s_S["eval"]["mean"] + 5_000
    diff = evaluate.paired_difference(
        evaluate.summarize(np.load(tmp_path / "dp" / "eval_returns.npy")[0], dp["eval_crn"]),
        evaluate.summarize(np.load(tmp_path / "sS" / "eval_returns.npy")[0], s_S["eval_crn"]),
    )
    assert diff.ci95[0] > 0


@pytest.mark.parametrize(
    ("env_id", "algo"),
    [("InvManagement-v1", "ppo"), ("InvManagement-v0", "a2c"), ("RetailStore-v0", "a2c")],
)
def test_tuned_defaults_apply_per_env_family_and_yield_to_the_user(env_id, algo):
    tuned = tuned_for(env_id, algo)
    user = {"gae_lambda": 0.9}
    assert training.resolved_overrides(env_id, algo, {}) == tuned
    assert training.resolved_overrides(env_id, algo, user) == {**tuned, **user}
    # And the learner is built with them: the tuned values, then the user's on top.
    built = training.build(env_id, algo, training.resolved_overrides(env_id, algo, {}))
    for key, value in training.split_overrides(tuned)[1].items():
        assert getattr(built.config, key) == pytest.approx(value)
    mine = training.resolved_overrides(env_id, algo, user)
    assert training.build(env_id, algo, mine).config.gae_lambda == pytest.approx(0.9)


def test_an_update_count_without_divisors_runs_in_about_log_chunks():
    """A prime count of updates trains in about LOG_CHUNKS equal chunks and a remainder (at
    most two compiled sizes), not in one-update chunks; test_resume trains such a run."""
    assert training.chunk_sizes(83) == [2] * 41 + [1]
    assert training.chunk_sizes(1009) == [25] * 40 + [9]
    assert training.chunk_sizes(1000) == [25] * 40
    assert training.chunk_sizes(7) == [1] * 7
    for n in (1, 39, 41, 83, 997, 1009, 123_457):
        sizes = training.chunk_sizes(n)
        assert sum(sizes) == n and len(set(sizes)) <= 2 and len(sizes) <= 2 * training.LOG_CHUNKS
        assert len(sizes) == n or abs(len(sizes) - training.LOG_CHUNKS) <= 2
