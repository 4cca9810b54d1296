"""Re-check the survivors of a finished mutmut run against test files added since, in one process:

    python scripts/mutation_recheck.py WORK_DIR [--only NAME_PART]... TEST_FILE... > RECHECK_FILE

``--only``: re-check only the survivors whose name contains NAME_PART (e.g. ``stats.weighted.x_ranks``).

mutmut's trampolines read ``MUTANT_UNDER_TEST`` at every call, so one pytest session per survivor in the same
interpreter runs the given tests (copied into WORK_DIR/mutants first) against that mutant; pytest's exit code 1
(a test failed) means killed. Prints "MUTANT killed|survived|rc=N" per survivor, for scripts/mutation_report.py.
A survivor that the new tests kill would also be killed by a full mutmut run that includes them.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from pathlib import Path


def main(work: str, args: list[str]) -> None:
    only, tests = [], []
    while args:
        arg = args.pop(0)
        if arg == "--only":
            only.append(args.pop(0))
        else:
            tests.append(arg)
    repo = Path.cwd()
    os.chdir(Path(work))
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    survivors = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        survivors += [n for n, c in data.exit_code_by_key.items() if status_by_exit_code[c] in ("survived", "no tests")]
    for t in tests:
        shutil.copy(repo / t, Path("mutants") / t)
    os.chdir("mutants")
    sys.path.insert(0, os.getcwd())
    import pytest

    for name in sorted(n for n in survivors if not only or any(part in n for part in only)):
        os.environ["MUTANT_UNDER_TEST"] = name
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])
        print(name, "killed" if rc == 1 else "survived" if rc == 0 else f"rc={int(rc)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
