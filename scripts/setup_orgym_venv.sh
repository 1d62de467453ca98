#!/usr/bin/env bash
# Create the OR-Gym 0.5.0 reference virtual environment (used only to record reference traces
# and reference throughput; jaxinv itself never imports or-gym).
#
# Usage: scripts/setup_orgym_venv.sh [VENV_DIR]     (default: <repo root>/.venv-orgym)
#
# Idempotent: re-running reuses an existing venv and pip just reports "already satisfied".
#
# Why the extra steps:
#   * or-gym 0.5.0 requires gym<=0.19.0. gym 0.19.0 is only an sdist and its setup.py has an
#     invalid extras_require specifier ("opencv-python>=3."). Modern setuptools (>=67) rejects it
#     ("'extras_require' must be a dictionary whose values are ... valid ... specifiers"), and
#     pip's isolated build env always pulls the newest setuptools. Fix: install
#     "setuptools<66" "wheel<0.40" into the venv first and build gym with --no-build-isolation.
#   * pip>=24.1 refuses packages whose metadata has invalid specifiers, so pip is held below 24.1.
#   * or-gym uses np.Inf (removed in numpy 2.0) and predates pandas/scipy/matplotlib/networkx
#     releases that need numpy 2, hence the pins below (known-good set on Python 3.11).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-${REPO_ROOT}/.venv-orgym}"
PY_BOOT="${PYTHON:-python3}"

PINS=(numpy==1.26.4 "pandas<2.3" "scipy<1.15" "matplotlib<3.10" "networkx<3.5")

if [[ ! -x "${VENV_DIR}/bin/python" ]]; then
    echo "[setup_orgym_venv] creating venv at ${VENV_DIR}" >&2
    "${PY_BOOT}" -m venv "${VENV_DIR}"
else
    echo "[setup_orgym_venv] reusing venv at ${VENV_DIR}" >&2
fi

PY="${VENV_DIR}/bin/python"
PIP=("${PY}" -m pip --disable-pip-version-check)

# 1) Old build tooling so that gym 0.19.0's setup.py can be built.
"${PIP[@]}" install "pip<24.1" "setuptools<66" "wheel<0.40"

# 2) gym 0.19.0 built against the venv's (old) setuptools; numpy pinned now to avoid pulling 2.x.
"${PIP[@]}" install --no-build-isolation "gym==0.19.0" numpy==1.26.4

# 3) or-gym itself with the known-good pins, resolved in one go (installing or-gym alone would
#    first pull numpy 2.x / pandas 3.x only to have them downgraded again).
"${PIP[@]}" install "or-gym==0.5.0" "${PINS[@]}"

# 4) Smoke test.
"${PY}" - <<'PYEOF'
import or_gym
import numpy as np

env = or_gym.make("InvManagement-v1")
obs = env.reset()
obs, reward, done, info = env.step(np.zeros(3))
print(f"[setup_orgym_venv] or-gym {or_gym.__version__}, numpy {np.__version__}: "
      f"InvManagement-v1 ok (obs dim {len(obs)})")
PYEOF

echo "${PY}"
