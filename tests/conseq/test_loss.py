"""The ConSeq loss against values computed by hand from the original criterion's formula
(``label_smoothed_cross_entropy_with_unlikelihood.py``): correctness, not consistency."""

import math

import pytest
import torch

from factbench.conseq.loss import CLAMP, conseq_loss, label_smoothed_nll


def logits_of(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float32))


def ls(nll_terms, smooth_terms, eps, vocab):
    """fairseq: (1 - eps) * sum(-l[y]) + eps / V * sum_positions sum_v(-l[v])."""
    return (1 - eps) * sum(nll_terms) + eps / vocab * sum(smooth_terms)


def test_loss_equals_the_hand_computed_value_with_smoothing_and_the_clamp():
    eps, V = 0.1, 3
    # positive: one position, p = (0.5, 0.3, 0.2), target 0; a second, padded position must count nothing
    pos_logits = torch.stack([logits_of([0.5, 0.3, 0.2]), logits_of([0.1, 0.1, 0.8])]).unsqueeze(0)
    pos_target = torch.tensor([[0, -100]])
    # negative: p = (0.7, 0.2, 0.1), target 0; then a position where p(target) is 1 in float32, so 1 - p = 0
    # and log(1 - p) would be -inf without the clamp
    neg_logits = torch.stack([logits_of([0.7, 0.2, 0.1]), torch.tensor([0.0, -100.0, -100.0])]).unsqueeze(0)
    neg_target = torch.tensor([[0, 0]])
    parts = conseq_loss(pos_logits, pos_target, neg_logits, neg_target, epsilon=eps, ignore_index=-100)

    pos_expected = ls([-math.log(0.5)], [-(math.log(0.5) + math.log(0.3) + math.log(0.2))], eps, V)
    clamp = -math.log(CLAMP)  # 46.0517: -log(1e-20)
    neg_expected = ls(
        [-math.log(1 - 0.7), clamp],
        # first position: -(log 0.3 + log 0.8 + log 0.9); second: the clamped target + two tokens with 1 - p = 1
        [-(math.log(0.3) + math.log(0.8) + math.log(0.9)), clamp + 0.0 + 0.0],
        eps, V,
    )
    assert float(parts.positive) == pytest.approx(pos_expected, rel=1e-5)
    assert float(parts.negative) == pytest.approx(neg_expected, rel=1e-5)
    assert float(parts.loss) == pytest.approx(pos_expected + neg_expected, rel=1e-5)
    assert pos_expected == pytest.approx(0.740718, abs=1e-6)  # the same numbers worked on paper
    assert neg_expected == pytest.approx(1.134658 + 42.981588, abs=1e-5)
    assert float(parts.positive_nll) == pytest.approx(-math.log(0.5), rel=1e-6)
    assert float(parts.negative_nll) == pytest.approx(-math.log(0.3) + clamp, rel=1e-6)
    # fairseq's sample_size: the non-padding target tokens of both sides
    assert (parts.positive_tokens, parts.negative_tokens, parts.tokens) == (1, 2, 3)


def test_the_clamped_loss_has_finite_gradients():
    logits = torch.tensor([[[0.0, -100.0, -100.0]]], requires_grad=True)
    parts = conseq_loss(logits, torch.tensor([[1]]), logits, torch.tensor([[0]]), epsilon=0.1)
    parts.loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_without_smoothing_the_terms_are_plain_nll_and_unlikelihood():
    logits = logits_of([[[0.6, 0.4]]])
    loss, nll = label_smoothed_nll(torch.log_softmax(logits, -1), torch.tensor([[1]]), 0.0, None)
    assert float(loss) == pytest.approx(-math.log(0.4), rel=1e-6) and float(nll) == float(loss)
    parts = conseq_loss(logits, torch.tensor([[0]]), logits, torch.tensor([[0]]), epsilon=0.0)
    assert float(parts.negative) == pytest.approx(-math.log(1 - 0.6), rel=1e-6)
