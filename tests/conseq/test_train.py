"""ConSeq training on the tiny BART model: it does what the loss is for (positives' log-likelihood up,
negatives' down: measured by teacher forcing, an effect that could fail), it follows fairseq's batching and
schedule rules (hand-worked), and a stopped and resumed run ends with the same weights as an unbroken one
(consistency of factbench with itself)."""

import json
import math

import numpy as np
import pytest
import torch

from factbench.conseq.train import (TrainConfig, batch_by_size, epoch_groups, ordered_indices, Pair, polynomial_lr,
                                    train)
from factbench.errors import ConfigError, DataError, RunError


@pytest.fixture(scope="module")
def pairs_file(tiny_models, tmp_path_factory):
    """Four sample documents, mined as ConSeq mines them: the reference is the positive, a top-k sample of the
    tiny model the negative."""
    from factbench.conseq.sample import SampleConfig, sample

    tmp = tmp_path_factory.mktemp("pairs")
    sample(SampleConfig(model=str(tiny_models["bart"]), dataset="sample", out=tmp / "samples.jsonl", k=1, limit=4,
                        device="cpu", progress=False))
    rows = [json.loads(line) for line in (tmp / "samples.jsonl").read_text().splitlines()]
    negatives = {r["doc_id"]: r["summary"] for r in rows if r["system"] == "sample"}
    pairs = [{"doc_id": r["doc_id"], "source": r["source"], "positive": r["summary"], "negative": negatives[r["doc_id"]]}
             for r in rows if r["system"] == "reference"]
    path = tmp / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return path


def config(tiny_models, pairs_file, out, **kw):
    # A learning rate far above the paper's 3e-6 so that a few hundred updates of a random tiny model move it.
    base = dict(model=str(tiny_models["bart"]), pairs=pairs_file, out_dir=out, lr=1e-3, update_freq=1, max_tokens=200,
                max_source_tokens=96,
                device="cpu", dtype="fp32", progress=False, save_every=1000)
    base.update(kw)
    return TrainConfig(**base)


def test_training_raises_positive_and_lowers_negative_loglik(tiny_models, pairs_file, tmp_path):
    res = train(config(tiny_models, pairs_file, tmp_path / "run", epochs=100))
    info = res.info
    assert res.finished and info["n_updates"] >= 200
    before, after = info["mean_loglik_before"], info["mean_loglik_after"]
    # measured on torch 2.13: positives -6.43 -> -1.83, negatives -6.20 -> -6.73 nats per token
    assert after["positive"] > before["positive"] + 1.0, (before, after)
    assert after["negative"] < before["negative"] - 0.2, (before, after)
    # the saved model is a normal transformers directory
    import transformers as tf

    model = tf.AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "run" / "model"))
    assert model.config.model_type == "bart"
    assert tf.AutoTokenizer.from_pretrained(str(tmp_path / "run" / "model")) is not None
    log = (tmp_path / "run" / "loss_log.csv").read_text().splitlines()
    assert len(log) == 1 + info["n_updates"] and (tmp_path / "run" / "loss_log.png").stat().st_size > 0
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    with pytest.raises(RunError, match="already holds a finished"):
        train(config(tiny_models, pairs_file, tmp_path / "run", epochs=1))


def test_stopped_and_resumed_run_equals_an_unbroken_one(tiny_models, pairs_file, tmp_path):
    """Consistency: dropout (0.1) is on, so equal weights need the random states restored too."""
    unbroken = train(config(tiny_models, pairs_file, tmp_path / "a", epochs=3))
    first = train(config(tiny_models, pairs_file, tmp_path / "b", epochs=3, stop_after=3))
    assert not first.finished and first.num_updates == 3
    with pytest.raises(RunError, match="other settings"):
        train(config(tiny_models, pairs_file, tmp_path / "b", epochs=3, lr=2e-3))
    second = train(config(tiny_models, pairs_file, tmp_path / "b", epochs=3, stop_after=2))
    resumed = train(config(tiny_models, pairs_file, tmp_path / "b", epochs=3))
    assert resumed.finished and resumed.num_updates == unbroken.num_updates > 5 and second.num_updates == 5
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "a" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "a" / "loss_log.csv").read_text().count("\n") == (tmp_path / "b" / "loss_log.csv").read_text().count("\n")


def test_batches_follow_fairseq_rules():
    # hand-worked: lengths 500, 100, 300, 300 -> order by source length, ties in file order: 1, 2, 3, 0
    pairs = [Pair(str(i), [0] * n, [0] * 5, [0] * 5) for i, n in enumerate([500, 100, 300, 300])]
    order = ordered_indices(pairs)
    assert order.tolist() == [1, 2, 3, 0]
    # 1024 tokens: [1, 2, 3] would be 3 x 300 = 900 <= 1024; adding 0 gives 4 x 500 > 1024
    assert batch_by_size(order, lambda i: pairs[i].num_tokens, 1024) == [[1, 2, 3], [0]]
    # a long negative makes the document long: num_tokens = max(source, positive, negative)
    pairs[1].negative = [0] * 600
    assert batch_by_size(order, lambda i: pairs[i].num_tokens, 1024) == [[1], [2, 3], [0]]
    with pytest.raises(ConfigError, match="more than --max-tokens 400"):
        batch_by_size(order, lambda i: pairs[i].num_tokens, 400)


def test_epoch_order_is_fairseqs_numpy_shuffle():
    batches = [[0], [1], [2], [3], [4]]
    expected = list(batches)
    np.random.seed(1 + 2)  # fairseq: data_utils.numpy_seed(seed + epoch); np.random.shuffle(batches)
    np.random.shuffle(expected)
    groups = epoch_groups(batches, epoch=2, seed=1, update_freq=2)
    assert [b for g in groups for b in g] == expected and [len(g) for g in groups] == [2, 2, 1]


def test_polynomial_decay_over_fairsEQs_default_total():
    cfg = TrainConfig(model="m", pairs="p", out_dir="o")
    assert polynomial_lr(cfg, 0) == 3e-6
    assert polynomial_lr(cfg, 500_000) == pytest.approx(1.5e-6)  # halfway through 1,000,000 updates
    assert polynomial_lr(cfg, 2_000_000) == 0.0


def test_bad_pairs_file_is_a_data_error(tiny_models, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "d", "source": "x", "positive": "y"}\n')
    with pytest.raises(DataError, match="line 1: field 'negative'"):
        train(TrainConfig(model=str(tiny_models["bart"]), pairs=bad, out_dir=tmp_path / "o", progress=False))


def test_an_update_divides_the_summed_gradient_by_the_target_tokens_of_the_whole_update(tiny_models):
    """Hand-derived from fairseq's trainer: the loss sums of all ``update_freq`` batches, differentiated once, times
    1 / (positive + negative target tokens of all of them); checked with SGD (lr 1) and no effective clipping."""
    from factbench.conseq.loss import conseq_loss
    from factbench.conseq.train import _update, collate, forward_pair, load_trainable

    model, tok, _ = load_trainable(str(tiny_models["bart"]), 0.0, 0.0, "cpu")
    mk = lambda s, p, n: Pair("d", tok(s)["input_ids"], tok(p)["input_ids"], tok(n)["input_ids"])  # noqa: E731
    group = [[mk("The council met on Monday.", "The council met.", "Nobody met at all.")],
             [mk("Rain closed the roads.", "Roads closed.", "Sun.")]]
    pad, start = model.config.pad_token_id, model.config.decoder_start_token_id
    model.train()
    total, tokens = 0.0, 0
    for pairs in group:
        batch = collate(pairs, pad, start, "cpu")
        pos, neg = forward_pair(model, batch, "fp32")
        parts = conseq_loss(pos, batch["positive_target"], neg, batch["negative_target"], epsilon=0.1, ignore_index=-100)
        total, tokens = total + parts.loss, tokens + parts.tokens
    expected_grads = torch.autograd.grad(total / tokens, list(model.parameters()), allow_unused=True)
    before = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig(model="m", pairs="p", out_dir="o", clip_norm=1e9, label_smoothing=0.1, lr=1.0)
    row = _update(model, torch.optim.SGD(model.parameters(), lr=1.0), cfg, group, pad, start, "cpu", 0)
    assert row["positive_tokens"] + row["negative_tokens"] == tokens
    for b, p, g in zip(before, model.parameters(), expected_grads):
        if g is not None:
            assert torch.allclose(b - p.detach(), g, atol=1e-6, rtol=1e-4)


def test_t5_trains_and_saves_too(tiny_models, pairs_file, tmp_path):
    res = train(TrainConfig(model=str(tiny_models["t5"]), pairs=pairs_file, out_dir=tmp_path / "t5", epochs=1,
                            device="cpu", dtype="fp32", progress=False, max_source_tokens=64))
    assert res.finished and res.num_updates >= 1
    assert all(math.isfinite(v) for v in (*res.info["mean_loglik_before"].values(), *res.info["mean_loglik_after"].values()))
    import transformers as tf

    assert tf.AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "t5" / "model")).config.model_type == "t5"


def test_forward_pair_on_a_checkpoint_whose_config_says_return_dict_false(tiny_models):
    """Oracle: transformers' own forward of the whole model (encoder included) with return_dict=True; the
    checkpoint's ``return_dict=False`` must not turn the encoder output or the logits into tuples."""
    from factbench.conseq.train import collate, forward_pair, load_trainable

    model, tok, _ = load_trainable(str(tiny_models["bart"]), 0.0, 0.0, "cpu")
    model.eval()
    model.config.return_dict = False
    pair = Pair("d", tok("The council met on Monday.")["input_ids"], tok("The council met.")["input_ids"],
                tok("Nobody met.")["input_ids"])
    batch = collate([pair], model.config.pad_token_id, model.config.decoder_start_token_id, "cpu")
    with torch.no_grad():
        pos, neg = forward_pair(model, batch, "fp32")
        for side, got in (("positive", pos), ("negative", neg)):
            want = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         decoder_input_ids=batch[side + "_decoder"], use_cache=False, return_dict=True).logits
            assert torch.allclose(got, want, atol=1e-6)
