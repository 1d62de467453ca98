#!/usr/bin/env bash
# The commands behind every figure in the README's "Results" section, in the order they were
# run. Each compare writes a run directory under runs/ (ignored by git); publish_compare.py
# copies its tables and figures (not the checkpoints) into docs/results/ for the README.
#
#   bash scripts/reproduce_results.sh            # everything: about an hour on a 2-core CPU
#   bash scripts/reproduce_results.sh retail     # one of: v1 v0 retail sweep bench
set -euo pipefail
cd "$(dirname "$0")/.."
JAXINV=${JAXINV:-.venv/bin/jaxinv}
PYTHON=${PYTHON:-.venv/bin/python}
what=${1:-all}

run() { echo "+ $*" >&2; "$@"; }

if [[ $what == all || $what == v1 ]]; then
  # The comparison of the README's first quickstart command, with its full defaults.
  run "$JAXINV" compare --env InvManagement-v1 --out runs/compare_v1
  run "$PYTHON" scripts/publish_compare.py runs/compare_v1 docs/results/InvManagement-v1
fi
if [[ $what == all || $what == v0 ]]; then
  run "$JAXINV" compare --env InvManagement-v0 --out runs/compare_v0
  run "$PYTHON" scripts/publish_compare.py runs/compare_v0 docs/results/InvManagement-v0
fi
if [[ $what == all || $what == retail ]]; then
  run "$JAXINV" compare --env RetailStore-v0 --algos dqn,ppo,a2c --out runs/compare_retail
  run "$PYTHON" scripts/publish_compare.py runs/compare_retail docs/results/RetailStore-v0
fi
