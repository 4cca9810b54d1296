"""report.html in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which
scripts/setup.sh installs where it can) driven by selenium. Without a browser these tests skip, except in CI
(CI=true), where they fail.

Every expected value is computed here from the run directory's own files (scores.csv, results.jsonl,
texts.jsonl) with pandas / plain Python, independently of the page's JavaScript. The screenshot is saved
under the test's tmp folder, and to docs/report.png when FACTBENCH_DOCS_SCREENSHOT=1.
"""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _unavailable(message):
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install the test extra)")
    binary = next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        _unavailable("headless Chromium is missing: apt-get install chromium chromium-driver (scripts/setup.sh "
                     "does it as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1500,1000", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium would otherwise try to download one (no network here).
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, run, fragment=""):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((run / "report.html").as_uri() + fragment)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window.FB && FB.timing.table !== undefined"))


def _wait(browser, script, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(script))


def _errors(browser):
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _column(browser, selector, col):
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).filter(r => r.offsetParent !== null)"
        ".map(r => r.cells[arguments[1]].textContent)", selector, col)


def _choose(browser, select_id, value):
    browser.execute_script(
        "var s = document.getElementById(arguments[0]); s.value = arguments[1];"
        "s.dispatchEvent(new Event('change'));", select_id, value)


def _results(run):
    return [json.loads(line) for line in (run / "results.jsonl").open(encoding="utf-8")]


def test_static_tables_sort_and_filter(browser, tiny_run):
    """The tables of summary.md: present, a header click sorts the rows numerically (checked against
    Python's sort of the same cells), the filter box hides non-matching rows."""
    from selenium.webdriver.common.by import By

    _open(browser, tiny_run)
    tables = browser.find_elements(By.CSS_SELECTOR, "table.data")
    assert len(tables) >= 5  # scores, speed, stages, agreement, detection
    scores_table = next(t for t in tables if "rouge1" in t.find_element(By.TAG_NAME, "thead").text)
    heads = [th.text.strip(" \u2195") for th in scores_table.find_elements(By.CSS_SELECTOR, "thead th")]
    col = heads.index("rouge1")
    before = [r.find_elements(By.TAG_NAME, "td")[col].text for r in scores_table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    scores_table.find_elements(By.CSS_SELECTOR, "thead th")[col].click()
    after = [r.find_elements(By.TAG_NAME, "td")[col].text for r in scores_table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert after == sorted(before, key=lambda c: float(c.split()[0])) != before
    scores_table.find_elements(By.CSS_SELECTOR, "thead th")[col].click()
    descending = [r.find_elements(By.TAG_NAME, "td")[col].text for r in scores_table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert descending == sorted(before, key=lambda c: -float(c.split()[0]))

    box = browser.execute_script("return arguments[0].previousElementSibling", scores_table)
    box.send_keys("negation")
    visible = [r.text for r in scores_table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert len(visible) == 1 and "negation" in visible[0]
    assert _errors(browser) == []


def test_explorer_filters_sorts_and_searches(browser, tiny_run):
    """Explorer rows against pandas on scores.csv: a system filter, a label filter, the sort by a score
    (missing scores last, ties in run order), the disagreement sort, and free-text search of the summaries."""
    scores = pd.read_csv(tiny_run / "scores.csv", dtype={"example_id": str})
    _open(browser, tiny_run)
    rows = "#fb-rows tbody tr"
    assert _column(browser, rows, 3) == list(scores["example_id"])  # 30 rows, one page, run order

    systems = sorted(scores["system"].unique())
    _choose(browser, "fb-system", str(systems.index("faithful")))
    assert _column(browser, rows, 3) == list(scores.loc[scores["system"] == "faithful", "example_id"])
    _choose(browser, "fb-system", "-1")
    _choose(browser, "fb-label-consistent", "0")
    assert _column(browser, rows, 3) == list(scores.loc[scores["label:consistent"] == 0, "example_id"])
    _choose(browser, "fb-label-consistent", "")

    _choose(browser, "fb-sort", "score:rouge1")
    expected = scores.sort_values("rouge1", kind="stable", na_position="last")["example_id"]
    assert _column(browser, rows, 3) == list(expected)
    _choose(browser, "fb-dir", "-1")
    expected = scores.assign(neg=-scores["rouge1"]).sort_values("neg", kind="stable", na_position="last")["example_id"]
    assert _column(browser, rows, 3) == list(expected)

    # disagreement = |percentile rank of the score - percentile rank of the label| within the dataset
    _choose(browser, "fb-sort", "dis:rouge1|consistent")
    both = scores.dropna(subset=["rouge1", "label:consistent"])
    pct = lambda s: (s.rank(method="average") - 1) / (len(s) - 1)  # noqa: E731
    dis = (pct(both["rouge1"]) - pct(both["label:consistent"])).abs()
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(r => [r.cells[3].textContent,"
        " parseFloat(r.cells[r.cells.length - 2].textContent)])", rows)
    assert [v for _, v in shown] == sorted((v for _, v in shown), reverse=True)
    by_id = dict(zip(both["example_id"], dis))
    assert all(abs(v - by_id[e]) < 1e-3 for e, v in shown)
    _choose(browser, "fb-sort", "")

    texts = {t["example_id"]: t["summary"] for t in map(json.loads, (tiny_run / "texts.jsonl").open()) if "summary" in t}
    browser.execute_script("var s = document.getElementById('fb-search'); s.value = 'castle hill';"
                           "s.dispatchEvent(new Event('input'));")
    hits = [e for e in scores["example_id"] if "castle hill" in (e + " " + texts[e]).lower()]
    assert 0 < len(hits) < len(scores) and _column(browser, rows, 3) == hits
    assert _errors(browser) == []


def test_summary_view_shows_every_metric(browser, tiny_run, tmp_path):
    """Clicking a row opens its view: the source and summary from texts.jsonl, one QA-pair box per stored
    pair with one blue and one orange bar per token (bar depths in the ratio of the stored log-probs), the
    QAGS questions, FactCC sentences, and the entities not found in the source highlighted."""
    from selenium.webdriver.common.by import By

    results = _results(tiny_run)
    quals = max((r for r in results if r["metric"] == "quals"), key=lambda r: len(r["details"].get("qa_pairs", [])))
    assert quals["details"]["qa_pairs"]
    example = quals["example_id"]
    _open(browser, tiny_run)
    browser.find_element(By.CSS_SELECTOR, f'#fb-rows tr[data-row] td:nth-child(4)')  # rows rendered
    row = next(tr for tr in browser.find_elements(By.CSS_SELECTOR, "#fb-rows tbody tr")
               if tr.find_elements(By.TAG_NAME, "td")[3].text == example)
    row.click()
    _wait(browser, "return document.querySelector('#fb-view[data-open]') !== null")

    texts = [json.loads(line) for line in (tiny_run / "texts.jsonl").open()]
    text = next(t for t in texts if t.get("example_id") == example)
    source = next(t["source"] for t in texts if "source" in t and t["source_id"] == text["source_id"])
    view = browser.find_element(By.ID, "fb-view")
    assert view.find_element(By.CSS_SELECTOR, ".summary-text").text == text["summary"]
    assert browser.execute_script("return document.querySelector('#fb-view .source-text').textContent") == source

    pairs = quals["details"]["qa_pairs"]
    boxes = view.find_elements(By.CSS_SELECTOR, 'section[data-metric="quals"] .qa-pair')
    assert len(boxes) == len(pairs)
    for box, pair in zip(boxes, pairs):
        toks = box.find_elements(By.CSS_SELECTOR, "g.tok")
        assert len(toks) == len(pair["tokens"])
        assert len(box.find_elements(By.CSS_SELECTOR, "rect.bar-sum")) == len(box.find_elements(By.CSS_SELECTOR, "rect.bar-src")) == len(toks)
        heights = browser.execute_script(
            "return Array.from(arguments[0].querySelectorAll('g.tok')).map(g => ["
            "+g.querySelector('.bar-sum').getAttribute('height'), +g.querySelector('.bar-src').getAttribute('height')])", box)
        # depth is proportional to -log p (up to the 20-nat cap, far beyond the tiny models' values)
        j = max(range(len(pair["tokens"])), key=lambda k: -pair["logprobs_summary"][k])
        ref, h_ref = -pair["logprobs_summary"][j], heights[j][0]
        assert 0 < ref < 20 and h_ref > 0
        for (h_sum, h_src), a, b in zip(heights, pair["logprobs_summary"], pair["logprobs_source"]):
            assert abs(h_sum / h_ref - (-a) / ref) < 0.01 and abs(h_src / h_ref - (-b) / ref) < 0.01

    qags = next(r for r in results if r["metric"] == "qags" and r["example_id"] == example)
    assert len(view.find_elements(By.CSS_SELECTOR, 'section[data-metric="qags"] table.qags tbody tr')) == len(qags["details"]["questions"])
    factcc = next(r for r in results if r["metric"] == "factcc" and r["example_id"] == example)
    assert len(view.find_elements(By.CSS_SELECTOR, 'section[data-metric="factcc"] table.factcc tbody tr')) == len(factcc["details"]["claims"])

    # entity overlap: open a summary with an entity not found in the source
    ents = next(r for r in results if r["metric"] == "entity-overlap" and any(not e["found"] for e in r["details"]["entities"]))
    index = list(pd.read_csv(tiny_run / "scores.csv", dtype={"example_id": str})["example_id"]).index(ents["example_id"])
    browser.execute_script("FB.open(arguments[0])", index)
    _wait(browser, f"return document.querySelector('#fb-view[data-open=\"{index}\"]') !== null")
    unfound = [e["text"] for e in ents["details"]["entities"] if not e["found"]]
    marked = [m.text for m in view.find_elements(By.CSS_SELECTOR, ".summary-text mark.ent.unfound")]
    assert marked and set(marked) <= set(unfound)
    chips = [c.text.split(" \u00b7 ")[0] for c in view.find_elements(By.CSS_SELECTOR, 'section[data-metric="entity-overlap"] .chip.unfound')]
    assert chips == unfound

    # the screenshot for the README: the QUALS example's view beside the table
    browser.execute_script("FB.open(arguments[0])",
                           list(pd.read_csv(tiny_run / "scores.csv", dtype={"example_id": str})["example_id"]).index(example))
    _wait(browser, "return document.querySelector('#fb-view .qa-pair') !== null")
    browser.set_window_size(1500, 1300)
    browser.execute_script("window.scrollTo(0, document.getElementById('explorer').offsetTop - 40);"
                           "document.getElementById('fb-table-area').scrollLeft = 0;"
                           "var v = document.getElementById('fb-view');"
                           "v.scrollTop = v.querySelector('h4').offsetTop - 8;")
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    browser.set_window_size(1500, 1000)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FACTBENCH_DOCS_SCREENSHOT") == "1":
        shutil.copy(shot, REPO / "docs" / "report.png")
    assert _errors(browser) == []


def test_missing_details_show_as_unavailable(browser, tiny_run, tmp_path, write_results):
    """Details without the keys the views draw (as another QUALS version might store) give 'unavailable'
    notes in the view, and no script error."""
    from factbench.report import load_run
    from factbench.report.html import write_html

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    rows = _results(run)
    target = next(r for r in rows if r["metric"] == "quals" and r["details"].get("qa_pairs"))
    for r in rows:
        if r["example_id"] != target["example_id"]:
            continue
        if r["metric"] == "quals":
            for p in r["details"]["qa_pairs"]:
                p.pop("logprobs_source")
        elif r["metric"] == "factcc":
            r["details"] = {"claims": [{"text": "only a text"}], "truncated": True}
        elif r["metric"] == "qags":
            r["details"] = {"questions": [None, {"question": "who?"}]}
    write_results(run, rows)
    write_html(run, *load_run(run))  # the page only: summary.md's own formatters are not under test here
    index = list(pd.read_csv(run / "scores.csv", dtype={"example_id": str})["example_id"]).index(target["example_id"])
    _open(browser, run, f"#example={index}")
    _wait(browser, "return document.querySelector('#fb-view[data-open]') !== null")
    text = browser.execute_script("return document.getElementById('fb-view').textContent")
    assert text.count("per-token log-probabilities unavailable") == len(target["details"]["qa_pairs"])
    assert "input truncated" in text and "could not show" not in text and "details unavailable" not in text
    assert _errors(browser) == []


def test_tables_readable_without_javascript(browser, tiny_run):
    """With JavaScript off the summary's tables are plain HTML tables with every row, and the explorer says
    where the per-summary data are."""
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get((tiny_run / "report.html").as_uri())
        tables = browser.find_elements(By.CSS_SELECTOR, "table.data")
        scores = next(t for t in tables if "rouge1" in t.text)
        n_systems = pd.read_csv(tiny_run / "scores.csv")["system"].nunique()
        assert len(scores.find_elements(By.CSS_SELECTOR, "tbody tr")) == n_systems + 1  # + "(all)"
        assert "needs JavaScript" in browser.find_element(By.ID, "explorer").text
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
