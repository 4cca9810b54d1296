"""Acceptance: FRANK partial (and plain) correlations of the 15 official metrics equal DATASETS.md §3.1.

Data: the official files human_annotations.json and baseline_factuality_metrics_outputs.json (artidoro/frank),
joined on (hash, model_name). Expected values: ../shared/reference/DATASETS.md §3.1 (computed with the FRANK
evaluate.py method: residualise on one-hot(model_name), then pearsonr / spearmanr), all 2246 summaries; FEQA and
Dep Entail drop their missing rows (2242 and 2163 remain).
"""

import json

import numpy as np
import pytest

from factbench.stats import correlate

# name: (partial Pearson, partial Spearman, plain Pearson, plain Spearman, n)
EXPECTED = {
    "Rouge 1": (0.1367, 0.1020, 0.3345, 0.3429, 2246),
    "Rouge 2": (0.1190, 0.0751, 0.2915, 0.3209, 2246),
    "Rouge L": (0.1309, 0.0888, 0.1753, 0.1768, 2246),
    "Bleu": (0.1014, 0.0670, 0.2540, 0.2819, 2246),
    "Meteor": (0.1370, 0.1053, 0.3717, 0.3923, 2246),
    "BertScore P": (0.1579, 0.1144, -0.0224, -0.0395, 2246),
    "BertScore R": (0.1306, 0.1109, 0.1590, 0.1565, 2246),
    "BertScore F1": (0.1577, 0.1273, 0.0745, 0.0672, 2246),
    "BertScore P Art": (0.2711, 0.2432, 0.6163, 0.6294, 2246),
    "BertScore R Art": (0.1432, 0.1285, 0.5003, 0.5194, 2246),
    "BertScore F1 Art": (0.2404, 0.2140, 0.6106, 0.6243, 2246),
    "FEQA": (0.0045, 0.0111, 0.5588, 0.5643, 2242),
    "QAGS": (0.0650, 0.0814, 0.5784, 0.5677, 2246),
    "Dep Entail": (0.1624, 0.1429, 0.1107, 0.0887, 2163),
    "FactCC": (0.2039, 0.3041, 0.5998, 0.5842, 2246),
}


@pytest.fixture(scope="module")
def frank(data_dir):
    folder = data_dir / "frank"
    human = json.loads((folder / "human_annotations.json").read_text())
    outputs = {(r["hash"], r["model_name"]): r
               for r in json.loads((folder / "baseline_factuality_metrics_outputs.json").read_text())}
    assert len(human) == 2246 and len(outputs) == 2246
    return human, outputs


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_frank_partial_and_plain_correlations(frank, metric):
    human, outputs = frank
    x = np.array([outputs[(r["hash"], r["model_name"])][metric] for r in human], dtype=float)
    y = np.array([r["Factuality"] for r in human])
    systems = np.array([r["model_name"] for r in human])
    keep = ~np.isnan(x)
    x, y, systems = x[keep], y[keep], systems[keep]
    got = tuple(
        correlate(x, y, systems=systems, level=level, method=method).value
        for level in ("partial", "global") for method in ("pearson", "spearman")
    )
    *expected, n = EXPECTED[metric]
    assert len(x) == n
    assert np.round(got, 4).tolist() == pytest.approx(expected, abs=1e-9)
