#!/usr/bin/env bash
# Install (scripts/setup.sh) and run the test suite offline. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The report's browser tests drive headless Chromium (tests/report/test_report_browser.py). Install Debian's
# chromium and its driver where they are missing and we can (root with apt); elsewhere those tests skip, and
# fail under CI=true.
if ! command -v chromedriver >/dev/null || ! { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver (apt) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium/chromedriver missing and not installable here (needs root and apt-get); browser tests will skip" >&2
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export FACTBENCH_DATA_DIR=${FACTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}
"${FACTBENCH_VENV:-.venv}/bin/python" -m pytest "$@"
