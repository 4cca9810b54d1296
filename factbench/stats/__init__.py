"""Meta-evaluation statistics on stored per-example scores: small pure functions on numpy arrays.

- :mod:`.correlation` — Pearson, Spearman, Kendall (tau-b/tau-c) at summary, system and global level, and the
  partial correlation controlling for the system (FRANK).
- :mod:`.weighted` — the vectorised kernels behind them (frequency-weighted correlations, so one call evaluates
  every bootstrap resample at once).
- :mod:`.resampling` — bootstrap confidence intervals over inputs, systems or both; the Fisher interval.
- :mod:`.significance` — Williams test, paired permutation test, bootstrap difference.
- :mod:`.detection` — balanced accuracy with a threshold tuned on the validation cut (SummaC), ROC AUC.
"""

from .correlation import CorrelationResult, Layout, correlate, kendall, make_layout, pearson, spearman
from .detection import balanced_accuracy, evaluate_detection, roc_auc, tune_threshold
from .resampling import Interval, bootstrap_ci, bootstrap_distribution, fisher_interval
from .significance import bootstrap_difference, permutation_test, williams_test

__all__ = [
    "CorrelationResult", "Layout", "correlate", "kendall", "make_layout", "pearson", "spearman",
    "balanced_accuracy", "evaluate_detection", "roc_auc", "tune_threshold",
    "Interval", "bootstrap_ci", "bootstrap_distribution", "fisher_interval",
    "bootstrap_difference", "permutation_test", "williams_test",
]
