#!/usr/bin/env bash
# Re-run every committed regression baseline of reports/baselines/ and compare with `factbench regress`;
# exit non-zero on any regression. With --update, rewrite the baselines instead (after a deliberate change).
#
#   bash scripts/regress_baselines.sh [--update]
#
# Needs the benchmark data (FACTBENCH_DATA_DIR, default ../shared/data). Uses a fresh stage cache.
set -euo pipefail
cd "$(dirname "$0")/.."
fb=${FACTBENCH_VENV:-.venv}/bin/factbench
update=()
[ "${1:-}" = "--update" ] && update=(--update)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export FACTBENCH_DATA_DIR=${FACTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

check() {  # NAME RUN-ARGS...: run into a fresh directory, compare with reports/baselines/NAME.json
  local name=$1
  shift
  echo "== baseline $name: factbench run $*"
  "$fb" run "$@" --out "$work/$name" --quiet --no-cache >/dev/null
  "$fb" regress "$work/$name" --baseline "reports/baselines/$name.json" "${update[@]}" || status=1
}

# Every metric on the sample set with the tiny models: deterministic on CPU, so any drift is a change.
check sample-tiny --dataset sample --metrics rouge,entity-overlap,factcc,quals,qags --profile tiny
# The model-free metrics on every real benchmark, with their correlations and detection accuracy.
check benchmarks-rouge-entity --dataset qags-cnndm --dataset qags-xsum --dataset frank --dataset xsumfaith \
  --dataset summeval --dataset cliff --dataset polytope --dataset dialsummeval --metrics rouge,entity-overlap
# FRANK's official per-summary outputs: the correlation table of DATASETS.md 3.1.
check frank-official --dataset frank --metrics precomputed:frank-official
# The same grouped by origin: all data, CNN/DM and XSum side by side (FRANK's Table 4), detection with one
# threshold per origin, intervals and paired tests.
check frank-official-by-origin --dataset frank --metrics precomputed:frank-official --by origin
exit $status
