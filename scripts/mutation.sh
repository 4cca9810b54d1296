#!/usr/bin/env bash
# Mutation testing (mutmut 3, pinned in constraints.txt, in the `test` extra) of the code whose numbers a reader
# acts on, one group of modules at a time, each with the fast selection of tests that covers it:
#
#   bash scripts/mutation.sh [GROUP ...]     groups: stats analysis metrics models (default: stats)
#
# Each group runs in a scratch copy of the working tree ($FACTBENCH_MUTATION_DIR, default
# /tmp/factbench-mutation/GROUP; mutmut writes its mutants/ there, never in the repository) and then writes
# reports/examples/mutation/GROUP.md: the score (killed / (killed + survived), timeouts counted as killed) and
# every surviving mutant with its diff. Survivors are then either killed by a new test or explained in
# docs/mutation.md. On demand, not in CI: stats/ alone is 2895 mutants (2380 of them took 57 min on this
# project's 2 shared cores).
# Environment: FACTBENCH_VENV (default .venv), MUTATION_JOBS (parallel mutants, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python=$(cd "${FACTBENCH_VENV:-.venv}" && pwd)/bin/python
jobs=${MUTATION_JOBS:-2}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export FACTBENCH_DATA_DIR=${FACTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}

# What each group mutates (mutmut globs) and the tests that run against its mutants. Tests that need the
# benchmark data or run whole benchmarks are left out of the selections (they are slow and cover the same
# functions as the unit and oracle tests).
config() {
  case "$1" in
    stats) cat <<'EOF'
only_mutate=factbench/stats/*
pytest_add_cli_args_test_selection=
    tests/stats/test_correlation.py
    tests/stats/test_detection.py
    tests/stats/test_resampling.py
    tests/stats/test_significance.py
    tests/stats/test_doctests.py
    tests/stats/test_oracles_intervals.py
    tests/stats/test_oracles_significance.py
    tests/stats/test_oracles_kendall_detection.py
    tests/stats/test_detection_intervals.py
    tests/stats/test_mutation_kills_stats.py
    tests/stats/test_mutation_kills_correlation.py
    tests/stats/test_mutation_kills_detection.py
    tests/stats/test_mutation_kills_resampling.py
    tests/stats/test_mutation_kills_significance.py
    tests/stats/test_mutation_kills_weighted.py
    tests/stats/test_mutation_kills_is_constant.py
EOF
    ;;
    analysis) cat <<'EOF'
only_mutate=factbench/report/analysis.py
pytest_add_cli_args_test_selection=
    tests/stats/test_analysis.py
    tests/stats/test_oracles_analysis.py
    tests/stats/test_mutation_kills_analysis.py
    tests/stats/test_mutation_kills_analysis_tables.py
    tests/stats/test_mutation_kills_analysis_pairs.py
    tests/stats/test_mutation_kills_analysis_columns.py
    tests/stats/test_mutation_kills_analysis_write.py
    tests/stats/test_mutation_kills_analysis_entry.py
EOF
    ;;
    metrics) cat <<'EOF'
only_mutate=
    factbench/metrics/squad.py
    factbench/metrics/qags_filter.py
    factbench/metrics/qags_answers.py
    factbench/metrics/entity_overlap.py
    factbench/metrics/rouge.py
    factbench/metrics/quals.py
    factbench/metrics/qags.py
pytest_add_cli_args_test_selection=
    tests/metrics/test_qags_squad.py
    tests/metrics/test_qags_filter.py
    tests/metrics/test_qags_answers.py
    tests/metrics/test_qags.py
    tests/metrics/test_qags_default_path.py
    tests/metrics/test_quals.py
    tests/metrics/test_entity_overlap.py
    tests/metrics/test_rouge.py
    tests/metrics/test_mutation_kills_format_details.py
    tests/metrics/test_mutation_kills_rouge_entities_qags_text.py
    tests/metrics/test_mutation_kills_quals.py
    tests/metrics/test_mutation_kills_qags.py
    tests/metrics/test_mutation_kills_qags_answers.py
    -k
    not benchmark and not cliff and not frank
EOF
    ;;
    models) cat <<'EOF'
only_mutate=
    factbench/models/generation.py
    factbench/models/scoring.py
    factbench/models/qa.py
    factbench/models/batching.py
pytest_add_cli_args_test_selection=
    tests/models
EOF
    ;;
    *) echo "mutation.sh: unknown group $1 (stats, analysis, metrics, models)" >&2; exit 2 ;;
  esac
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(stats)
for group in "${groups[@]}"; do
  config "$group" >/dev/null
  work=${FACTBENCH_MUTATION_DIR:-/tmp/factbench-mutation}/$group
  rm -rf "$work" && mkdir -p "$work"
  # the working tree as it is (tracked and untracked files, not ignored ones)
  git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$work" 2>/dev/null || true
  # mutmut reads [tool.mutmut] of pyproject.toml first; the group's settings go to setup.cfg
  { echo "[mutmut]"; echo "source_paths=factbench"; config "$group"; echo "also_copy="; echo "    metrics/";
    echo "    data/"; } > "$work/setup.cfg"
  echo "== mutation testing: $group ($(grep -c . <<<"$(config "$group")") config lines) in $work"
  start=$(date +%s)
  (cd "$work" && nice "$python" -m mutmut run --max-children "$jobs" > "$work/mutmut-run.log" 2>&1) || {
    tail -c 3000 "$work/mutmut-run.log"; exit 1; }
  mkdir -p reports/examples/mutation
  "$python" scripts/mutation_report.py "$work" "$group" "$(( $(date +%s) - start ))" \
    > "reports/examples/mutation/$group.md"
  head -n 12 "reports/examples/mutation/$group.md"
done
