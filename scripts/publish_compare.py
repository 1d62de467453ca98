"""Copy a ``jaxinv compare`` directory's tables and figures into the repository.

    python scripts/publish_compare.py RUN_DIR DEST

First rebuilds the tables and the learning curves from RUN_DIR's own files with the current
code (``jaxinv.compare.rewrite_results``: nothing is trained or evaluated again), then copies
``results.md``, ``results.csv``, the PNG figures and ``summary.json`` to ``DEST``: what
docs/comparisons.md and the README's headline table are generated from (``python
scripts/build_docs.py``), without checkpoints or per-episode arrays, so the repository stays
light.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from jaxinv import compare


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    run, dest = Path(sys.argv[1]), Path(sys.argv[2])
    compare.rewrite_results(run)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("results.md", "results.csv", "learning_curves.png", "trajectories.png"):
        if (run / name).exists():
            shutil.copyfile(run / name, dest / name)
    shutil.copyfile(run / "summary.json", dest / "summary.json")
    print(f"published {run} -> {dest}")


if __name__ == "__main__":
    main()
