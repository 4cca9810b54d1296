"""``factbench conseq sample|select|train`` and ``factbench compare`` (docs/conseq.md)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ..errors import ConfigError
from . import main


def _command_line() -> str:
    return "factbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@main.group()
def conseq():
    """ConSeq: sample summaries, select positives and negatives from a scored run, train with unlikelihood."""


@conseq.command("sample")
@click.option("--model", required=True, help="Summarizer: local directory, hub id (offline cache) or tiny:bart.")
@click.option("--dataset", required=True, help="Dataset name or .jsonl/.csv path; its documents and references.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output dataset file (.jsonl).")
@click.option("-k", "k", type=int, default=6, show_default=True, help="Samples per document (original: --beam 6).")
@click.option("--top-k", type=int, default=50, show_default=True, help="Top-k sampling (original: --sampling_topk 50).")
@click.option("--min-len", type=int, default=10, show_default=True, help="Tokens before EOS may come (original: --min_len).")
@click.option("--max-len", type=int, default=60, show_default=True, help="Tokens before EOS at most (original: --max_len).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--system", default="sample", show_default=True, help="System name of the sampled rows.")
@click.option("--batch-docs", type=int, default=4, show_default=True, help="Documents per generate() call.")
@click.option("--prefix", default="", help="Text put before each source (T5: 'summarize: ').")
@click.option("--split", default=None, help="Only documents of this split.")
@click.option("--limit", type=int, default=None, help="Only the first N documents.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Benchmark data directory.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or mps.")
@click.option("--dtype", default="fp32", show_default=True, help="fp32, bf16 or fp16.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sample_cmd(model, dataset, out, k, top_k, min_len, max_len, seed, system, batch_docs, prefix, split, limit,
               data_dir, device, dtype, quiet):
    """K top-k samples per document plus the reference, written as a dataset file for `factbench run`."""
    from ..conseq.sample import SampleConfig, sample

    cfg = SampleConfig(model=model, dataset=dataset, out=out, k=k, top_k=top_k, min_len=min_len, max_len=max_len,
                       seed=seed, system=system, batch_docs=batch_docs, prefix=prefix, split=split, limit=limit,
                       data_dir=str(data_dir) if data_dir else None, device=device, dtype=dtype, progress=not quiet)
    click.echo(f"wrote {sample(cfg)}")


@conseq.command("select")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--by", type=click.Choice(["quals", "rouge"]), default="quals", show_default=True,
              help="quals: the QUALS column; rouge: mean of ROUGE-1/2/L F against the reference (no target rule).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Pairs file (.jsonl).")
@click.option("--unlike-ratio", type=float, default=0.3, show_default=True,
              help="Share of documents kept by their lowest-scoring sample (original: --unlike_select_ratio).")
@click.option("--target-ratio", type=float, default=0.3, show_default=True,
              help="Share of documents kept by their reference's score (original: --target_select_ratio).")
@click.option("--dataset", "datasets", multiple=True, help="The sampled dataset file(s), if not at run.json's path.")
def select_cmd(run_dir, by, out, unlike_ratio, target_ratio, datasets):
    """Positive (reference) and negative (lowest sample) per document of a scored run, by the original's rules."""
    from ..conseq.select import select_run

    sel = select_run(run_dir, out, by, unlike_ratio, target_ratio, list(datasets) or None)
    s = sel.summary
    click.echo(f"{s['documents']} documents: {s['kept_by_negative_rule']} kept by the negative rule, "
               f"{s['kept_by_target_rule']} by the target rule, {s['kept_by_both']} by both "
               f"({s['documents_without_scored_sample']} without a scored sample, "
               f"{s['references_without_score']} references without a score)")
    click.echo(f"wrote {out}")


@conseq.command("train")
@click.option("--model", required=True, help="The MLE summarizer to start from (directory, hub id or tiny:bart).")
@click.option("--pairs", type=click.Path(path_type=Path), required=True, help="Pairs file from `conseq select`.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Training directory: checkpoint, loss log, then model/ (resumes when it holds a checkpoint).")
@click.option("--lr", type=float, default=3e-6, show_default=True)
@click.option("--epochs", type=int, default=2, show_default=True)
@click.option("--max-tokens", type=int, default=1024, show_default=True, help="Token budget of a batch.")
@click.option("--update-freq", type=int, default=4, show_default=True, help="Batches per update.")
@click.option("--dropout", type=float, default=0.1, show_default=True, help="Dropout and attention dropout.")
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@click.option("--clip-norm", type=float, default=0.1, show_default=True)
@click.option("--label-smoothing", type=float, default=0.1, show_default=True)
@click.option("--total-num-update", type=int, default=1_000_000, show_default=True,
              help="Updates over which the learning rate decays linearly to 0 (fairseq's default).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed (fairseq's default 1).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or mps.")
@click.option("--dtype", default="auto", show_default=True, help="auto (bf16 on a GPU that has it), fp32 or bf16.")
@click.option("--prefix", default="", help="Text put before each source (T5: 'summarize: ').")
@click.option("--max-source-tokens", type=int, default=None, help="Cut sources to this (default: the model's maximum).")
@click.option("--max-target-tokens", type=int, default=1024, show_default=True)
@click.option("--save-every", type=int, default=100, show_default=True, help="Checkpoint every N updates.")
@click.option("--stop-after", type=int, default=None, help="Stop after N updates in this call (run again to resume).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(model, pairs, out_dir, lr, epochs, max_tokens, update_freq, dropout, weight_decay, clip_norm,
              label_smoothing, total_num_update, seed, device, dtype, prefix, max_source_tokens, max_target_tokens,
              save_every, stop_after, quiet):
    """Fine-tune a seq2seq summarizer with the ConSeq loss (defaults: the paper's)."""
    from ..conseq.train import TrainConfig, train

    cfg = TrainConfig(model=model, pairs=pairs, out_dir=out_dir, lr=lr, epochs=epochs, max_tokens=max_tokens,
                      update_freq=update_freq, dropout=dropout, attention_dropout=dropout, weight_decay=weight_decay,
                      clip_norm=clip_norm, label_smoothing=label_smoothing, total_num_update=total_num_update,
                      seed=seed, device=device, dtype=dtype, prefix=prefix, max_source_tokens=max_source_tokens,
                      max_target_tokens=max_target_tokens, save_every=save_every, stop_after=stop_after,
                      progress=not quiet, command=_command_line())
    res = train(cfg)
    if not res.finished:
        click.echo(f"stopped after {res.num_updates} updates; run the same command again to resume")
        return
    info = res.info
    b, a = info["mean_loglik_before"], info["mean_loglik_after"]
    click.echo(f"{info['n_updates']} updates; mean log-likelihood per token: positives {b['positive']:.4f} -> "
               f"{a['positive']:.4f}, negatives {b['negative']:.4f} -> {a['negative']:.4f}")
    click.echo(f"wrote {out_dir / 'model'}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--systems", required=True, help="Comma-separated systems, baseline first: e.g. mle,conseq.")
@click.option("--metrics", default=None, help="Only these score columns (default: all of the run).")
@click.option("--human", type=click.Path(path_type=Path), default=None,
              help="Preferences file (.csv/.tsv/.jsonl): doc_id, system_a, system_b, attribute, preference (a|b|equal).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder (default RUN_DIR/compare).")
@click.option("--bootstrap", type=int, default=1000, show_default=True, help="Bootstrap resamples over documents.")
@click.option("--permutations", type=int, default=10000, show_default=True, help="Sign-flip permutations.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--confidence", type=float, default=0.95, show_default=True)
def compare(run_dir, systems, metrics, human, out_dir, bootstrap, permutations, seed, confidence):
    """Systems compared on a run's scores, paired over documents (and against human preferences)."""
    from ..conseq.compare import compare_run

    names = [s.strip() for s in systems.split(",") if s.strip()]
    if len(names) < 2:
        raise ConfigError("--systems needs at least two comma-separated systems")
    metric_names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    path = compare_run(run_dir, names, out_dir, human=human, metrics=metric_names, n_resamples=bootstrap,
                       n_permutations=permutations, seed=seed, confidence=confidence, command=_command_line())
    click.echo(f"wrote {path}")
