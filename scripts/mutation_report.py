"""Markdown report of a finished mutmut run (called by scripts/mutation.sh): the score and every survivor.

    python scripts/mutation_report.py WORK_DIR GROUP SECONDS [RECHECK_FILE]
    python scripts/mutation_report.py --list WORK_DIR     # survivors: name, fingerprint, diff (for accounting)

Reads mutmut's own result files in WORK_DIR/mutants (through mutmut's API, version pinned in constraints.txt).
Score = killed / (killed + survived + no tests), where killed includes timeouts (the mutant made the tests hang:
detected) and "no tests" (no selected test reaches the function) counts as a survivor; "suspicious" is listed
apart, not in the score.
RECHECK_FILE (lines "MUTANT killed|survived", from scripts/mutation_recheck.py) gives the survivors' fate
under tests added after the run: the report then shows the score before and after them.

A remaining survivor is accounted for by ``docs/mutation-accounted/GROUP.txt`` (read by a person, one line per
mutant: ``NAME FINGERPRINT REASON_ID``, the reasons given on lines ``@REASON_ID: text``). A line applies to the
survivor of the same function (the name without its ``__mutmut_N``) whose diff has the same fingerprint: mutmut
numbers mutants within a function, so an edit elsewhere in it renumbers them, and a changed mutant is not taken
for the one that was read. Survivors not listed get a mechanical category from their diff: the reference
loop that only tests call, numpy warning suppression, a change of string literals only in an error's text or
an input's name in it; else "to review".
"""

from __future__ import annotations

import os
import sys
import hashlib
import math
import io
import tokenize
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


REFERENCE_ONLY = ("x_bootstrap_distribution_loop", "x__naive_level", "x__scipy_corr")  # test oracles in resampling.py
NAME_ARGS = ("as_vector(", "_binary(", "choice(", "positive_int(", "confidence_level(")


def _tokens(lines: list[str]) -> list[tuple[int, str]] | None:
    try:
        return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline)
                if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def strings_only(removed: list[str], added: list[str]) -> bool:
    """Whether the two sides differ in string literals only (same tokens otherwise)."""
    a, b = _tokens([line.strip() for line in removed]), _tokens([line.strip() for line in added])
    if a is None or b is None or len(a) != len(b):
        return False
    return all(x == y or (x[0] == y[0] == tokenize.STRING) or "FSTRING" in tokenize.tok_name[x[0]]
               for x, y in zip(a, b))


def category(name: str, removed: list[str], added: list[str]) -> str:
    """A mechanical sort of a survivor that no accounting line names (see the module docstring)."""
    if any(f".{fn}__mutmut" in name for fn in REFERENCE_ONLY):
        return "reference loop used only by tests"
    text = " ".join(removed)
    if "np.errstate(" in text and "np.errstate(" in " ".join(added):
        return "numpy warning suppression only"
    if strings_only(removed, added) and (
            "raise " in text or text.strip().startswith(("f\"", "\"")) or any(a in text for a in NAME_ARGS)):
        return "error text or input name in an error"
    return "to review"


def fingerprint(changed: list[str]) -> str:
    """A digest of a mutant's diff lines (the accounting file names a mutant by it too)."""
    return hashlib.sha1("\n".join(line.rstrip() for line in changed).encode("utf-8")).hexdigest()[:10]


def function_of(name: str) -> str:
    """The mutated function of a mutant's name (``pkg.mod.x_fn__mutmut_12`` -> ``pkg.mod.x_fn``)."""
    return name.rsplit("__mutmut_", 1)[0]


def read_accounted(group: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """``(reasons by id, reason id by (function, fingerprint))`` from docs/mutation-accounted/GROUP.txt."""
    reasons, mutants = {}, {}
    path = REPO / "docs" / "mutation-accounted" / f"{group}.txt"
    if not path.is_file():
        return reasons, mutants
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            rid, _, text = line[1:].partition(":")
            reasons[rid.strip()] = text.strip()
            continue
        parts = line.split()
        if len(parts) != 3:
            raise SystemExit(f"{path}:{n}: expected NAME FINGERPRINT REASON_ID, got {line!r}")
        mutants[(function_of(parts[0]), parts[1])] = parts[2]
    unknown = set(mutants.values()) - set(reasons)
    if unknown:
        raise SystemExit(f"{path}: reasons used but not defined: {sorted(unknown)}")
    return reasons, mutants


EQUIVALENT = ("numpy warning suppression only",)  # mechanical categories that change no value


def pct(share: float) -> str:
    """A share as a percentage, rounded down to 0.1 (99.96 % is not shown as 100.0 %)."""
    return f"{math.floor(share * 1000) / 10:.1f}%" if share == share else "n/a"


def load(work: str):
    """``(status by mutant, source path by mutant, diff lines by mutant)`` of the mutmut run in ``work``."""
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

    def diff(name):
        text = get_diff_for_mutant(name, path=path_of[name])
        return [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]

    return status, path_of, diff


def list_survivors(work: str) -> None:
    status, _, diff = load(work)
    for name in sorted(n for n, s in status.items() if s in ("survived", "no tests")):
        changed = diff(name)
        print(f"{name} {fingerprint(changed)}\n" + "\n".join("    " + line for line in changed))


def main(work: str, group: str, seconds: str, recheck: str | None = None) -> None:
    rechecked = {}
    if recheck:
        for line in Path(recheck).read_text().splitlines():
            name, _, fate = line.partition(" ")
            rechecked[name] = fate.strip()
    reasons, accounted = read_accounted(group)
    status, path_of, diff = load(work)
    count = Counter("killed" if s in ("killed", "timeout") else s for s in status.values())
    per_file = defaultdict(Counter)
    for name, s in status.items():
        per_file[str(path_of[name])]["killed" if s in ("killed", "timeout") else s] += 1
    scored = count["killed"] + count["survived"] + count["no tests"]  # a mutant no test reaches is not killed
    score = count["killed"] / scored if scored else float("nan")
    cfg = Path("setup.cfg").read_text()
    print(f"# Mutation testing: {group}\n")
    print(f"mutmut score **{pct(score)}** ({count['killed']} killed of {scored}; timeouts count as killed); "
          f"{count['survived']} survived, {count['no tests']} without a covering test, "
          f"{count['suspicious']} suspicious, {count['not checked']} not checked; {len(status)} mutants in all, "
          f"{int(seconds) // 60} min on this machine (2 cores).\n")
    print("Configuration (setup.cfg written by `scripts/mutation.sh`):\n\n```ini\n" + cfg.strip() + "\n```\n")
    print("| file | killed | survived | no tests | other |\n|---|---:|---:|---:|---:|")
    for f, c in sorted(per_file.items()):
        other = sum(c.values()) - c["killed"] - c["survived"] - c["no tests"]
        print(f"| {f} | {c['killed']} | {c['survived']} | {c['no tests']} | {other} |")
    survivors = sorted(n for n, s in status.items() if s in ("survived", "no tests"))
    diffs, cats, equivalent = {}, defaultdict(list), set()
    for name in survivors:
        diffs[name] = changed = diff(name)
        if rechecked.get(name) == "killed":
            cats["killed by the tests added after the run"].append(name)
        elif (function_of(name), fingerprint(changed)) in accounted:
            rid = accounted[(function_of(name), fingerprint(changed))]
            cats[rid].append(name)
            if rid.startswith("eq-"):
                equivalent.add(name)
        else:
            removed = [line[1:] for line in changed if line.startswith("-")]
            cat = category(name, removed, [line[1:] for line in changed if line.startswith("+")])
            cats[cat].append(name)
            if cat in EQUIVALENT:
                equivalent.add(name)
    used = {(function_of(n), fingerprint(diffs[n])) for n in survivors}
    unused = len(set(accounted) - used)
    killed = count["killed"] + len(cats.get("killed by the tests added after the run", []))
    if rechecked:
        print(f"\nAfter the tests added for the survivors: **{pct(killed / scored)}** "
              f"({killed - count['killed']} of the {len(survivors)} survivors killed; re-checked with "
              "`scripts/mutation_recheck.py`).")
    non_eq = scored - len(equivalent)
    review = sum(len(v) for k, v in cats.items() if k.startswith("to review"))
    print(f"\nNon-equivalent mutants killed: **{pct(killed / non_eq)}** ({killed} of {non_eq}: {len(equivalent)} "
          "survivors are equivalent, categories `eq-*` and numpy warning suppression below; the others not "
          f"killed are counted as survivors, whatever their reason). Survivors not accounted for: **{review}**; "
          f"accounting lines that match no survivor (killed since, or their mutant changed): {unused}.\n")
    print("Reasons `eq-*` and `harmless-*` are written in `docs/mutation-accounted/" + group + ".txt`; the other "
          "categories are mechanical (see `scripts/mutation_report.py`).\n")
    print("| survivors by category | count |\n|---|---:|")
    for cat, names in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        print(f"| {cat} | {len(names)} |")
    for cat, names in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        print(f"\n## {cat} ({len(names)})\n")
        if cat in reasons:
            print(reasons[cat] + "\n")
        for name in names:
            print(f"- `{name}` `{fingerprint(diffs[name])}`{' (no test reaches it)' if status[name] == 'no tests' else ''}\n\n  ```diff\n"
                  + "\n".join("  " + line for line in diffs[name]) + "\n  ```")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--list"]:
        list_survivors(sys.argv[2])
    else:
        main(*sys.argv[1:5])
