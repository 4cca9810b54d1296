"""Reference summaries scored against themselves leave the correlations of reference-based metrics only
(DATASETS.md §2.7); expected correlations from scipy on the rows that remain."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from factbench.metrics import create
from factbench.metrics.base import Metric, Result
from factbench.runner import RunConfig, run


class Words(Metric):
    """A metric that does not use the reference (words in the summary): it keeps every record."""

    name = "words"
    score_names = ("words",)
    card_text = '+++\nname = "words"\nversion = "1"\nsummary = "words in the summary"\n[defaults]\n+++\n'

    def score(self, batch):
        return [Result({"words": float(len(r.summary.split()))}) for r in batch]


@pytest.fixture
def words(install_plugin):
    install_plugin(Words)
    return Words


def _dataset(path):
    """8 documents x 3 systems; system "gold" is the reference itself (ROUGE = 1 against itself)."""
    rng = np.random.default_rng(3)
    vocab = "the council approved a new budget on monday after long debate about schools roads taxes".split()
    rows = []
    for d in range(8):
        reference = " ".join(rng.choice(vocab, size=8))
        for system in ("gold", "s1", "s2"):
            summary = reference if system == "gold" else " ".join(rng.choice(vocab, size=int(rng.integers(3, 12))))
            rows.append({"id": f"d{d}-{system}", "doc_id": f"d{d}", "system": system, "source": "A source text.",
                         "summary": summary, "reference": reference, "label:human": float(rng.random())})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_self_references_leave_reference_based_correlations_only(tmp_path, words):
    out = run(RunConfig(datasets=[str(_dataset(tmp_path / "toy.jsonl"))], metrics=["rouge", "words"],
                        out_dir=tmp_path / "run", use_cache=False, progress=False))
    scores = pd.read_csv(out / "scores.csv", dtype={"doc_id": str})
    assert (scores.loc[scores.system == "gold", "rouge1"] == 1.0).all()  # stored: the results keep them
    table = pd.read_csv(out / "analysis" / "correlations.csv")
    row = table[(table.metric == "rouge1") & (table.level == "global") & (table.method == "Pearson")].iloc[0]
    others = scores[scores.system != "gold"]
    assert row["n"] == 16 and row["estimate"] == pytest.approx(stats.pearsonr(others.rouge1, others["label:human"])[0])
    row = table[(table.metric == "words") & (table.level == "global") & (table.method == "Pearson")].iloc[0]
    assert row["n"] == 24 and row["estimate"] == pytest.approx(stats.pearsonr(scores.words, scores["label:human"])[0])
    note = "reference summaries scored against themselves left out of rouge1, rouge2, rougeL: toy 8 (system gold)"
    assert (table["protocol"].str.endswith(note)).all()
    assert note in (out / "summary.md").read_text()


@pytest.mark.parametrize("name, gold, n", [("dialsummeval", "GOLD", 100), ("xsumfaith", "Gold", 500)])
def test_the_gold_system_is_marked_by_rouge(data_dir, name, gold, n):
    """DialSummEval's model A = GOLD and XSumFaith's Gold rows are the references (DATASETS.md §2.7): ROUGE marks
    exactly those (not the few system outputs that equal the reference word for word: they stay scored)."""
    from factbench.datasets import load

    records = load(name, data_dir).records
    results = create("rouge").score(records)
    marked = [r for r, res in zip(records, results) if res.details.get("summary_is_reference")]
    assert len(marked) == n and {r.system for r in marked} == {gold}
    assert all(res.scores["rouge1"] == pytest.approx(1.0) for r, res in zip(records, results) if r.system == gold)
