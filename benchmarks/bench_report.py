"""How fast report.html opens in headless Chromium, how fast the first summary view appears, and how big the
report is on disk.

    python benchmarks/bench_report.py RUN_DIR [--repeat 5]          # e.g. a FRANK run
    python benchmarks/bench_report.py --synthetic 100000 --out DIR   # a generated run, to check paging

For RUN_DIR the page is regenerated first (``write_html``: report.html and report_data/, timed; not the
analysis, which write_reports would redo). ``--synthetic N`` writes a run
directory of N invented summaries (20 documents per dataset split, 8 systems, two labels, ROUGE- and
entity-overlap-shaped scores and details, QUALS-shaped details with ``--qa-pairs`` pairs of ``--qa-tokens``
tokens and QAGS-shaped details with ``--questions`` questions; the defaults, 10 x 20 and 20, are the papers'
settings, so ``--synthetic 2246`` is a FRANK-sized run with every metric's details) and writes only its page
(the statistics of summary.md are not what is measured here).

Times come from the page itself: ``FB.timing`` holds ``performance.now()`` (milliseconds since navigation
start) when the index was read, the first table drawn, and a summary view drawn. Each repeat is a fresh page
load in the same browser (so the file cache is warm after the first; the first is reported separately).
Measured on a shared 2-core machine under other people's load: absolute times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1500,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _wait(driver, script, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda d: d.execute_script(script))


def _action(driver, script):
    """Milliseconds the page needs to redraw after ``script`` (a filter, sort or page change)."""
    return driver.execute_script(
        "var t = performance.now();" + script + "; return performance.now() - t;")


def measure(run_dir: Path, repeat: int, example: int) -> dict:
    driver = _browser()
    url = (run_dir / "report.html").as_uri()
    opens, views, walls = [], [], []
    actions: dict[str, list[float]] = {}
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            driver.get(url)
            _wait(driver, "return window.FB && FB.timing.table !== undefined")
            walls.append((time.perf_counter() - t0) * 1000)
            opens.append(driver.execute_script("return FB.timing.table"))
            # first summary view: from the click to the drawn view, its chunk file loaded on demand
            driver.execute_script("window.__t = performance.now(); FB.open(arguments[0]);", example)
            _wait(driver, "return document.querySelector('#fb-view[data-open]') !== null")
            views.append(driver.execute_script("return FB.timing.view - window.__t"))
            steps = {
                "search": "var s = document.getElementById('fb-search'); s.value = 'the'; s.dispatchEvent(new Event('input'))",
                "sort by a score": "var s = document.getElementById('fb-sort'); s.selectedIndex = 1; s.dispatchEvent(new Event('change'))",
                "sort by disagreement": "var s = document.getElementById('fb-sort'); s.selectedIndex = s.options.length - 1;"
                                        "s.dispatchEvent(new Event('change'))",
                "next page": "document.getElementById('fb-next').click()",
            }
            for name, script in steps.items():
                actions.setdefault(name, []).append(_action(driver, script))
    finally:
        driver.quit()
    return {
        "open_ms_first": round(opens[0], 1),
        "open_ms_median": round(statistics.median(opens), 1),
        "open_wall_ms_median": round(statistics.median(walls), 1),
        "first_view_ms_median": round(statistics.median(views), 1),
        "actions_ms_median": {k: round(statistics.median(v), 1) for k, v in actions.items()},
        "repeat": repeat,
    }


def synthetic(out: Path, n: int, qa_pairs: int = 10, qa_tokens: int = 20, questions: int = 20, seed: int = 0) -> Path:
    """A run directory of ``n`` invented summaries with the files the report reads."""
    from factbench.io import write_json
    from factbench.report.texts import TEXTS_FILE

    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    words = ("the council said on monday that the new bridge would open in june after repairs cost "
             "four million pounds and a flood closed the river road for eight months").split()
    systems = [f"system{k}" for k in range(8)]
    n_docs = max(1, n // len(systems))
    meta = {
        "factbench_version": "synthetic", "seed": seed, "started": "", "ended": "", "machine": {},
        "datasets": [{"name": "synthetic", "split": "all", "n": n, "description": "generated by bench_report.py",
                      "label_scales": {"consistent": {"low": 0, "high": 1, "kind": "binary", "description": ""},
                                       "score": {"low": 0, "high": 1, "kind": "continuous", "description": ""}}}],
        "metrics": {"rouge": {"signature": "synthetic", "score_names": ["rouge1", "rougeL"]},
                    "entity-overlap": {"signature": "synthetic", "score_names": ["entity_overlap"]},
                    "quals": {"signature": "synthetic", "score_names": ["quals"]},
                    "qags": {"signature": "synthetic", "score_names": ["qags"]}},
    }
    write_json(out / "run.json", meta)
    with open(out / "scores.csv", "w", encoding="utf-8") as scores, open(out / "results.jsonl", "w", encoding="utf-8") as res, \
            open(out / TEXTS_FILE, "w", encoding="utf-8") as texts:
        scores.write("dataset,split,example_id,doc_id,system,label:consistent,label:score,rouge1,rougeL,entity_overlap,quals,"
                     "qags\n")
        for d in range(n_docs):
            texts.write(json.dumps({"source_id": d, "source": " ".join(rng.choices(words, k=400))}) + "\n")
        for i in range(n):
            doc, system = i // len(systems) % n_docs, systems[i % len(systems)]
            eid = f"d{doc}:{system}:{i}"
            split = "test" if doc % 2 else "valid"
            r1, rl, eo, q, qa = rng.random(), rng.random(), rng.random(), -rng.random() * 3, rng.random()
            scores.write(f"synthetic,{split},{eid},d{doc},{system},{rng.randint(0, 1)},{rng.random():.3f},{r1},{rl},{eo},{q},"
                         f"{qa}\n")
            texts.write(json.dumps({"dataset": "synthetic", "example_id": eid, "source_id": doc,
                                    "summary": " ".join(rng.choices(words, k=30)), "references": []}) + "\n")
            pairs = [{"question": "what " + " ".join(rng.choices(words, k=6)) + "?", "answer": rng.choice(words),
                      "tokens": rng.choices(words, k=qa_tokens), "gen_score": -rng.random() * 20,
                      "logprobs_source": [-rng.random() * 8 for _ in range(qa_tokens)],
                      "logprobs_summary": [-rng.random() * 3 for _ in range(qa_tokens)],
                      "summary_side": "teacher-forced", "mean_source": -4.0, "mean_summary": -1.5, "diff": -2.5}
                     for _ in range(qa_pairs)]
            asked = [{"question": "what " + " ".join(rng.choices(words, k=6)) + "?", "qg_score": -rng.random(),
                      "qg_answer": rng.choice(words), "padded": False, "answer_summary": " ".join(rng.choices(words, k=2)),
                      "answer_source": " ".join(rng.choices(words, k=3)), "f1": rng.random()} for _ in range(questions)]
            for metric, sc, details in (
                ("rouge", {"rouge1": r1, "rougeL": rl}, {"against": "reference"}),
                ("entity-overlap", {"entity_overlap": eo},
                 {"entities": [{"text": w, "label": "ORG", "found": rng.random() < 0.8} for w in rng.choices(words, k=4)]}),
                ("quals", {"quals": q}, {"n_generated": 60, "n_unparsable": 3, "n_pairs": 57, "n_kept": 20,
                                         "n_selected": qa_pairs, "qa_pairs": pairs}),
                ("qags", {"qags": qa}, {"answers": rng.choices(words, k=10), "questions": asked}),
            ):
                res.write(json.dumps({"dataset": "synthetic", "example_id": eid, "metric": metric, "signature": "synthetic",
                                      "scores": sc, "missing": None, "details": details}) + "\n")
    (out / "summary.md").write_text(f"# factbench run\n\nSynthetic run of {n} summaries (bench_report.py).\n")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", nargs="?", type=Path)
    parser.add_argument("--synthetic", type=int, default=None, help="Generate a run of N summaries instead.")
    parser.add_argument("--out", type=Path, default=None, help="Where --synthetic writes its run directory.")
    parser.add_argument("--qa-pairs", type=int, default=10, help="--synthetic: QUALS pairs per summary.")
    parser.add_argument("--qa-tokens", type=int, default=20, help="--synthetic: tokens per QUALS pair.")
    parser.add_argument("--questions", type=int, default=20, help="--synthetic: QAGS questions per summary.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--example", type=int, default=0, help="Row whose summary view is timed.")
    parser.add_argument("--no-write", action="store_true", help="RUN_DIR: measure the page as it is, do not regenerate it.")
    args = parser.parse_args()
    from factbench.report import load_run
    from factbench.report.html import write_html

    if args.synthetic:
        run_dir = synthetic(args.out or Path("reports") / f"synthetic-{args.synthetic}", args.synthetic,
                            args.qa_pairs, args.qa_tokens, args.questions)
        t0 = time.perf_counter()
        write_html(run_dir, *load_run(run_dir))
    elif args.run_dir:
        run_dir = args.run_dir
        t0 = time.perf_counter()
        if not args.no_write:
            write_html(run_dir, *load_run(run_dir))
    else:
        parser.error("give RUN_DIR or --synthetic N")
    written_s = time.perf_counter() - t0
    meta, scores = load_run(run_dir)
    result = {
        "run_dir": str(run_dir),
        "summaries": len(scores),
        "write_s": None if args.no_write else round(written_s, 2),
        "html_mb": round(_size(run_dir / "report.html") / 1e6, 2),
        "report_data_mb": round(_size(run_dir / "report_data") / 1e6, 2),
        "report_data_files": len(list((run_dir / "report_data").iterdir())),
        "index_mb": round(_size(run_dir / "report_data" / "index.js") / 1e6, 2),
        "largest_chunk_kb": round(max(_size(p) for p in (run_dir / "report_data").glob("chunk_*.js")) / 1e3, 1),
        "cpus": os.cpu_count(),
        **measure(run_dir, args.repeat, args.example),
    }
    result["report_mb"] = round(result["html_mb"] + result["report_data_mb"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
