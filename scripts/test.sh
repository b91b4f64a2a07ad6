#!/usr/bin/env bash
# Install (into .venv, once) and run the whole test suite. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADIO_ANALYTICS_ENABLED=False HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q -r requirements-dev.txt > .venv/pip.log 2>&1 || { cat .venv/pip.log; exit 1; }
.venv/bin/python -m pytest "$@"
