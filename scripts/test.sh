#!/usr/bin/env bash
# Install (scripts/setup.sh) and run the test suite offline. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export FACTBENCH_DATA_DIR=${FACTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}
"${FACTBENCH_VENV:-.venv}/bin/python" -m pytest "$@"
