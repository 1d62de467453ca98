"""``jaxinv envs``, ``jaxinv.load_policy`` and ``jaxinv recommend``.

``envs`` lists every registered id (read from the registry, so a new family is covered) and,
for one id, every config key the env accepts (as its own ``make`` knows them). A policy read
back with ``load_policy`` acts as the learner's greedy policy (right seed) or the fitted
baseline does; ``recommend`` prints that policy's order on the state built from the user's
fields, and a bad state is refused naming the field. Runs are tiny: a 14-day store, 2 updates.
"""

from __future__ import annotations

import json
import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import baselines, cli, families, training
from jaxinv import recommend as rec
from jaxinv.envs import retail, serial
from jaxinv.envs.validate import ConfigError

RETAIL = "RetailStore-v0"
TINY_PPO = {
    "env.horizon": 14,
    "num_envs": 2,
    "num_steps": 7,
    "total_steps": 28,
    "num_minibatches": 1,
    "update_epochs": 1,
    "hidden": [8],
}
SERIAL = "InvManagement-v0"
TINY_CHAIN = {
    "env.periods": 6,
    "env.I0": [10, 20],
    "env.r": [1.0, 0.5, 0.25],
    "env.k": [0.1, 0.05, 0.02],
    "env.h": [0.1, 0.05],
    "env.c": [15, 12],
    "env.L": [1, 2],
}


def run_cli(argv: list[str], capsys) -> str:
    cli.main(argv)
    return capsys.readouterr().out


def fail_cli(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    return str(caught.value)


# -- jaxinv envs --------------------------------------------------------------------------------


def test_envs_lists_every_registered_id_with_its_description(capsys):
    lines = run_cli(["envs"], capsys).splitlines()
    assert [line.split()[0] for line in lines] == list(jaxinv.registered_envs)
    for env_id, line in zip(jaxinv.registered_envs, lines, strict=True):
        assert families.family_of(env_id).descriptions[env_id] in line


def accepted_keys(env_id: str) -> set[str]:
    """The config keys the env's own ``make`` accepts: those its unknown-key error lists."""
    with pytest.raises(ConfigError, match="Known keys: ") as caught:
        jaxinv.make(env_id, no_such_key_xyz=1)
    return set(str(caught.value).split("Known keys: ")[1].split(", "))


@pytest.mark.parametrize("env_id", jaxinv.registered_envs)
def test_envs_id_prints_every_config_key_the_env_accepts(env_id, capsys):
    doc = families.family_of(env_id).config[env_id]
    assert set(doc.defaults) == accepted_keys(env_id)
    jaxinv.make(env_id, **doc.defaults)  # the declared defaults are the env's
    out = run_cli(["envs", env_id], capsys)
    for key in doc.defaults:
        assert re.search(rf"^  {re.escape(key)} +\S", out, re.M), key
    env, _ = jaxinv.make(env_id)
    assert sum(n for _, n, _ in env.observation_layout()) == env.obs_size
    assert f"{env.obs_size} float32 values" in out
    for name in families.family_of(env_id).baselines:
        assert name in out.split("baselines")[1].splitlines()[0]


def test_envs_describes_the_config_given_and_names_a_bad_id(capsys):
    out = run_cli(["envs", RETAIL, "--set", "observation=full", "--set", "lead_time=3"], capsys)
    assert "12 float32 values" in out and "[1:4]" in out  # on hand, 3 pipeline slots, ...
    assert "Did you mean 'RetailStore-v0'?" in fail_cli(["envs", "RetailStor-v0"])
    assert "'lead_tme'" in fail_cli(["envs", RETAIL, "--set", "lead_tme=3"])


# -- fixtures: a tiny trained run (2 seeds) and baseline directories -----------------------------


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppo_retail")
    training.train_run(RETAIL, "ppo", TINY_PPO, out, seeds=2, episodes=2, progress=False)
    return out


@pytest.fixture(scope="module")
def baseline_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("baselines")
    made = {}
    for name, env_id, overrides in (
        ("sS", RETAIL, {"env.horizon": 14, "max_S": 40}),
        ("dp", RETAIL, {"env.horizon": 14}),
        ("base_stock", SERIAL, {**TINY_CHAIN, "paths": 50}),
        ("oracle", SERIAL, {**TINY_CHAIN, "episodes": 2}),
    ):
        made[name] = baselines.evaluate_baseline(env_id, name, overrides, episodes=2)
        baselines.write_baseline(root / name, made[name])
    return root, made


def retail_states(n: int = 24) -> retail.EnvState:
    """``n`` varied store states (a batch), every weekday and stock level."""
    i = jnp.arange(n)
    return retail.EnvState(
        on_hand=(i * 7 % 45).astype(jnp.float32),
        pipeline=jnp.stack([i * 5 % 21, i * 3 % 13], -1).astype(jnp.float32),
        weekday=(i % 7).astype(jnp.int32),
        time=(i % 14).astype(jnp.int32),
    )


def each(states, fn):
    """``fn`` on every state of a batch, one at a time (no batch axis)."""
    n = states.time.shape[0]
    return np.stack([np.asarray(fn(jax.tree.map(lambda x, i=i: x[i], states))) for i in range(n)])


# -- load_policy -------------------------------------------------------------------------------


def test_load_policy_acts_as_the_learners_greedy_policy_of_each_seed(ppo_run, tmp_path):
    loaded = training.load_run(ppo_run)
    env, params, states = loaded.built.env, loaded.built.params, retail_states()
    obs = jax.vmap(lambda s: env.get_obs(s, params))(states)
    key = jax.random.PRNGKey(0)
    actions = {}
    for seed in (0, 1):
        greedy = loaded.built.learner.policy(training.seed_slice(loaded.agent, seed), True)
        want = np.asarray(greedy(key, obs, states))
        policy = jaxinv.load_policy(ppo_run, seed=seed)
        assert policy.name == f"ppo seed {seed}" and policy.env == env
        np.testing.assert_array_equal(each(states, jax.jit(policy)), want)
        actions[seed] = want
    assert not np.array_equal(actions[0], actions[1])  # the seeds differ, so this could fail
    np.testing.assert_array_equal(each(states, jaxinv.load_policy(ppo_run)), actions[0])
    with pytest.raises(ValueError, match="trained seeds 0 to 1"):
        jaxinv.load_policy(ppo_run, seed=2)
    learner = tmp_path / "compare" / "ppo"  # a comparison's learner: its config says compare
    shutil.copytree(ppo_run, learner)
    config = json.loads((learner / "config.json").read_text())
    (learner / "config.json").write_text(json.dumps({**config, "command": "compare"}))
    np.testing.assert_array_equal(each(states, jaxinv.load_policy(learner, 1)), actions[1])


@pytest.mark.parametrize("name", ["sS", "dp"])
def test_load_policy_on_a_retail_baseline_acts_as_the_fitted_one(baseline_dirs, name):
    root, made = baseline_dirs
    loaded = rec.load_policy(root / name)
    assert loaded.kind == "baseline" and loaded.env_id == RETAIL
    states = retail_states()
    want = np.asarray(made[name].policy(jax.random.PRNGKey(0), None, states))
    assert len(np.unique(want)) > 1  # states where it orders and where it does not
    np.testing.assert_array_equal(each(states, loaded), want)


def test_load_policy_on_a_serial_baseline_rebuilds_its_levels(baseline_dirs):
    root, made = baseline_dirs
    loaded = rec.load_policy(root / "base_stock")
    assert loaded.info["params"] == made["base_stock"].summary["params"]  # not searched anew
    env, params = loaded.env, loaded.params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    states = jax.tree.map(lambda x: jnp.stack([x * f for f in (0.0, 0.3, 1.0)]), state)
    states = states.replace(time=state.time + jnp.arange(3))
    want = np.asarray(made["base_stock"].policy(None, None, states))
    np.testing.assert_array_equal(each(states, loaded), want)


def test_load_policy_refuses_the_oracle_and_a_directory_of_runs(baseline_dirs, tmp_path):
    root, _ = baseline_dirs
    with pytest.raises(ValueError, match="cannot choose an order from today's state"):
        rec.load_policy(root / "oracle")
    with pytest.raises(ValueError, match=r"holds several runs.*base_stock"):
        rec.load_policy(root)
    sweep = tmp_path / "sweep"  # a sweep's own config.json names its algorithm too
    shutil.copytree(root / "sS", sweep / "lr=0.001")
    (sweep / "config.json").write_text(
        json.dumps({"env": RETAIL, "algo": "ppo", "configurations": []})
    )
    with pytest.raises(ValueError, match=r"holds several runs.*lr=0\.001"):
        rec.load_policy(sweep)


# -- recommend ---------------------------------------------------------------------------------


def orders(out: str) -> list[list[float]]:
    """The table rows of a recommendation: [policy, reference] per stage."""
    rows = re.findall(r"^  (?:order|stage \d+) +(.*)$", out, re.M)
    return [[float(x) for x in row.split()] for row in rows]


def test_recommend_orders_what_the_policy_orders_in_the_state_of_the_file(
    ppo_run, baseline_dirs, tmp_path, capsys
):
    root, made = baseline_dirs
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"on_hand": 9, "pipeline": [4, 0], "weekday": "Fri", "day": 3}))
    out = run_cli(
        [
            "recommend",
            "--run",
            str(ppo_run),
            "--state",
            str(path),
            "--set",
            "on_hand=6",
            "--baseline",
            str(root / "sS"),
        ],
        capsys,
    )
    state = retail.EnvState(  # by hand: --set wins over the file
        on_hand=jnp.float32(6),
        pipeline=jnp.asarray([4.0, 0.0]),
        weekday=jnp.int32(4),
        time=jnp.int32(3),
    )
    policy = jaxinv.load_policy(ppo_run)
    s_S = made["sS"].policy(None, None, jax.tree.map(lambda x: x[None], state))[0]
    assert orders(out) == [[float(policy(state)), float(s_S)]]
    assert "on_hand=6 pipeline=[4, 0] weekday=4 time=3" in out


def test_recommend_on_a_serial_chain_orders_per_stage(baseline_dirs, capsys):
    root, made = baseline_dirs
    fields = {"on_hand": [2, 5], "pipeline": [[3], [1, 4]], "backlog": [6, 0, 2], "period": 1}
    argv = ["recommend", "--run", str(root / "base_stock"), "--no-baseline"]
    out = run_cli([*argv, *[f"--set={k}={json.dumps(v)}" for k, v in fields.items()]], capsys)
    state = serial.EnvState(
        on_hand=jnp.asarray([2.0, 5.0]),
        pipeline=jnp.asarray([[3.0, 1.0], [0.0, 4.0]]),  # (W, M): arrival period, stage
        order_log=jnp.asarray([[0.0, 1.0], [3.0, 4.0]]),  # in-transit units, as requested
        unfilled=jnp.asarray([6.0, 0.0, 2.0]),
        time=jnp.int32(1),
    )
    want = made["base_stock"].policy(None, None, jax.tree.map(lambda x: x[None], state))[0]
    assert orders(out) == [[float(x)] for x in np.asarray(want)]
    assert np.asarray(want).sum() > 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"pipeline": [0, 0], "weekday": 1}, "state field 'on_hand' is missing"),
        ({"on_hand": 3, "pipeline": [0, 0], "weekday": 1, "onhand": 2}, "'onhand'.*'on_hand'"),
        ({"on_hand": -1, "pipeline": [0, 0], "weekday": 1}, "'on_hand'=-1 .*>= 0"),
        ({"on_hand": 51, "pipeline": [0, 0], "weekday": 1}, "'on_hand'=51 .*at most 50"),
        ({"on_hand": 3, "pipeline": [1], "weekday": 1}, "'pipeline'=\\[1\\] .*2 entries"),
        ({"on_hand": 3, "pipeline": [1, 21], "weekday": 1}, "'pipeline'.*at most 20"),
        ({"on_hand": 3, "pipeline": [0, 0], "weekday": "Funday"}, "'weekday'='Funday'"),
        ({"on_hand": 3, "pipeline": [0, 0], "weekday": 1, "day": 14}, "'day'=14 .*0 to 13"),
    ],
)
def test_recommend_names_the_field_of_a_bad_state(baseline_dirs, tmp_path, fields, message):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(fields))
    argv = ["recommend", "--run", str(baseline_dirs[0] / "sS"), "--state", str(path)]
    assert re.search(message, fail_cli(argv))


def test_recommend_names_a_bad_state_file_or_a_serial_field(baseline_dirs, tmp_path):
    root = baseline_dirs[0]
    path = tmp_path / "state.json"
    path.write_text("{on_hand: 3")
    assert "is not JSON" in fail_cli(["recommend", "--run", str(root / "sS"), "--state", str(path)])
    path.write_text("[3, 1]")
    assert "not an object" in fail_cli(
        ["recommend", "--run", str(root / "sS"), "--state", str(path)]
    )
    chain = ["recommend", "--run", str(root / "base_stock"), "--no-baseline", "--set=on_hand=[1,1]"]
    for pipeline, message in (
        ("[[1],[1]]", "'pipeline\\[1\\]'=\\[1\\] .*2 entries.*lead time 2"),
        ("[[1],[1,0],[2]]", "'pipeline'.*2 lists, one per stage"),
        ("[[16],[1,0]]", "'pipeline\\[0\\]'=\\[16\\] .*at most 15 "),
    ):
        assert re.search(message, fail_cli([*chain, f"--set=pipeline={pipeline}"])), pipeline
    lost = fail_cli([*chain, "--set=pipeline=[[0],[0,0]]", "--set=lost=[0,0,0]"])
    assert "has no 'lost'; it has 'backlog'" in lost


def test_recommend_fits_the_reference_when_no_baseline_is_given(baseline_dirs, capsys):
    argv = ["recommend", "--run", str(baseline_dirs[0] / "dp"), "--set=on_hand=3"]
    out = run_cli([*argv, "--set=pipeline=[2,0]", "--set=weekday=Sat", "--set=day=5"], capsys)
    s, big_s = map(int, re.search(r"reference: sS s=(\d+) S=(\d+) \(fitted now\)", out).groups())
    assert orders(out)[0][1] == (min(20, big_s - 5) if 5 <= s else 0)  # position 3 + 2


def test_register_refuses_a_config_doc_whose_keys_disagree():
    factory = families.family_of(RETAIL).envs[RETAIL]
    doc = families.ConfigDoc({"price": 30.0, "capacity": 50}, {"price": "$ per case"})
    with pytest.raises(ValueError, match="capacity"):
        families.register(families.Family("Odd", {"Odd-v0": factory}, config={"Odd-v0": doc}))
    assert "Odd-v0" not in jaxinv.registered_envs
