"""Regenerate the retail store's demand data: the article's training year and 100 test years.

Guangrui Xie's "Reinforcement Learning for Inventory Optimization" (part I, 2022) draws a year
of daily soft-drink demand, in cases, with numpy's legacy global RNG: 52 weeks, each day one
scalar ``np.random.normal`` draw in calendar order (Monday to Thursday N(3, 1.5), Friday
N(6, 1), Saturday and Sunday N(12, 2)), set to 0 if negative, then rounded with ``np.round``
(half to even). The training year follows ``np.random.seed(0)``; test year ``k`` follows
``np.random.seed(k)`` for ``k = 100..199``.

Writes, inside the package (shipped as package data):

- ``jaxinv/data/retail_train_year.csv``: ``date,quantity``, 364 days from Monday 2022-01-03;
- ``jaxinv/data/retail_test_years.csv``: ``date,year_100,...,year_199``, 364 days from Monday
  2023-01-02 (the calendar is nominal: only the weekdays matter).

Usage: ``python scripts/make_retail_years.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import numpy as np

from jaxinv.envs.trace import write_demand_csv

WEEKS = 52
WEEK = ((3.0, 1.5),) * 4 + ((6.0, 1.0),) + ((12.0, 2.0),) * 2  # (mean, std), Monday first
TRAIN_SEED = 0
TEST_SEEDS = range(100, 200)
TRAIN_START = datetime.date(2022, 1, 3)  # a Monday
TEST_START = datetime.date(2023, 1, 2)  # a Monday
DATA_DIR = Path(__file__).resolve().parent.parent / "jaxinv" / "data"


def article_year(seed: int) -> np.ndarray:
    """One year of daily demand (364,) int64, drawn exactly as the article does after seeding."""
    np.random.seed(seed)  # noqa: NPY002 - the article's legacy global RNG, on purpose
    days = []
    for _ in range(WEEKS):
        for mean, std in WEEK:
            draw = np.random.normal(mean, std)  # noqa: NPY002
            days.append(np.round(max(draw, 0.0)))
    return np.asarray(days, np.int64)


def article_data() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The training year (364,) and the test years by column name ``year_<seed>``."""
    return article_year(TRAIN_SEED), {f"year_{k}": article_year(k) for k in TEST_SEEDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="directory to write into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train, test = article_data()
    write_demand_csv(args.out / "retail_train_year.csv", TRAIN_START, {"quantity": train})
    write_demand_csv(args.out / "retail_test_years.csv", TEST_START, test)
    print(f"wrote {args.out}/retail_train_year.csv and retail_test_years.csv")


if __name__ == "__main__":
    main()
