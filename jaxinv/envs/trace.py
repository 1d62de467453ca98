"""Daily demand records from CSV files, and per-weekday empirical demand fitted from them.

A demand file is a CSV with a header row naming a ``date`` column (ISO ``YYYY-MM-DD``, one row
per day, consecutive days) and one or more columns of demand in whole units per day (cases,
for the retail store). ``date,quantity`` holds one record; a file with several quantity columns
(say ``date,year_100,year_101,...``) holds several records over the same calendar days.

Everything here runs in plain Python before anything is traced. A bad file raises
``ValueError`` whose message starts with ``path:line:`` (or ``path:`` when the file as a whole
is wrong), so the user can go straight to the offending row.
"""

from __future__ import annotations

import csv
import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DAYS_PER_WEEK = 7
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DemandRecords:
    """Demand per day over consecutive calendar days, one array per quantity column."""

    path: str
    start_date: datetime.date
    columns: dict[str, np.ndarray]  # name -> (days,) int64 units demanded per day

    @property
    def days(self) -> int:
        return next(iter(self.columns.values())).size

    @property
    def start_weekday(self) -> int:
        """Weekday of the first day, 0 = Monday."""
        return self.start_date.weekday()


def _parse_quantity(text: str, where: str, column: str) -> int:
    """A whole, non-negative number of units ("3" or "3.0"), else ValueError at ``where``."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {column}={text!r} is not a number") from None
    if not math.isfinite(value) or value != math.floor(value):
        raise ValueError(f"{where}: {column}={text!r} is not a whole number of units")
    if value < 0:
        raise ValueError(f"{where}: {column}={text!r} is negative; demand must be >= 0")
    return int(value)


def read_demand_csv(
    path: str | Path, columns: Sequence[str] | None = None, date_column: str = "date"
) -> DemandRecords:
    """Read and check a demand file; ``columns`` picks quantity columns (default: all but date).

    Raises ``ValueError`` naming the file (and the line) for a missing file, a header without the
    needed columns, an empty file, an unparsable or non-consecutive date, or a quantity that is
    not a whole non-negative number.
    """
    path = Path(path)
    try:
        handle = path.open(newline="")
    except OSError as error:
        raise ValueError(f"{path}: cannot read the demand file ({error.strerror})") from None
    with handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None:
            raise ValueError(f"{path}: the file is empty; expected a header such as date,quantity")
        header = [name.strip() for name in header]
        if date_column not in header:
            raise ValueError(f"{path}:1: no {date_column!r} column in the header {header}")
        wanted = [name for name in header if name != date_column] if columns is None else columns
        missing = [name for name in wanted if name not in header]
        if missing or not wanted:
            raise ValueError(
                f"{path}:1: the header {header} lacks the quantity column(s) "
                f"{missing or ['quantity']}"
            )
        date_at = header.index(date_column)
        at = {name: header.index(name) for name in wanted}
        start_date: datetime.date | None = None
        previous: datetime.date | None = None
        values: dict[str, list[int]] = {name: [] for name in wanted}
        for line, row in enumerate(rows, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines (e.g. a trailing newline) carry no record
            where = f"{path}:{line}"
            if len(row) != len(header):
                raise ValueError(f"{where}: {len(row)} fields where the header has {len(header)}")
            text = row[date_at].strip()
            try:
                date = datetime.date.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{where}: date {text!r} is not an ISO date (YYYY-MM-DD)"
                ) from None
            if previous is not None and date != previous + datetime.timedelta(days=1):
                raise ValueError(
                    f"{where}: date {date} does not follow {previous}; days must be consecutive"
                )
            start_date = date if start_date is None else start_date
            previous = date
            for name in wanted:
                values[name].append(_parse_quantity(row[at[name]].strip(), where, name))
    if start_date is None:
        raise ValueError(f"{path}: no demand rows after the header")
    return DemandRecords(
        path=str(path),
        start_date=start_date,
        columns={name: np.asarray(v, np.int64) for name, v in values.items()},
    )


def load_demand_csv(path: str | Path) -> DemandRecords:
    """A ``date,quantity`` file (one demand record); see ``read_demand_csv`` for the checks."""
    return read_demand_csv(path, columns=["quantity"])


def write_demand_csv(
    path: str | Path, start_date: datetime.date, columns: Mapping[str, np.ndarray]
) -> None:
    """Write whole-unit demand records over consecutive days from ``start_date``."""
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    days = arrays[0].size
    if any(a.shape != (days,) for a in arrays):
        raise ValueError("every demand column must be a flat array of the same length")
    for name, a in zip(names, arrays, strict=True):
        if np.any(a < 0) or np.any(a != np.round(a)):
            raise ValueError(f"column {name!r} holds negative or fractional demand")
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["date", *names])
        for day in range(days):
            date = start_date + datetime.timedelta(days=day)
            writer.writerow([date.isoformat(), *(int(a[day]) for a in arrays)])


def weekday_pmf(quantity: np.ndarray, start_weekday: int) -> list[tuple[int, np.ndarray]]:
    """Empirical demand distribution of each weekday (Monday first) from a daily record.

    Day ``t`` of ``quantity`` falls on weekday ``(start_weekday + t) % 7``. Returns, for each
    weekday, ``(low, pmf)``: the relative frequency of ``low, low + 1, ...`` up to the largest
    demand seen that weekday. Needs at least one observation of every weekday.
    """
    quantity = np.asarray(quantity)
    if quantity.ndim != 1 or np.any(quantity < 0) or np.any(quantity != np.round(quantity)):
        raise ValueError("a demand record must be a flat list of whole non-negative numbers")
    weekday = (start_weekday + np.arange(quantity.size)) % DAYS_PER_WEEK
    fitted = []
    for day in range(DAYS_PER_WEEK):
        seen = quantity[weekday == day].astype(np.int64)
        if seen.size == 0:
            raise ValueError(
                f"the demand record ({quantity.size} days) has no {WEEKDAYS[day]}; "
                "an empirical weekday model needs at least one of each"
            )
        low = int(seen.min())
        counts = np.bincount(seen - low).astype(np.float64)
        fitted.append((low, counts / counts.sum()))
    return fitted
