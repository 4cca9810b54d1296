"""Markdown report of a finished mutmut run (called by scripts/mutation.sh): the score and every survivor.

    python scripts/mutation_report.py WORK_DIR GROUP SECONDS [RECHECK_FILE]

Reads mutmut's own result files in WORK_DIR/mutants (through mutmut's API, version pinned in constraints.txt).
Score = killed / (killed + survived), where killed includes timeouts (the mutant made the tests hang: detected);
"no tests" (no selected test reaches the function) and "suspicious" are listed apart, not in the score.
RECHECK_FILE (lines "MUTANT killed|survived", from scripts/mutation_recheck.py) gives the survivors' fate
under tests added after the run: the report then shows the score before and after them.

Each remaining survivor gets a category from its diff (a first sort, to be read, not a proof): the reference
loop that only tests call, text of an error or of a name in it, numpy warning suppression, or "to review".
"""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict
from pathlib import Path


REFERENCE_ONLY = ("x_bootstrap_distribution_loop", "x__naive_level", "x__scipy_corr")  # test oracles in resampling.py
NAME_ARGS = ("as_vector(", "_binary(", "choice(", "positive_int(", "confidence_level(")


def category(name: str, removed: list[str], added: list[str]) -> str:
    """A first sort of a survivor by its diff (see the module docstring)."""
    if any(f".{fn}__mutmut" in name for fn in REFERENCE_ONLY):
        return "reference loop used only by tests"
    text = " ".join(removed)
    if "np.errstate(" in text:
        return "numpy warning suppression only"
    if "raise " in text or text.strip().startswith(("f\"", "\"")) or any(a in text for a in NAME_ARGS):
        return "error text or input name in an error"
    return "to review"


def main(work: str, group: str, seconds: str, recheck: str | None = None) -> None:
    rechecked = {}
    if recheck:
        for line in Path(recheck).read_text().splitlines():
            name, _, fate = line.partition(" ")
            rechecked[name] = fate.strip()
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
    survivors = sorted(n for n, s in status.items() if s not in ("killed", "timeout", "not checked"))
    killed_later = [n for n in survivors if rechecked.get(n) == "killed"]
    if rechecked:
        after = (count["killed"] + len(killed_later)) / scored if scored else float("nan")
        print(f"\nAfter the tests added for the survivors: **{after:.1%}** ({len(killed_later)} of the "
              f"{len(survivors)} survivors killed; re-checked with `scripts/mutation_recheck.py`).\n")
    diffs, cats = {}, defaultdict(list)
    for name in survivors:
        diff = get_diff_for_mutant(name, path=path_of[name])
        changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
        diffs[name] = changed
        if name in killed_later:
            cats["killed by the tests added after the run"].append(name)
        else:
            removed = [line[1:] for line in changed if line.startswith("-")]
            cats[category(name, removed, [line[1:] for line in changed if line.startswith("+")])].append(name)
    print("| survivors by category | count |\n|---|---:|")
    for cat, names in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        print(f"| {cat} | {len(names)} |")
    for cat, names in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        print(f"\n## {cat} ({len(names)})\n")
        for name in names:
            print(f"- `{name}` ({status[name]})\n\n  ```diff\n" + "\n".join("  " + line for line in diffs[name])
                  + "\n  ```")


if __name__ == "__main__":
    main(*sys.argv[1:5])
