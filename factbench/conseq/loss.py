"""The ConSeq loss, as ``criterions/label_smoothed_cross_entropy_with_unlikelihood.py`` computes it.

For a batch of documents with a positive target ``y+`` and a negative target ``y-`` each::

    loss = LS(log p(. | doc, y+_<t), y+_t)  +  LS(log(max(1 - p(. | doc, y-_<t), 1e-20)), y-_t)

    LS(l, y) = (1 - eps) * (-l[y]) + eps / V * sum_v (-l[v])     summed over the non-padding target tokens

with ``eps`` = 0.1 and ``V`` the vocabulary size. The unlikelihood term is fairseq's label-smoothed NLL
applied to ``log(1 - p)`` instead of ``log p``: the smoothing part therefore pushes *every* vocabulary
entry's probability down at a negative position, weighted ``eps / V``. The sums are returned unnormalised;
the trainer divides the gradient by the number of target tokens of both batches over the whole update
(fairseq's ``sample_size``), as the original's trainer does.
"""

from __future__ import annotations

from dataclasses import dataclass

CLAMP = 1e-20  # the original clamps 1 - p at this value before the log
LABEL_SMOOTHING = 0.1  # --label-smoothing 0.1 in scripts/launch_sagemaker_unlikelihood_*.py


def label_smoothed_nll(lprobs, target, epsilon: float, ignore_index: int | None):
    """fairseq's ``label_smoothed_nll_loss`` with ``reduce=True``: ``(loss, nll)`` summed over tokens.

    Parameters
    ----------
    lprobs : Tensor, shape (..., V)
        Log-probabilities (or, for the unlikelihood term, ``log(1 - p)``).
    target : LongTensor, shape (...)
        Target ids; positions equal to ``ignore_index`` count nothing.
    epsilon : float
        Label smoothing.
    """
    target = target.unsqueeze(-1)
    nll = -lprobs.gather(dim=-1, index=target.clamp(min=0))
    smooth = -lprobs.sum(dim=-1, keepdim=True)
    if ignore_index is not None:
        pad = target.eq(ignore_index)
        nll = nll.masked_fill(pad, 0.0)
        smooth = smooth.masked_fill(pad, 0.0)
    nll, smooth = nll.sum(), smooth.sum()
    eps_i = epsilon / lprobs.size(-1)
    return (1.0 - epsilon) * nll + eps_i * smooth, nll


def unlikelihood_lprobs(lprobs):
    """``log(clamp(1 - exp(lprobs), min=1e-20))``: the log-probability of *not* emitting each token."""
    import torch

    return torch.log(torch.clamp(1.0 - lprobs.exp(), min=CLAMP))


@dataclass
class LossParts:
    """Sums over one batch (not normalised): the total, each term, their un-smoothed NLLs, token counts."""

    loss: object
    positive: object
    negative: object
    positive_nll: object
    negative_nll: object
    positive_tokens: int
    negative_tokens: int

    @property
    def tokens(self) -> int:
        """fairseq's ``sample_size``: target tokens of the positive and the negative batch together."""
        return self.positive_tokens + self.negative_tokens


def conseq_loss(pos_logits, pos_target, neg_logits, neg_target, *, epsilon: float = LABEL_SMOOTHING,
                ignore_index: int | None = None) -> LossParts:
    """The ConSeq loss of one batch from the decoder logits of the positive and the negative targets.

    The log-softmax runs in float32 whatever the model's dtype (bf16 logits lose the small probabilities
    that ``1 - p`` and the smoothing sum depend on).

    Examples
    --------
    >>> import torch
    >>> logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    >>> parts = conseq_loss(logits, torch.tensor([[0]]), logits, torch.tensor([[0]]), epsilon=0.0)
    >>> round(float(parts.positive), 4), round(float(parts.negative), 4)  # -log 0.5 and -log(1 - 0.5)
    (0.6931, 0.6931)
    """
    import torch

    pos_lp = torch.log_softmax(pos_logits.float(), dim=-1)
    neg_lp = unlikelihood_lprobs(torch.log_softmax(neg_logits.float(), dim=-1))
    pos_loss, pos_nll = label_smoothed_nll(pos_lp, pos_target, epsilon, ignore_index)
    neg_loss, neg_nll = label_smoothed_nll(neg_lp, neg_target, epsilon, ignore_index)

    def count(target):
        return int(target.numel() if ignore_index is None else target.ne(ignore_index).sum())

    return LossParts(pos_loss + neg_loss, pos_loss, neg_loss, pos_nll, neg_nll, count(pos_target), count(neg_target))
