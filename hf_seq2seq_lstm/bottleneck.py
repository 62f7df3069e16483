"""The bottleneck study: how output quality falls with source length without attention, and what attention and
source reversal change. `scripts/bottleneck_study.py` is its command line.

Every model variant is the same LSTM encoder-decoder (unidirectional one-layer encoder and decoder, so that
`reverse_source` means what it meant for Sutskever et al.) trained for the same number of steps on the same
batches with the same optimiser; only the attention (none, Bahdanau, Luong general) or the source order differs.
Each is then decoded greedily on held-out data and scored by source-length bucket:

* synthetic copy task (`tasks.synthetic`): token accuracy and exact match, lengths 5-60;
* Multi30k de->en, when given: sacreBLEU per source-length bucket (in words).

Models train in worker processes (`jobs` at a time, one CPU thread each by default), so the variants run side by
side on a multi-core machine.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import torch

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .evaluation import bleu_by_bucket, score_by_bucket, sequence_scores
from .modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from .tasks.synthetic import EOS_ID, SyntheticTask, collate, strip_special

logger = logging.getLogger(__name__)

__all__ = ["CSV_FIELDS", "VARIANTS", "StudySettings", "Variant", "markdown_tables", "plot_study", "read_csv",
           "run_study", "write_csv"]


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    config: dict


VARIANTS = (
    Variant("none", "no attention", {"attention": "none"}),
    Variant("none_reversed", "no attention, reversed source", {"attention": "none", "reverse_source": True}),
    Variant("bahdanau", "Bahdanau attention", {"attention": "bahdanau"}),
    Variant("luong", "Luong attention (general)", {"attention": "luong_general"}),
)

CSV_FIELDS = ("dataset", "model", "variant", "bucket", "low", "high", "count", "token_accuracy", "exact_match",
              "bleu", "steps", "train_seconds", "final_loss")


@dataclass
class StudySettings:
    """What `run_study` trains and evaluates; the defaults are the study of docs/bottleneck.png."""

    # synthetic task
    synthetic: bool = True
    task: str = "copy"
    num_symbols: int = 20
    min_length: int = 5
    max_length: int = 60
    bucket_width: int = 5
    eval_per_length: int = 20
    steps: int = 1500
    batch_size: int = 64
    learning_rate: float = 2e-3
    embedding_size: int = 32
    hidden_size: int = 128
    # Multi30k (None: skipped)
    multi30k: str | None = None
    source_lang: str = "de"
    target_lang: str = "en"
    multi30k_steps: int = 1200
    multi30k_batch_size: int = 64
    multi30k_learning_rate: float = 2e-3
    multi30k_embedding_size: int = 128
    multi30k_hidden_size: int = 256
    multi30k_vocab_size: int = 5000
    multi30k_dropout: float = 0.1
    multi30k_eval_splits: tuple[str, ...] = ("val", "test2016")
    multi30k_edges: tuple[int, ...] = (1, 8, 10, 12, 14, 16, 18)
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    # common
    variants: tuple[str, ...] = tuple(variant.name for variant in VARIANTS)
    seed: int = 0
    jobs: int = 1
    threads_per_job: int | None = None
    save_models: str | None = None

    def synthetic_task(self) -> SyntheticTask:
        return SyntheticTask(self.task, self.num_symbols, self.min_length, self.max_length)

    def synthetic_edges(self) -> list[int]:
        """Buckets of `bucket_width` lengths from min_length; the last one takes the remainder (55-60)."""
        starts = list(range(self.min_length, self.max_length - self.bucket_width + 2, self.bucket_width))
        return [*(starts or [self.min_length]), self.max_length + 1]


@dataclass
class Job:
    """One model to train and decode, in a worker process."""

    dataset: str
    variant: Variant
    config: dict
    steps: int
    batch_size: int
    learning_rate: float
    seed: int
    eval_sources: list[list[int]]
    max_new_tokens: int
    task: SyntheticTask | None = None
    train_pairs: list[tuple[list[int], list[int]]] | None = None
    threads: int = 1
    save_dir: str | None = None
    tokenizer_dir: str | None = None


@dataclass
class JobResult:
    dataset: str
    variant: Variant
    predictions: list[list[int]] = field(repr=False)
    train_seconds: float
    final_loss: float


# ----------------------------------------------------------------------------------------------------------- batches


def synthetic_batches(task: SyntheticTask, batch_size: int, generator: torch.Generator, pool: int = 16
                      ) -> Iterator[dict]:
    """Endless training batches; lengths drawn for `pool` batches at once and sorted, so batches pad little."""
    while True:
        lengths = sorted(task.sample_lengths(batch_size * pool, generator))
        batches = [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]
        for index in torch.randperm(len(batches), generator=generator).tolist():
            yield collate(task.examples(batches[index], generator))


def pair_batches(pairs: Sequence[tuple[list[int], list[int]]], batch_size: int, generator: torch.Generator,
                 pool: int = 32) -> Iterator[dict]:
    """Endless epochs over (source ids, target ids) pairs in shuffled batches of similar source length."""
    while True:
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for start in range(0, len(order), batch_size * pool):
            chunk = sorted(order[start:start + batch_size * pool], key=lambda i: len(pairs[i][0]))
            batches = [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
            for index in torch.randperm(len(batches), generator=generator).tolist():
                yield collate([(torch.tensor(pairs[i][0]), torch.tensor(pairs[i][1])) for i in batches[index]])


# ---------------------------------------------------------------------------------------------- training, decoding


def train_model(model, batches: Iterator[dict], steps: int, learning_rate: float, max_grad_norm: float = 1.0,
                name: str = "model", log_every: int = 500) -> list[float]:
    """A plain loop: Adam, gradient clipping, `steps` updates. Returns the loss of every step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    start = time.perf_counter()
    for step in range(steps):
        if log_every and step and step % log_every == 0:
            recent = losses[-log_every:]
            print(f"  {name}: step {step}/{steps}, loss {sum(recent) / len(recent):.3f}, "
                  f"{time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
        batch = next(batches)
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step + 1}; lower the learning rate.")
    return losses


@torch.inference_mode()
def greedy_decode(model, sources: Sequence[Sequence[int]], max_new_tokens: int, batch_size: int = 128
                  ) -> list[list[int]]:
    """Greedy outputs (generated ids, start token dropped) for id sequences, in input order."""
    model.eval()
    outputs: list = [None] * len(sources)
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        batch = collate([(torch.tensor(sources[i]), torch.tensor([EOS_ID])) for i in indices])
        generated = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                   max_new_tokens=max_new_tokens, num_beams=1, do_sample=False,
                                   eos_token_id=model.config.eos_token_id, pad_token_id=model.config.pad_token_id,
                                   decoder_start_token_id=model.config.decoder_start_token_id)
        for row, index in enumerate(indices):
            outputs[index] = generated[row, 1:].tolist()
    return outputs


def run_job(job: Job) -> JobResult:
    """Trains one variant and decodes the evaluation sources (run in a worker process)."""
    torch.set_num_threads(job.threads)
    torch.manual_seed(job.seed)
    model = Seq2SeqLSTMForConditionalGeneration(Seq2SeqLSTMConfig(**job.config))
    generator = torch.Generator().manual_seed(job.seed + 1)  # the same batches for every variant
    batches = (synthetic_batches(job.task, job.batch_size, generator) if job.task is not None
               else pair_batches(job.train_pairs, job.batch_size, generator))
    start = time.perf_counter()
    losses = train_model(model, batches, job.steps, job.learning_rate, name=f"{job.dataset}/{job.variant.name}")
    train_seconds = time.perf_counter() - start
    predictions = greedy_decode(model, job.eval_sources, job.max_new_tokens)
    if job.save_dir:
        model.save_pretrained(job.save_dir)
        if job.tokenizer_dir:
            from .tokenization import load_tokenizer, save_tokenizer

            save_tokenizer(load_tokenizer(job.tokenizer_dir), job.save_dir)
    tail = losses[-50:]
    return JobResult(job.dataset, job.variant, predictions, train_seconds, sum(tail) / max(len(tail), 1))


# ------------------------------------------------------------------------------------------------------------ study


def _variants(names: Sequence[str]) -> list[Variant]:
    known = {variant.name: variant for variant in VARIANTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"Unknown variant(s) {unknown}; choose from {list(known)}.")
    return [known[name] for name in names]


def _read_lines(path: str, limit: int | None = None) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle]
    return lines[:limit] if limit else lines


def _multi30k_data(settings: StudySettings, work_dir: str):
    """Tokenizer (trained on the training split, saved to work_dir), training pairs and evaluation texts."""
    from .tokenization import save_tokenizer, train_tokenizers

    prefix = os.path.join(settings.multi30k, "{}.{}")
    train_source = _read_lines(prefix.format("train", settings.source_lang), settings.max_train_samples)
    train_target = _read_lines(prefix.format("train", settings.target_lang), settings.max_train_samples)
    eval_source, eval_target = [], []
    for split in settings.multi30k_eval_splits:
        eval_source += _read_lines(prefix.format(split, settings.source_lang))
        eval_target += _read_lines(prefix.format(split, settings.target_lang))
    if settings.max_eval_samples:
        eval_source, eval_target = eval_source[:settings.max_eval_samples], eval_target[:settings.max_eval_samples]
    tokenizer = train_tokenizers(train_source, train_target, vocab_size=settings.multi30k_vocab_size)
    save_tokenizer(tokenizer, work_dir)
    encode = lambda texts: tokenizer(texts)["input_ids"]  # noqa: E731
    train_target_ids = tokenizer(text_target=train_target)["input_ids"]
    train_pairs = [(source, target) for source, target in zip(encode(train_source), train_target_ids)
                   if len(source) <= 100 and len(target) <= 100]
    return tokenizer, train_pairs, eval_source, eval_target, encode(eval_source)


def run_study(settings: StudySettings, work_dir: str) -> list[dict]:
    """Trains and scores every variant; returns the CSV rows (one per dataset, model and bucket, plus "all")."""
    variants = _variants(settings.variants)
    threads = settings.threads_per_job or max(1, (os.cpu_count() or 1) // max(settings.jobs, 1))
    save_root = settings.save_models
    jobs: list[Job] = []

    task = settings.synthetic_task()
    eval_generator = torch.Generator().manual_seed(settings.seed + 12345)
    eval_lengths = [length for length in range(settings.min_length, settings.max_length + 1)
                    for _ in range(settings.eval_per_length)]
    eval_pairs = task.examples(eval_lengths, eval_generator)
    synthetic_tokenizer_dir = None
    if save_root and settings.synthetic:
        from .tokenization import save_tokenizer

        synthetic_tokenizer_dir = os.path.join(work_dir, "synthetic_tokenizer")
        save_tokenizer(task.tokenizer(), synthetic_tokenizer_dir)
    for variant in variants if settings.synthetic else []:
        config = dict(vocab_size=task.vocab_size, embedding_size=settings.embedding_size,
                      hidden_size=settings.hidden_size, dropout=0.0, **variant.config)
        jobs.append(Job("synthetic", variant, config, settings.steps, settings.batch_size, settings.learning_rate,
                        settings.seed, [source.tolist() for source, _ in eval_pairs], settings.max_length + 5,
                        task=task, threads=threads, tokenizer_dir=synthetic_tokenizer_dir,
                        save_dir=os.path.join(save_root, f"synthetic-{variant.name}") if save_root else None))

    multi30k = None
    if settings.multi30k:
        start = time.perf_counter()
        tokenizer_dir = os.path.join(work_dir, "multi30k_tokenizer")
        tokenizer, train_pairs, eval_source, eval_target, eval_ids = _multi30k_data(settings, tokenizer_dir)
        logger.info("Multi30k: tokenizer of %d tokens, %d training pairs, %d evaluation sentences (%.1fs)",
                    len(tokenizer), len(train_pairs), len(eval_source), time.perf_counter() - start)
        from .metrics import load_metric

        multi30k = (tokenizer, eval_source, eval_target, load_metric("sacrebleu"))
        for variant in variants:
            config = dict(vocab_size=len(tokenizer), embedding_size=settings.multi30k_embedding_size,
                          hidden_size=settings.multi30k_hidden_size, dropout=settings.multi30k_dropout,
                          **variant.config)
            jobs.append(Job("multi30k", variant, config, settings.multi30k_steps, settings.multi30k_batch_size,
                            settings.multi30k_learning_rate, settings.seed, eval_ids, 100, train_pairs=train_pairs,
                            threads=threads, tokenizer_dir=tokenizer_dir,
                            save_dir=os.path.join(save_root, f"multi30k-{variant.name}") if save_root else None))

    # The slowest first (Bahdanau's step-by-step decoder, bigger Multi30k models), so workers finish together.
    cost = {"bahdanau": 3.0}
    jobs.sort(key=lambda job: -(cost.get(job.variant.name, 1.0) * job.steps * (2 if job.dataset == "multi30k" else 1)))
    results = []
    if settings.jobs <= 1:
        threads = torch.get_num_threads()
        with torch.random.fork_rng():  # in-process: leave the caller's RNG and thread count as they were
            try:
                for job in jobs:
                    results.append(run_job(job))
                    logger.info("trained %s / %s in %.0fs", job.dataset, job.variant.label, results[-1].train_seconds)
            finally:
                torch.set_num_threads(threads)
    else:
        with ProcessPoolExecutor(settings.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for job, result in zip(jobs, pool.map(run_job, jobs)):
                results.append(result)
                logger.info("trained %s / %s in %.0fs", job.dataset, job.variant.label, result.train_seconds)

    rows = []
    order = {variant.name: i for i, variant in enumerate(variants)}
    for result in sorted(results, key=lambda r: (r.dataset != "synthetic", order[r.variant.name])):
        common = {"dataset": result.dataset, "model": result.variant.label, "variant": result.variant.name,
                  "steps": settings.steps if result.dataset == "synthetic" else settings.multi30k_steps,
                  "train_seconds": round(result.train_seconds, 1), "final_loss": round(result.final_loss, 4)}
        if result.dataset == "synthetic":
            predictions = [strip_special(ids) for ids in result.predictions]
            references = [strip_special(target) for _, target in eval_pairs]
            score = sequence_scores(predictions, references)
            buckets = score_by_bucket(eval_lengths, settings.synthetic_edges(), score)
            overall = {"bucket": "all", "low": settings.min_length, "high": settings.max_length,
                       "count": len(eval_lengths), **score(list(range(len(eval_lengths))))}
        else:
            tokenizer, eval_source, eval_target, metric = multi30k
            hypotheses = [text.strip() for text in tokenizer.batch_decode(result.predictions, skip_special_tokens=True)]
            lengths = [len(text.split()) for text in eval_source]
            edges = [*(edge for edge in settings.multi30k_edges if edge <= max(lengths)), max(lengths) + 1]
            buckets = bleu_by_bucket(lengths, edges, hypotheses, eval_target, metric=metric)
            bleu = metric.compute(predictions=hypotheses, references=[[reference] for reference in eval_target])
            overall = {"bucket": "all", "low": min(lengths), "high": max(lengths), "count": len(lengths),
                       "bleu": float(bleu["score"])}
        for row in [*buckets, overall]:
            rows.append({**common, **row})
    return rows


# ---------------------------------------------------------------------------------------------------------- outputs


def write_csv(rows: Sequence[dict], path: str):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: round(value, 4) if isinstance(value, float) else value
                             for key, value in row.items()})


def read_csv(path: str) -> list[dict]:
    """Rows written by `write_csv`, with numbers as numbers and empty cells as None."""
    integers, floats = {"low", "high", "count", "steps"}, {"token_accuracy", "exact_match", "bleu", "train_seconds",
                                                           "final_loss"}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            if key in integers | floats:
                row[key] = None if value == "" else (int(value) if key in integers else float(value))
    return rows


DATASET_TITLES = {"synthetic": "Synthetic copy task", "multi30k": "Multi30k de→en (val + test2016)"}
METRICS = {"synthetic": (("token_accuracy", "token accuracy (%)"), ("exact_match", "exact match (%)")),
           "multi30k": (("bleu", "BLEU"),)}


def markdown_tables(rows: Sequence[dict]) -> str:
    """One table per dataset and metric: a row per model, a column per source-length bucket (with its size)."""
    parts = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        dataset_rows = [row for row in rows if row["dataset"] == dataset]
        buckets = list(dict.fromkeys(row["bucket"] for row in dataset_rows))
        counts = {row["bucket"]: row["count"] for row in dataset_rows}
        models = list(dict.fromkeys(row["model"] for row in dataset_rows))
        for metric, metric_label in METRICS[dataset]:
            title = DATASET_TITLES.get(dataset, dataset)
            steps = dataset_rows[0]["steps"]
            lines = [f"**{title}: {metric_label} by source length** ({steps} training steps per model)", "",
                     "| model | " + " | ".join(f"{b} (n={counts[b]})" for b in buckets) + " |",
                     "|---|" + "---:|" * len(buckets)]
            for model in models:
                values = {row["bucket"]: row.get(metric) for row in dataset_rows if row["model"] == model}
                cells = [f"{values[b]:.1f}" if values.get(b) is not None else "" for b in buckets]
                cells = [f"**{c}**" if b == "all" and c else c for b, c in zip(buckets, cells)]
                lines.append(f"| {model} | " + " | ".join(cells) + " |")
            parts.append("\n".join(lines))
        lines = [f"**{title}: training** (every model sees the same batches; evaluation decodes greedily)", "",
                 "| model | steps | training time (s) | loss, last 50 steps |", "|---|---:|---:|---:|"]
        for model in models:
            row = next(row for row in dataset_rows if row["model"] == model)
            lines.append(f"| {model} | {row['steps']} | {row['train_seconds']:.0f} | {row['final_loss']:.2f} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def plot_study(rows: Sequence[dict], path: str):
    """The line plot: a panel per dataset and metric, score against source length, one line per model."""
    from .plotting import plot_scores_by_length

    panels = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        dataset_rows = [row for row in rows if row["dataset"] == dataset and row["bucket"] != "all"]
        unit = "symbols" if dataset == "synthetic" else "words"
        for metric, metric_label in METRICS[dataset]:
            panels.append({"rows": dataset_rows, "metric": metric, "ylabel": metric_label,
                           "xlabel": f"source length ({unit})", "title": DATASET_TITLES.get(dataset, dataset),
                           "ylim": (0, 101) if metric != "bleu" else (0, None)})
    return plot_scores_by_length(panels, path=path, title="Greedy decoding quality against source length")
