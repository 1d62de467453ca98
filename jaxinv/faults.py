"""Crash injection for the fault tests: ``JAXINV_FAULT=POINT:N`` SIGKILLs this process the
N-th time it reaches ``POINT`` (counted from 1 in this process), so a test can kill a real
``jaxinv`` command at a chosen moment instead of guessing one from the wall clock.

Points (``kill_point`` calls):

- ``chunk``: after a training chunk (train, compare's learners, sweep groups), before its
  checkpoint;
- ``state-write``: inside ``runs.write_state``, half of the new state written to
  ``state.msgpack.tmp`` (what a crash during a checkpoint write leaves);
- ``policy``: after a comparison's baseline or learner directory is complete;
- ``group``: after a trained sweep group's run directories, before ``groups.json`` lists it.

Unset (the normal case), ``kill_point`` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "JAXINV_FAULT"
_reached: dict[str, int] = {}


def parse(text: str) -> tuple[str, int]:
    """``"chunk:3"`` -> ``("chunk", 3)``; ``ValueError`` for anything else."""
    point, _, count = text.partition(":")
    if not point or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{VARIABLE}={text!r}: expected POINT:N with N >= 1, e.g. chunk:3")
    return point, int(count)


def kill_point(point: str) -> None:
    """SIGKILL this process if ``JAXINV_FAULT`` names ``point`` and this is its N-th time."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, count = parse(wanted)
    if name != point:
        return
    _reached[point] = _reached.get(point, 0) + 1
    if _reached[point] == count:
        os.kill(os.getpid(), signal.SIGKILL)
