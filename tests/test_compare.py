"""``jaxinv compare``: the table from fake runs, argument errors, and the command end to end."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import shutil

import numpy as np
import pytest

from jaxinv import compare
from jaxinv.cli import main


def _entries(rng: np.random.Generator) -> list[compare.Entry]:
    paths = rng.normal(500.0, 30.0, size=40)  # the shared paths' difficulty
    learner = paths[None] - 20.0 + rng.normal(0, 5, size=(3, 40)) + np.array([[0], [4], [-4]])
    return [
        compare.Entry("oracle", "bound", (paths + 40.0)[None], {"policy": "oracle"}),
        compare.Entry("base_stock", "baseline", (paths - 90.0)[None], {"policy": "base_stock"}),
        compare.Entry(
            "ppo",
            "learner",
            learner,
            {"algo": "ppo", "total_steps": 1000, "train_s": 1.0, "compile_s": 2.0},
        ),
    ]


def test_results_table_from_runs_with_known_answers():
    # 40 paths with mean exactly 500; the oracle is 40 above every path, the base-stock 90
    # below, and the learner's three seeds 20 below with seed offsets 0, +4, -4 (no noise).
    paths = 500.0 + np.repeat([-30.0, -10.0, 10.0, 30.0], 10)
    learner = paths[None] - 20.0 + np.array([[0.0], [4.0], [-4.0]])
    entries = [
        compare.Entry("oracle", "bound", (paths + 40.0)[None], {"policy": "oracle"}),
        compare.Entry("base_stock", "baseline", (paths - 90.0)[None], {"policy": "base_stock"}),
        compare.Entry("ppo", "learner", learner, {"algo": "ppo"}),
    ]
    rows = {r["policy"]: r for r in compare.results_table(entries, "base_stock", "oracle")}
    ppo = rows["ppo"]
    assert ppo["eval"]["mean"] == pytest.approx(480.0)
    assert (ppo["seeds"], ppo["episodes"], ppo["eval"]["episodes"]) == (3, 40, 120)
    assert ppo["pct_of_bound"] == pytest.approx(100 * 480 / 540)  # 88.9% of the oracle's 540
    assert rows["oracle"]["pct_of_bound"] == pytest.approx(100.0)
    # Paired against the base-stock the learner is +70 on every path: a CI of width zero.
    vs = ppo["vs_reference"]
    assert vs["reference"] == "base_stock" and vs["mean"] == pytest.approx(70.0)
    assert vs["ci95"] == pytest.approx([70.0, 70.0])
    assert "vs_reference" not in rows["base_stock"]
    # Seed means 480, 484, 476: sd 4, 95% t-interval 480 -+ 4.303 * 4 / sqrt(3) = -+9.937.
    assert ppo["seed_means"] == pytest.approx([480.0, 484.0, 476.0])
    assert ppo["across_seeds"]["ci95"] == pytest.approx([470.063, 489.937], abs=1e-3)
    assert "across_seeds" not in rows["oracle"]


def test_cost_per_period_table_gives_costs_and_gaps_to_the_optimum():
    """A cost family over 10-period episodes: the optimum costs 4.0 a period on every path,
    base-stock 4.4 and the learner 4.1 (returns are minus the cost of 10 periods)."""
    paths = np.zeros(20)
    entries = [
        compare.Entry("optimal", "optimum", (paths - 40.0)[None], {"policy": "optimal"}),
        compare.Entry("base_stock", "baseline", (paths - 44.0)[None], {"policy": "base_stock"}),
        compare.Entry(
            "ppo",
            "learner",
            (paths - 41.0)[None].repeat(2, 0),
            {"algo": "ppo", "total_steps": 100, "train_s": 1.0, "compile_s": 1.0},
        ),
    ]
    table = compare.results_table(entries, "base_stock", "optimal", periods=10)
    rows = {r["policy"]: r for r in table}
    assert rows["ppo"]["average_cost"]["mean"] == pytest.approx(4.1)
    assert rows["ppo"]["gap_pct"] == pytest.approx(2.5)  # (4.1 - 4.0) / 4.0
    assert rows["base_stock"]["gap_pct"] == pytest.approx(10.0)
    assert rows["optimal"]["gap_pct"] == pytest.approx(0.0)
    assert not any("pct_of_bound" in r for r in table)
    assert rows["ppo"]["vs_reference"]["mean"] == pytest.approx(3.0)  # in episode returns
    text = compare.table_markdown(table, None)
    assert "| gap to optimum |" in text and "| +2.500% |" in text
    assert "4.1000 (4.1000 to 4.1000)" in text


def test_paired_matrix_differences_every_learner_with_every_baseline():
    entries = _entries(np.random.default_rng(3))
    _, ref, learner = (e.returns for e in entries)
    paired = {(p["learner"], p["baseline"]): p for p in compare.paired_matrix(entries)}
    assert set(paired) == {("ppo", "oracle"), ("ppo", "base_stock")}
    vs_ref = paired[("ppo", "base_stock")]
    assert vs_ref["mean"] == pytest.approx((learner.mean(0) - ref[0]).mean())
    np.testing.assert_allclose(vs_ref["per_seed"], (learner - ref).mean(axis=1))
    assert vs_ref["seeds_above"] == 3  # the learner is 70 above the base-stock on every seed
    assert paired[("ppo", "oracle")]["seeds_above"] == 0
    assert paired[("ppo", "oracle")]["ci95"][1] < 0
    md = compare.paired_markdown(compare.paired_matrix(entries))
    assert md.splitlines()[0] == "| learner | minus oracle | minus base_stock |"
    assert "0/3 seeds above" in md and "3/3 seeds above" in md


def test_published_rows_measure_the_gap_in_standard_errors():
    entries = _entries(np.random.default_rng(1))
    table = compare.results_table(entries, reference="base_stock", bound="oracle")
    published = compare.published_rows("InvManagement-v1", table)
    rows = {p["row"]: p for p in published["rows"]}
    oracle = rows["oracle (clairvoyant LP)"]
    mine = entries[0].returns[0]
    assert oracle["difference"] == pytest.approx(mine.mean() - 542.7)
    se = math.hypot(30.0 / math.sqrt(10), mine.std(ddof=1) / math.sqrt(mine.size))
    assert oracle["z"] == pytest.approx(oracle["difference"] / se)
    assert "our_mean" not in rows["shrinking-horizon LP"]  # no shlp row in these runs
    md = compare.table_markdown(table, published)
    assert "| shrinking-horizon LP | 485.40 | (not run) |" in md
    assert md.count("\n| ppo |") == 1
    with pytest.raises(ValueError, match="unknown environment id 'Nope-v0'"):
        compare.published_rows("Nope-v0", table)
    # A learner labelled otherwise stands for its algorithm's published row.
    entries[2].label = "ppo_full"
    relabelled = compare.results_table(entries, reference="base_stock", bound="oracle")
    rows = {p["row"]: p for p in compare.published_rows("InvManagement-v1", relabelled)["rows"]}
    assert rows["PPO (RLlib)"]["ours"] == "ppo_full"
    assert rows["PPO (RLlib)"]["our_mean"] == pytest.approx(entries[2].returns.mean())


def test_write_table_csv_matches_the_table(tmp_path):
    entries = _entries(np.random.default_rng(2))
    table = compare.results_table(entries, reference="base_stock", bound="oracle")
    compare.write_table(tmp_path, "InvManagement-v1", table, None, 3)
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["policy"] for r in rows] == ["oracle", "base_stock", "ppo"]
    assert float(rows[2]["mean"]) == pytest.approx(table[2]["eval"]["mean"], rel=1e-5)
    assert float(rows[2]["seed_ci95_lo"]) == pytest.approx(
        table[2]["across_seeds"]["ci95"][0], rel=1e-5
    )
    assert rows[0]["seed_ci95_lo"] == ""


def test_learner_and_override_parsing():
    assert compare.parse_learners("ppo, a2c,ppo_full=ppo") == {
        "ppo": "ppo",
        "a2c": "a2c",
        "ppo_full": "ppo",
    }
    with pytest.raises(ValueError, match=r"unknown algorithm 'ppp'.*ppo"):
        compare.parse_learners("ppp")
    with pytest.raises(ValueError, match="appears twice"):
        compare.parse_learners("ppo,ppo")
    with pytest.raises(ValueError, match="at least one"):
        compare.parse_learners(" , ")
    shared, own = compare.split_by_target(
        {"env.periods": 5, "ppo.lr": 0.1, "ppo.env.observation": "full", "base_stock.paths": 9},
        ("ppo", "base_stock"),
    )
    assert shared == {"env.periods": 5}
    assert own == {"ppo": {"lr": 0.1, "env.observation": "full"}, "base_stock": {"paths": 9}}
    with pytest.raises(ValueError, match=r"'a2c.lr'.*NAME.KEY"):
        compare.split_by_target({"a2c.lr": 0.1}, ("ppo",))


def test_bad_learner_key_fails_before_anything_trains(tmp_path):
    with pytest.raises(SystemExit, match=r"ppo.*unknown config key 'lrr'"):
        args = ["--algos", "ppo", "--set", "ppo.lrr=0.1", "--baselines", "constant"]
        main(["compare", *args, "--out", str(tmp_path / "c")])
    assert not (tmp_path / "c").exists()
    with pytest.raises(SystemExit, match=r"unknown baseline 'base'.*base_stock"):
        main(["compare", "--algos", "ppo", "--baselines", "base", "--out", str(tmp_path / "c")])


TINY = [
    "compare", "--env", "InvManagement-v1", "--algos", "ppo,small=a2c", "--seeds", "2",
    "--total-steps", "960", "--episodes", "30", "--baselines", "constant,base_stock",
    "--set", "base_stock.paths=20", "--set", "ppo.num_envs=16", "--set", "small.num_envs=16",
    "--set", "env.periods=6", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_compare(tmp_path_factory):
    """A tiny comparison, uninterrupted: ``(its directory, what it printed)``."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main([*TINY, "--out", str(out)])
    return out, printed.getvalue()


def test_compare_end_to_end_tiny(tiny_compare):
    out, printed = tiny_compare
    assert "| small (a2c) | learner |" in printed
    for name in ("results.md", "results.csv", "summary.json", "learning_curves.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "compare" and summary["seeds"] == 2
    for key in ("env", "algo", "config", "eval", "total_steps", "wall_s", "compile_s"):
        assert key in summary, key  # the summary contract of every --out command
    assert summary["algo"] == "ppo,a2c" and summary["algos"] == {"ppo": "ppo", "small": "a2c"}
    rows = {r["policy"]: r for r in summary["table"]}
    assert set(rows) == {"constant", "base_stock", "ppo", "small"}
    # Each policy's row is its run directory's evaluation, on the same 30 paths.
    ppo = np.load(out / "ppo" / "eval_returns.npy")
    ref = np.load(out / "base_stock" / "eval_returns.npy")
    assert ppo.shape == (2, 30) and ref.shape == (1, 30)
    assert rows["ppo"]["eval"]["mean"] == pytest.approx(ppo.mean())
    assert rows["ppo"]["vs_reference"]["mean"] == pytest.approx((ppo.mean(0) - ref[0]).mean())
    assert {(p["learner"], p["baseline"]) for p in summary["paired"]} == {
        (learner, baseline)
        for learner in ("ppo", "small")
        for baseline in ("constant", "base_stock")
    }
    # The directory holds all the tables are made of: rebuilt from it, they come out the same.
    written = (out / "results.md").read_text()
    (out / "results.md").unlink()
    (out / "learning_curves.png").unlink()
    assert compare.rewrite_results(out)["table"] == summary["table"]
    assert (out / "results.md").read_text() == written
    assert (out / "learning_curves.png").stat().st_size > 0
    run = json.loads((out / "small" / "summary.json").read_text())
    assert run["env_config"] == {"periods": 6} and run["config"]["num_envs"] == 16
    assert (
        run["eval_crn"] == json.loads((out / "constant" / "summary.json").read_text())["eval_crn"]
    )


def test_resume_after_a_crash_runs_only_what_was_unfinished(tiny_compare, tmp_path, monkeypatch):
    """A comparison that died after its last learner's final training state was saved,
    before its evaluation (its directory as the crash left it: the uninterrupted one without
    the comparison's tables and that learner's evaluation); ``--resume`` reads the baselines
    and the first learner back, evaluates the last one from its saved state, and ends with
    the uninterrupted comparison's evaluations and table (times aside). Changed flags and
    damaged files are named."""
    reference, _ = tiny_compare
    out = tmp_path / "cmp"
    shutil.copytree(reference, out)
    for name in ("summary.json", "results.md", "results.csv", "learning_curves.png"):
        (out / name).unlink()
    for name in ("summary.json", "eval_returns.npy", "learning_curve.png", "checkpoint.msgpack"):
        (out / "small" / name).unlink()
    with pytest.raises(SystemExit, match="To continue it: jaxinv compare --resume"):
        main([*TINY, "--out", str(out)])
    train_run, evaluate_baseline = compare.training.train_run, compare.baselines.evaluate_baseline
    ran = []
    monkeypatch.setattr(
        compare.training, "train_run", lambda *a, **k: ran.append(a[3]) or train_run(*a, **k)
    )
    monkeypatch.setattr(
        compare.baselines,
        "evaluate_baseline",
        lambda *a, **k: ran.append(a[1]) or evaluate_baseline(*a, **k),
    )
    with contextlib.redirect_stdout(io.StringIO()):
        main(["compare", "--resume", str(out), "--quiet"])
    assert ran == [out / "small"]  # resume_run: no training left, the evaluation only
    for policy in ("constant", "base_stock", "ppo", "small"):
        np.testing.assert_array_equal(
            np.load(out / policy / "eval_returns.npy"),
            np.load(reference / policy / "eval_returns.npy"),
        )
    times = ("train_s", "compile_s", "wall_s")
    with open(out / "results.csv") as f, open(reference / "results.csv") as g:
        got, want = list(csv.DictReader(f)), list(csv.DictReader(g))
    assert [{k: v for k, v in r.items() if k not in times} for r in got] == [
        {k: v for k, v in r.items() if k not in times} for r in want
    ]

    with pytest.raises(SystemExit, match=r"--seeds 3 \(the comparison has 2\)"):
        main(["compare", "--resume", str(out), "--seeds", "3"])
    (out / "constant" / "eval_returns.npy").write_bytes(b"damaged")
    with pytest.raises(SystemExit, match=r"constant/eval_returns.npy cannot be read"):
        main(["compare", "--resume", str(out), "--quiet"])


def test_learning_curve_axis_keeps_the_final_levels_and_cuts_early_training():
    from jaxinv import plots

    # Baselines at 400 and 550, learners ending at 450-470, early training far below.
    levels = [400.0, 550.0, 450.0, 470.0]
    bottom, top = plots.focus_limits(levels, lows=[-800.0, 200.0], highs=[560.0, 480.0])
    assert bottom < 400.0 and top > 550.0  # every final level and baseline is in view
    assert bottom > -800.0  # the early dip is cut off, so the differences stay readable
    assert top - bottom < 3 * (550.0 - 400.0)
    # Nothing to cut: matplotlib's own limits are kept.
    assert plots.focus_limits(levels, lows=[380.0], highs=[560.0]) is None
    # Equal levels still give a window of positive height.
    bottom, top = plots.focus_limits([100.0, 100.0], lows=[-1e4], highs=[100.0])
    assert bottom < 100.0 < top


def test_few_seeds_are_drawn_one_by_one_and_many_with_a_band(tmp_path, monkeypatch):
    """Below FEW_SEEDS a learner's seeds are drawn each as a thin line under the mean (a
    95% t-band of 2 seeds is mostly the t quantile, 12.7); from FEW_SEEDS on, the mean and its
    band. The legend says which."""
    from matplotlib.axes import Axes

    from jaxinv import plots

    def rows(seeds: int) -> list[dict[str, float]]:
        return [
            {"seed": s, "update": u, "env_steps": 10.0 * u, "wall_s": 0.1 * u,
             "episode_return": -100.0 + u + s}
            for s in range(seeds)
            for u in range(1, 6)
        ]  # fmt: skip

    drawn = {"plot": 0, "fill_between": 0}  # calls of each drawing method

    def counting(name: str):
        method = getattr(Axes, name)

        def counted(*args, **kwargs):
            drawn[name] += 1
            return method(*args, **kwargs)

        return counted

    for name in drawn:
        monkeypatch.setattr(Axes, name, counting(name))
    few = plots.compare_curves({"ppo": rows(2)}, {"base_stock": -90.0}, tmp_path / "a.png", "t")
    assert few == ["ppo (2 seeds: each thin, mean thick)", "base_stock: -90.0"]
    assert drawn == {"plot": 2 * (2 + 1), "fill_between": 0}  # 2 panels: 2 seeds, the mean
    drawn.update(plot=0)
    many = plots.compare_curves({"ppo": rows(plots.FEW_SEEDS)}, {}, tmp_path / "b.png", "t")
    assert many == [f"ppo ({plots.FEW_SEEDS} seeds: mean, 95% band)"]
    assert drawn == {"plot": 2, "fill_between": 2}
    assert (tmp_path / "a.png").stat().st_size > 10_000
