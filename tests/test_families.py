"""The family contract: every registered family's declaration is complete and works end to end.

Parametrised over ``jaxinv.families``, so a new family is covered with no new test code: its
ids build with their tiny config, its tuned defaults are valid learner settings, every baseline
fits and is evaluated on the evaluation set, and a tiny ``compare`` runs with its comparison
roles and its own figures. Registration refuses clashes and unknown ids are never guessed.
"""

from __future__ import annotations

import json

import gymnax
import numpy as np
import pytest

import jaxinv
from jaxinv import agents, baselines, compare, families, training

IDS = jaxinv.registered_envs
FAMILIES = {f.name: f for f in families.families()}
BASELINE_CASES = [(env_id, name) for env_id in IDS for name in families.family_of(env_id).baselines]


def smoke(env_id: str) -> dict:
    return dict(families.family_of(env_id).smoke_config[env_id])


def test_every_id_has_one_family_a_tiny_config_and_its_name():
    for env_id in IDS:
        family = families.family_of(env_id)
        assert env_id in family.envs and env_id in family.smoke_config, env_id
        env, _ = jaxinv.make(env_id, **smoke(env_id))
        assert env.name == env_id  # evaluation sets and gymnax look the family up by name
        assert type(gymnax.make(env_id)[0]) is type(env)
    assert sorted(IDS) == sorted(i for f in FAMILIES.values() for i in f.envs)


def test_lookup_is_by_exact_id_with_suggestions():
    # An id that merely starts like a family's must not inherit its baselines or tuning.
    with pytest.raises(ValueError, match=r"unknown environment id 'InvManagement-v2'.*v1"):
        families.family_of("InvManagement-v2")
    with pytest.raises(ValueError, match="unknown environment id"):
        baselines.names("InvManagement-v2")
    with pytest.raises(ValueError, match="unknown environment id"):
        training.resolved_overrides("RetailStore-v9", "dqn", {})


def test_register_refuses_clashes_and_incomplete_declarations():
    factory = families.family_of("InvManagement-v1").envs["InvManagement-v1"]
    with pytest.raises(ValueError, match=r"InvManagement-v1 \(InvManagement\)"):
        families.register(families.Family("Copy", {"InvManagement-v1": factory}))
    with pytest.raises(ValueError, match="named 'RetailStore' is registered"):
        families.register(families.Family("RetailStore", {"Other-v0": factory}))
    with pytest.raises(ValueError, match="compare names baseline 'oracle'"):
        families.register(
            families.Family(
                "Half", {"Half-v0": factory}, compare=families.CompareSpec((), "oracle")
            )
        )
    with pytest.raises(ValueError, match="'Nope-v0' is not one of its env ids"):
        families.register(
            families.Family("Typo", {"Typo-v0": factory}, smoke_config={"Nope-v0": {}})
        )
    assert "Half-v0" not in jaxinv.registered_envs and "Typo-v0" not in jaxinv.registered_envs


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("algo", tuple(agents.ALGORITHMS))
def test_tuned_defaults_are_valid_settings_and_yield_to_the_user(env_id, algo):
    tuned = families.family_of(env_id).tuned_for(algo)
    env_keys = {k: v for k, v in tuned.items() if k.startswith("env.")}
    user = {f"env.{k}": v for k, v in smoke(env_id).items()}
    resolved = training.resolved_overrides(env_id, algo, {**user, "total_steps": 1})
    assert resolved == {**tuned, **user, "total_steps": 1}
    built = training.build(env_id, algo, resolved)  # raises on a key the learner lacks
    for key, value in tuned.items():
        if not key.startswith("env.") and key != "total_steps":
            assert getattr(built.config, key) == pytest.approx(value), key
    for key, value in env_keys.items():
        assert key[4:] in training.split_overrides(resolved)[0], key
        del value


@pytest.mark.parametrize(("env_id", "name"), BASELINE_CASES)
def test_every_baseline_fits_and_is_evaluated_on_the_evaluation_set(env_id, name, tmp_path):
    overrides = {f"env.{k}": v for k, v in smoke(env_id).items()}
    if name == "base_stock" and families.family_of(env_id).name == "InvManagement":
        overrides["paths"] = 20  # the serial chain's simulated search, kept small
    summary = baselines.baseline_run(env_id, name, overrides, tmp_path / name, episodes=4)
    returns = np.load(tmp_path / name / "eval_returns.npy")
    assert returns.shape == (1, 4) and np.isfinite(returns).all()
    assert summary["eval"]["mean"] == pytest.approx(float(returns.mean()))
    assert summary["policy"] == name and isinstance(summary["params"], dict)
    written = json.loads((tmp_path / name / "summary.json").read_text())
    assert written["eval_crn"] == summary["eval_crn"] != ""


def test_fixed_evaluation_sets_use_episodes_or_refuse_them():
    env, params = jaxinv.make("RetailStore-v0", **smoke("RetailStore-v0"))
    first = training.evaluation_set(env, params, 7)
    assert first["params"].demand.shape[0] == 7 and first["batched_params"]
    everything = training.evaluation_set(env, params, None)
    np.testing.assert_array_equal(
        np.asarray(first["params"].demand), np.asarray(everything["params"].demand)[:7]
    )
    with pytest.raises(ValueError, match=r"episodes=101.*choose 1 to 100"):
        training.evaluation_set(env, params, 101)


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_a_tiny_compare_runs_with_the_family_s_roles_and_figures(family_name, tmp_path):
    family = FAMILIES[family_name]
    env_id = next(iter(family.envs))
    sets = {f"env.{k}": v for k, v in smoke(env_id).items()}
    if family.name == "InvManagement":
        sets["base_stock.paths"] = 20  # the serial chain's simulated search, kept small
    out = tmp_path / "cmp"
    summary = compare.compare_run(
        env_id,
        {"ppo": "ppo"},
        out,
        seeds=2,
        total_steps=2 * 16 * 6,
        episodes=4,
        overrides={**sets, "ppo.num_envs": 16, "ppo.num_steps": 6, "ppo.hidden": [8]},
        progress=False,
    )
    rows = {r["policy"]: r for r in summary["table"]}
    assert set(rows) == {*family.compare.baselines, "ppo"}
    spec = family.compare
    assert rows[spec.bound]["kind"] == spec.bound_kind
    assert rows["ppo"]["vs_reference"]["reference"] == spec.reference
    # The bound row is 100% of itself (a cost family: 0% above itself, every other row at or
    # above it), and the oracle/optimum is above every other row.
    if spec.cost_per_period:
        assert rows[spec.bound]["gap_pct"] == pytest.approx(0.0, abs=1e-9)
        assert all(r["gap_pct"] >= -1e-6 for r in rows.values())
    else:
        assert rows[spec.bound]["pct_of_bound"] == pytest.approx(100.0)
    assert all(r["eval"]["mean"] <= rows[spec.bound]["eval"]["mean"] + 1e-6 for r in rows.values())
    for name in ("results.md", "results.csv"):
        assert (out / name).stat().st_size > 0, name
    # The learning curves and each of the family's own figures, drawn and listed.
    assert len(summary["figures"]) == 1 + len(family.figures)
    for name in summary["figures"]:
        assert (out / name).stat().st_size > 0, name
    published = family.published.get(env_id)
    if published is not None:
        assert [p["row"] for p in summary["published"]["rows"]] == [r[0] for r in published.rows]


def test_a_learner_trained_on_another_demand_model_pairs_on_the_evaluation_set():
    # RetailStore's tuned DQN trains on the replayed training year (demand="trace"); it is
    # scored on the same test years as the baselines built with normal demand, so the
    # evaluation's common-random-numbers tags must agree (they differ for the envs' defaults).
    from jaxinv.envs.base import env_fingerprint

    normal = jaxinv.make("RetailStore-v0")
    trace = jaxinv.make("RetailStore-v0", demand="trace", trace="article_train_year")
    assert env_fingerprint(*normal) != env_fingerprint(*trace)
    years = [training.evaluation_set(*pair, None)["params"] for pair in (normal, trace)]
    assert env_fingerprint(normal[0], years[0]) == env_fingerprint(trace[0], years[1])
    cheaper = jaxinv.make("RetailStore-v0", unit_cost=9.0)
    cheaper_years = training.evaluation_set(*cheaper, None)["params"]
    assert env_fingerprint(cheaper[0], cheaper_years) != env_fingerprint(normal[0], years[0])
