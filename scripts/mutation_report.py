"""Markdown report of a finished mutmut run (called by scripts/mutation.sh): the score and every survivor.

    python scripts/mutation_report.py WORK_DIR GROUP SECONDS

Reads mutmut's own result files in WORK_DIR/mutants (through mutmut's API, version pinned in constraints.txt).
Score = killed / (killed + survived), where killed includes timeouts (the mutant made the tests hang: detected);
"no tests" (no selected test reaches the function) and "suspicious" are listed apart, not in the score.
"""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict
from pathlib import Path


def main(work: str, group: str, seconds: str) -> None:
    os.chdir(work)
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    status, path_of = {}, {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            status[name] = status_by_exit_code[code]
            path_of[name] = path
    count = Counter("killed" if s in ("killed", "timeout") else s for s in status.values())
    per_file = defaultdict(Counter)
    for name, s in status.items():
        per_file[str(path_of[name])]["killed" if s in ("killed", "timeout") else s] += 1
    scored = count["killed"] + count["survived"]
    score = count["killed"] / scored if scored else float("nan")
    cfg = Path("setup.cfg").read_text()
    print(f"# Mutation testing: {group}\n")
    print(f"mutmut score **{score:.1%}** ({count['killed']} killed of {scored}; timeouts count as killed); "
          f"{count['survived']} survived, {count['no tests']} without a covering test, "
          f"{count['suspicious']} suspicious, {count['not checked']} not checked; {len(status)} mutants in all, "
          f"{int(seconds) // 60} min on this machine (2 cores, shared).\n")
    print("Configuration (setup.cfg written by `scripts/mutation.sh`):\n\n```ini\n" + cfg.strip() + "\n```\n")
    print("| file | killed | survived | no tests | other |\n|---|---:|---:|---:|---:|")
    for f, c in sorted(per_file.items()):
        other = sum(c.values()) - c["killed"] - c["survived"] - c["no tests"]
        print(f"| {f} | {c['killed']} | {c['survived']} | {c['no tests']} | {other} |")
    survivors = sorted(n for n, s in status.items() if s not in ("killed", "timeout"))
    print(f"\n## Mutants not killed ({len(survivors)})\n")
    for name in survivors:
        diff = get_diff_for_mutant(name, path=path_of[name])
        changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
        print(f"- `{name}` ({status[name]})\n\n  ```diff\n" + "\n".join("  " + line for line in changed) + "\n  ```")


if __name__ == "__main__":
    main(*sys.argv[1:4])
