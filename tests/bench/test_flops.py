"""FLOP estimates on configurations whose parameter counts are computed by hand, and the counting pass
against hand-computed matmul and attention FLOPs."""

import pytest
import torch
import transformers as tf

from factbench.bench.flops import ParamCounts, estimate, param_counts


def small_bart():
    cfg = tf.BartConfig(vocab_size=10, d_model=4, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1,
                        decoder_attention_heads=1, encoder_ffn_dim=8, decoder_ffn_dim=8, max_position_embeddings=16)
    return tf.BartForConditionalGeneration(cfg)


def small_bert():
    cfg = tf.BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8,
                        max_position_embeddings=16, type_vocab_size=2)
    return tf.BertForQuestionAnswering(cfg)


def test_bart_param_split_hand_computed():
    # Hand count, d=4, ffn=8, one layer each side:
    #   attention block: 4 linears of 4x4 + bias = 80; layer norm = 8; fc1 4x8+8 = 40; fc2 8x4+4 = 36
    #   encoder: layer 80+8+40+36+8 = 172, plus layernorm_embedding 8 -> 180
    #   decoder: self-attn 80 + LN 8 + cross q,o 40 + LN 8 + fc1 40 + fc2 36 + LN 8 = 220, + layernorm_embedding 8 -> 228
    #   cross k,v: 2 x 20 = 40; LM head: vocab 10 x d 4 = 40 (tied to the shared embedding)
    #   embeddings: shared 10x4 = 40 + 2 learned position tables (16+2 offset) x 4 = 144 -> 184
    pc = param_counts(small_bart())
    assert (pc.encoder, pc.decoder, pc.cross_kv, pc.head, pc.embedding) == (180, 228, 40, 40, 184)
    assert (pc.d_model, pc.encoder_layers, pc.decoder_layers, pc.is_seq2seq) == (4, 1, 1, True)


def test_bart_estimate_hand_computed():
    # 2 * (180 * 100 encoder tokens + (228 + 40) * 10 decoder tokens + 40 * 100 cross-K/V rows) = 49360
    assert estimate(small_bart(), 100, 10) == 49360.0
    # cross K/V recomputed for 10 decoder rows of a 100-token source: 1000 rows instead of 100
    assert estimate(small_bart(), 100, 10, cross_kv_tokens=1000) == 49360.0 + 2 * 40 * 900


def test_bert_qa_estimate_hand_computed():
    # embeddings LN 8 + layer (q,k,v 60 + attn out 20 + LN 8 + intermediate 40 + out 36 + LN 8 = 172) + qa_outputs 4x2+2 = 10
    pc = param_counts(small_bert())
    assert (pc.encoder, pc.decoder, pc.head, pc.embedding, pc.is_seq2seq) == (190, 0, 0, 40 + 64 + 8, False)
    assert estimate(small_bert(), 50) == 2 * 190 * 50
    # attention scores: 4 * d * layers * S per token: 4 * 4 * 1 * 50 * 50 tokens = 40000
    assert estimate(small_bert(), 50, source_len=50) == 2 * 190 * 50 + 40000


def test_attention_terms_seq2seq():
    pc = ParamCounts(encoder=0, decoder=0, cross_kv=0, head=0, embedding=0, d_model=2, encoder_layers=3,
                     decoder_layers=5, is_seq2seq=True)
    # encoder 4*2*3*S(10)*tokens_in(10) = 2400; cross 4*2*5*10*tokens_out(4) = 1600; self 4*2*5*(3+1)/2*4 = 320
    assert estimate(pc, 10, 4, source_len=10, target_len=3) == 2400 + 1600 + 320


def test_real_sizes_match_published_parameter_totals():
    # BART-base has 139.4M parameters and BERT-base 108.9M (tied weights counted once, as in transformers):
    # the split must add up to the total of model.parameters().
    from factbench.bench.archs import meta_model

    for kind, total in (("seq2seq", 139_420_416), ("qa", 108_893_186)):
        m = meta_model("base", kind)
        pc = param_counts(m)
        assert sum(p.numel() for p in m.parameters()) == total
        tied_head = pc.head if kind == "seq2seq" else 0  # BART's LM head is the shared embedding, counted in both
        assert pc.encoder + pc.decoder + pc.cross_kv + pc.head + pc.embedding - tied_head == total


def test_negative_tokens_rejected():
    with pytest.raises(ValueError):
        estimate(small_bert(), -1)


def test_counting_pass_hand_computed():
    """Counted FLOPs of one BERT forward = linear layers + attention, both computed by hand."""
    from factbench.bench.counting import counting, model_tokens
    from factbench.timing import StageTimer

    class Holder:
        timer = StageTimer()

    model = small_bert().eval()
    holder = Holder()
    holder.model = model
    with counting(holder) as timer:
        with holder.timer.stage("qa"), torch.inference_mode():
            model(input_ids=torch.ones(2, 7, dtype=torch.long))
    # linears: q,k,v,attn-out 4x4 each (4*16), intermediate 4x8 (32), output 8x4 (32), qa head 4x2 (8) = 136 weights;
    # each sees 2 x 7 = 14 rows: 2 * 14 * 136 = 3808. Attention: QK^T and AV, 2 * 2 * B(2) * S(7) * S(7) * d(4) = 1568.
    assert timer.flops["qa"] == 3808 + 1568
    tokens = model_tokens(timer, {"qa": model})["qa"]["qa"]
    assert tokens["tokens_in"] == 14 and tokens["linear_flops"] == 3808
    assert tokens["estimate_2n"] == 2 * 190 * 14
