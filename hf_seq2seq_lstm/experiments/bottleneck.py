# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""The bottleneck study: how output quality falls with source length without attention, and what attention and
source reversal change. `scripts/bottleneck_study.py` is its command line.

Every model variant is the same LSTM encoder-decoder (unidirectional one-layer encoder and decoder, so that
`reverse_source` means what it meant for Sutskever et al.) trained for the same number of steps on the same
batches with the same optimiser; only the attention (none, Bahdanau, Luong general) or the source order differs.
Each is then decoded greedily on held-out data and scored by source-length bucket:

* synthetic copy task (`tasks.synthetic`, [`SyntheticStudy`]): token accuracy and exact match, lengths 5-60;
* Multi30k de->en, when given ([`Multi30kStudy`]): sacreBLEU per source-length bucket (in words).

How the models of each task are sized and trained is its [`ModelTraining`]. Models train in worker processes
(`jobs` at a time, one CPU thread each by default), so the variants run side by side on a multi-core machine.
"""

import csv
import itertools
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import torch

from ..configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from ..data import load_text_pairs
from ..evaluation import bleu_by_bucket, score_by_bucket, sequence_scores
from ..inference import length_sorted_batches
from ..modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from ..tasks.synthetic import EOS_ID, SyntheticTask, collate, strip_special
from .loop import shuffled_batches, training_steps

logger = logging.getLogger(__name__)

__all__ = ["ARCHITECTURE", "CSV_FIELDS", "MULTI30K_TRAINING", "SYNTHETIC_TRAINING", "VARIANTS", "ModelTraining",
           "Multi30kStudy", "StudySettings", "SyntheticStudy", "Variant", "greedy_decode", "markdown_tables",
           "pair_batches", "plot_study", "read_csv", "run_study", "synthetic_batches", "train_model", "write_csv",
           "write_study"]


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
# The encoder-decoder every variant shares (the variants set the attention and the source order): stated here,
# not left to the config's defaults, since it is what the study compares.
ARCHITECTURE = dict(cell_type="lstm", encoder_layers=1, decoder_layers=1, bidirectional_encoder=False,
                    input_feeding=False)

CSV_FIELDS = ("dataset", "model", "variant", "bucket", "low", "high", "count", "token_accuracy", "exact_match",
              "bleu", "steps", "train_seconds", "final_loss")


# ---------------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ModelTraining:
    """
    How every model of one task is sized and trained: `steps` Adam updates of `batch_size` pairs at `learning_rate`,
    gradients clipped to norm 1, embeddings of `embedding_size`, LSTM states of `hidden_size`, `dropout`.
    """

    steps: int
    embedding_size: int
    hidden_size: int
    dropout: float = 0.0
    batch_size: int = 64
    learning_rate: float = 2e-3


SYNTHETIC_TRAINING = ModelTraining(steps=1500, embedding_size=32, hidden_size=128)
MULTI30K_TRAINING = ModelTraining(steps=1200, embedding_size=128, hidden_size=256, dropout=0.1)
# --tiny: a few steps of small models, whichever task
TINY_TRAINING = dict(steps=5, batch_size=8, embedding_size=8, hidden_size=16)


@dataclass(frozen=True)
class SyntheticStudy:
    """
    The synthetic task of the study: `task` ("copy" or "reverse") over `num_symbols` symbols, sources of
    `min_length` to `max_length` symbols, `eval_per_length` held-out sources of every length, scored in buckets of
    `bucket_width` lengths.
    """

    task: str = "copy"
    num_symbols: int = 20
    min_length: int = 5
    max_length: int = 60
    bucket_width: int = 5
    eval_per_length: int = 20
    training: ModelTraining = SYNTHETIC_TRAINING

    def synthetic_task(self) -> SyntheticTask:
        return SyntheticTask(self.task, self.num_symbols, self.min_length, self.max_length)

    def edges(self) -> list[int]:
        """Buckets of `bucket_width` lengths from min_length; the last one takes the remainder (55-60)."""
        starts = list(range(self.min_length, self.max_length - self.bucket_width + 2, self.bucket_width))
        return [*(starts or [self.min_length]), self.max_length + 1]


@dataclass(frozen=True)
class Multi30kStudy:
    """
    Multi30k in the study: the folder `data_dir` (train.de, train.en, val.*, test2016.*), `source_lang` ->
    `target_lang`, one tokenizer of `vocab_size` trained on the training split (its first `max_train_samples`
    pairs, if given), models decoded on `eval_splits` together (the first `max_eval_samples` sentences, if given)
    and scored in source-length buckets (in words) from `edges`.
    """

    data_dir: str
    source_lang: str = "de"
    target_lang: str = "en"
    vocab_size: int = 5000
    eval_splits: tuple[str, ...] = ("val", "test2016")
    edges: tuple[int, ...] = (1, 8, 10, 12, 14, 16, 18)
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    training: ModelTraining = MULTI30K_TRAINING


@dataclass(frozen=True)
class StudySettings:
    """
    What `run_study` trains and evaluates: each task given (None: skipped), the `variants` by name, the `seed`,
    `jobs` models trained at once with `threads_per_job` torch threads each (default: the CPU cores shared out), and
    `save_models`, a folder to keep every trained model in. The defaults are the study of docs/bottleneck.png, with
    `multi30k=Multi30kStudy(data_dir)` for its Multi30k panel.
    """

    synthetic: SyntheticStudy | None = field(default_factory=SyntheticStudy)
    multi30k: Multi30kStudy | None = None
    variants: tuple[str, ...] = tuple(variant.name for variant in VARIANTS)
    seed: int = 0
    jobs: int = 1
    threads_per_job: int | None = None
    save_models: str | None = None

    def tiny(self) -> "StudySettings":
        """The same study with a few steps of small models, two length buckets per task: a smoke test of seconds."""
        synthetic, multi30k = self.synthetic, self.multi30k
        if synthetic is not None:
            synthetic = replace(synthetic, min_length=5, max_length=8, bucket_width=2, eval_per_length=3,
                                training=replace(synthetic.training, **TINY_TRAINING))
        if multi30k is not None:
            multi30k = replace(multi30k, vocab_size=300, edges=(1, 10), max_train_samples=300, max_eval_samples=20,
                               training=replace(multi30k.training, **TINY_TRAINING))
        return replace(self, synthetic=synthetic, multi30k=multi30k)


@dataclass
class Job:
    """One model to train and decode, in a worker process."""

    dataset: str
    variant: Variant
    config: dict
    training: ModelTraining
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
    """Endless training batches: lengths drawn for `pool` batches at once and bucketed (`loop.shuffled_batches`), so
    that batches pad little; the sequences of each batch are drawn as it is needed."""
    while True:
        lengths = task.sample_lengths(batch_size * pool, generator)
        for batch in shuffled_batches(lengths, lengths, batch_size, generator):
            yield collate(task.examples([lengths[i] for i in batch], generator))


def pair_batches(pairs: Sequence[tuple[list[int], list[int]]], batch_size: int, generator: torch.Generator,
                 pool: int = 32) -> Iterator[dict]:
    """Endless epochs over (source ids, target ids) pairs, each epoch in random pools of `pool` batches' worth,
    each pool bucketed by length (`loop.shuffled_batches`)."""
    while True:
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for start in range(0, len(order), batch_size * pool):
            chunk = order[start:start + batch_size * pool]
            for batch in shuffled_batches([len(pairs[i][0]) for i in chunk], [len(pairs[i][1]) for i in chunk],
                                          batch_size, generator):
                yield collate([(torch.tensor(pairs[chunk[j]][0]), torch.tensor(pairs[chunk[j]][1])) for j in batch])


# ---------------------------------------------------------------------------------------------- training, decoding


def train_model(model, batches: Iterator[dict], steps: int, learning_rate: float, max_grad_norm: float = 1.0,
                name: str = "model", log_every: int = 500) -> list[float]:
    """`steps` Adam updates with gradient clipping (`loop.training_steps`), progress on stderr every `log_every`
    steps. Returns the loss of every step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    start = time.perf_counter()
    for step in training_steps(model, itertools.islice(batches, steps), optimizer, max_grad_norm=max_grad_norm):
        losses.append(step.loss.item())
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"loss became {losses[-1]} at step {step.index + 1}; lower the learning rate.")
        done = step.index + 1
        if log_every and done % log_every == 0 and done < steps:
            recent = losses[-log_every:]
            print(f"  {name}: step {done}/{steps}, loss {sum(recent) / len(recent):.3f}, "
                  f"{time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
    return losses


@torch.inference_mode()
def greedy_decode(model, sources: Sequence[Sequence[int]], max_new_tokens: int, batch_size: int = 128
                  ) -> list[list[int]]:
    """Greedy outputs (generated ids, start token dropped) for id sequences, in input order, decoded in
    `inference.length_sorted_batches`."""
    model.eval()
    outputs: list = [None] * len(sources)
    for indices in length_sorted_batches([len(source) for source in sources], batch_size):
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
    training = job.training
    batches = (synthetic_batches(job.task, training.batch_size, generator) if job.task is not None
               else pair_batches(job.train_pairs, training.batch_size, generator))
    start = time.perf_counter()
    losses = train_model(model, batches, training.steps, training.learning_rate,
                         name=f"{job.dataset}/{job.variant.name}")
    train_seconds = time.perf_counter() - start
    predictions = greedy_decode(model, job.eval_sources, job.max_new_tokens)
    if job.save_dir:
        model.save_pretrained(job.save_dir)
        if job.tokenizer_dir:
            from ..tokenization import load_tokenizer, save_tokenizer

            save_tokenizer(load_tokenizer(job.tokenizer_dir), job.save_dir)
    tail = losses[-50:]
    return JobResult(job.dataset, job.variant, predictions, train_seconds, sum(tail) / max(len(tail), 1))


# ------------------------------------------------------------------------------------------------------------ study

# A task of the study: its jobs (one per variant), and how a job's result is scored (rows by bucket, then "all").
TaskJobs = tuple[list[Job], Callable[[JobResult], list[dict]]]


def _variants(names: Sequence[str]) -> list[Variant]:
    known = {variant.name: variant for variant in VARIANTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"Unknown variant(s) {unknown}; choose from {list(known)}.")
    return [known[name] for name in names]


def _model_config(vocab_size: int, training: ModelTraining, variant: Variant) -> dict:
    return dict(vocab_size=vocab_size, embedding_size=training.embedding_size, hidden_size=training.hidden_size,
                dropout=training.dropout, **ARCHITECTURE, **variant.config)


def _save_dir(settings: StudySettings, dataset: str, variant: Variant) -> str | None:
    return os.path.join(settings.save_models, f"{dataset}-{variant.name}") if settings.save_models else None


def _synthetic_jobs(settings: StudySettings, variants: list[Variant], work_dir: str, threads: int) -> TaskJobs:
    """The synthetic task's jobs, and its scores: token accuracy and exact match, by source length."""
    study = settings.synthetic
    task = study.synthetic_task()
    eval_generator = torch.Generator().manual_seed(settings.seed + 12345)
    eval_lengths = [length for length in range(study.min_length, study.max_length + 1)
                    for _ in range(study.eval_per_length)]
    eval_pairs = task.examples(eval_lengths, eval_generator)
    tokenizer_dir = None
    if settings.save_models:
        from ..tokenization import save_tokenizer

        tokenizer_dir = os.path.join(work_dir, "synthetic_tokenizer")
        save_tokenizer(task.tokenizer(), tokenizer_dir)
    eval_sources = [source.tolist() for source, _ in eval_pairs]
    jobs = [Job("synthetic", variant, _model_config(task.vocab_size, study.training, variant), study.training,
                settings.seed, eval_sources, study.max_length + 5, task=task, threads=threads,
                tokenizer_dir=tokenizer_dir, save_dir=_save_dir(settings, "synthetic", variant))
            for variant in variants]
    references = [strip_special(target) for _, target in eval_pairs]

    def score(result: JobResult) -> list[dict]:
        scores = sequence_scores([strip_special(ids) for ids in result.predictions], references)
        overall = {"bucket": "all", "low": study.min_length, "high": study.max_length, "count": len(eval_lengths),
                   **scores(list(range(len(eval_lengths))))}
        return [*score_by_bucket(eval_lengths, study.edges(), scores), overall]

    return jobs, score


def _multi30k_texts(study: Multi30kStudy) -> tuple[list[str], list[str], list[str], list[str]]:
    """Sources and targets of the training split and of the evaluation splits together (the first
    `max_train_samples` / `max_eval_samples`, if given), read by `data.load_text_pairs`, which strips whitespace
    and drops blank pairs."""
    def texts(splits: Sequence[str], max_samples: int | None) -> tuple[list[str], list[str]]:
        sources, targets = [], []
        for split in splits:
            pairs = load_text_pairs(test_file=os.path.join(study.data_dir, split), source_lang=study.source_lang,
                                    target_lang=study.target_lang,
                                    max_samples={"test": max_samples} if max_samples else None)["test"]
            sources += pairs["source"]
            targets += pairs["target"]
        return sources[:max_samples], targets[:max_samples]

    return *texts(["train"], study.max_train_samples), *texts(study.eval_splits, study.max_eval_samples)


def _multi30k_jobs(settings: StudySettings, variants: list[Variant], work_dir: str, threads: int) -> TaskJobs:
    """Multi30k's jobs (a tokenizer trained on its training split, saved in work_dir), and its scores: sacreBLEU by
    source length in words."""
    from ..metrics import load_metric
    from ..tokenization import save_tokenizer, train_tokenizers

    study, start = settings.multi30k, time.perf_counter()
    train_source, train_target, eval_source, eval_target = _multi30k_texts(study)
    tokenizer = train_tokenizers(train_source, train_target, vocab_size=study.vocab_size)
    tokenizer_dir = os.path.join(work_dir, "multi30k_tokenizer")
    save_tokenizer(tokenizer, tokenizer_dir)
    train_pairs = [(source, target) for source, target in zip(tokenizer(train_source)["input_ids"],
                                                              tokenizer(text_target=train_target)["input_ids"])
                   if len(source) <= 100 and len(target) <= 100]
    logger.info("Multi30k: tokenizer of %d tokens, %d training pairs, %d evaluation sentences (%.1fs)",
                len(tokenizer), len(train_pairs), len(eval_source), time.perf_counter() - start)
    eval_ids = tokenizer(eval_source)["input_ids"]
    jobs = [Job("multi30k", variant, _model_config(len(tokenizer), study.training, variant), study.training,
                settings.seed, eval_ids, 100, train_pairs=train_pairs, threads=threads, tokenizer_dir=tokenizer_dir,
                save_dir=_save_dir(settings, "multi30k", variant))
            for variant in variants]
    metric = load_metric("sacrebleu")
    lengths = [len(text.split()) for text in eval_source]
    edges = [*(edge for edge in study.edges if edge <= max(lengths)), max(lengths) + 1]

    def score(result: JobResult) -> list[dict]:
        hypotheses = [text.strip() for text in tokenizer.batch_decode(result.predictions, skip_special_tokens=True)]
        bleu = metric.compute(predictions=hypotheses, references=[[reference] for reference in eval_target])
        overall = {"bucket": "all", "low": min(lengths), "high": max(lengths), "count": len(lengths),
                   "bleu": float(bleu["score"])}
        return [*bleu_by_bucket(lengths, edges, hypotheses, eval_target, metric=metric), overall]

    return jobs, score


def _run_jobs(jobs: list[Job], processes: int) -> list[JobResult]:
    """Every job: in this process when `processes` <= 1 (leaving its RNG and thread count as they were), else in
    that many spawned worker processes."""
    results = []
    if processes <= 1:
        threads = torch.get_num_threads()
        with torch.random.fork_rng():
            try:
                for job in jobs:
                    results.append(run_job(job))
                    logger.info("trained %s / %s in %.0fs", job.dataset, job.variant.label, results[-1].train_seconds)
            finally:
                torch.set_num_threads(threads)
        return results
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        for job, result in zip(jobs, pool.map(run_job, jobs)):
            results.append(result)
            logger.info("trained %s / %s in %.0fs", job.dataset, job.variant.label, result.train_seconds)
    return results


def run_study(settings: StudySettings, work_dir: str) -> list[dict]:
    """Trains and scores every variant; returns the CSV rows (one per dataset, model and bucket, plus "all")."""
    variants = _variants(settings.variants)
    threads = settings.threads_per_job or max(1, (os.cpu_count() or 1) // max(settings.jobs, 1))
    tasks: dict[str, TaskJobs] = {}
    if settings.synthetic is not None:
        tasks["synthetic"] = _synthetic_jobs(settings, variants, work_dir, threads)
    if settings.multi30k is not None:
        tasks["multi30k"] = _multi30k_jobs(settings, variants, work_dir, threads)
    jobs = [job for task_jobs, _ in tasks.values() for job in task_jobs]
    # The slowest first (Bahdanau's step-by-step decoder, bigger Multi30k models), so workers finish together.
    cost = {"bahdanau": 3.0}
    jobs.sort(key=lambda job: -(cost.get(job.variant.name, 1.0) * job.training.steps
                                * (2 if job.dataset == "multi30k" else 1)))
    steps = {job.dataset: job.training.steps for job in jobs}
    order = {variant.name: i for i, variant in enumerate(variants)}
    rows = []
    for result in sorted(_run_jobs(jobs, settings.jobs), key=lambda r: (r.dataset != "synthetic",
                                                                       order[r.variant.name])):
        common = {"dataset": result.dataset, "model": result.variant.label, "variant": result.variant.name,
                  "steps": steps[result.dataset], "train_seconds": round(result.train_seconds, 1),
                  "final_loss": round(result.final_loss, 4)}
        score = tasks[result.dataset][1]
        rows += [{**common, **row} for row in score(result)]
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


def _metric_table(dataset_rows: Sequence[dict], title: str, metric: str, metric_label: str) -> str:
    """A row per model, a column per source-length bucket (with its size), the "all" column in bold."""
    buckets = list(dict.fromkeys(row["bucket"] for row in dataset_rows))
    counts = {row["bucket"]: row["count"] for row in dataset_rows}
    steps = dataset_rows[0]["steps"]
    lines = [f"**{title}: {metric_label} by source length** ({steps} training steps per model)", "",
             "| model | " + " | ".join(f"{b} (n={counts[b]})" for b in buckets) + " |",
             "|---|" + "---:|" * len(buckets)]
    for model in dict.fromkeys(row["model"] for row in dataset_rows):
        values = {row["bucket"]: row.get(metric) for row in dataset_rows if row["model"] == model}
        cells = [f"{values[b]:.1f}" if values.get(b) is not None else "" for b in buckets]
        cells = [f"**{c}**" if b == "all" and c else c for b, c in zip(buckets, cells)]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_tables(rows: Sequence[dict]) -> str:
    """Per dataset, a table per metric (a row per model, a column per source-length bucket), then its training."""
    parts = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        dataset_rows = [row for row in rows if row["dataset"] == dataset]
        title = DATASET_TITLES.get(dataset, dataset)
        parts += [_metric_table(dataset_rows, title, metric, label) for metric, label in METRICS[dataset]]
        lines = [f"**{title}: training** (every model sees the same batches; evaluation decodes greedily)", "",
                 "| model | steps | training time (s) | loss, last 50 steps |", "|---|---:|---:|---:|"]
        for model in dict.fromkeys(row["model"] for row in dataset_rows):
            row = next(row for row in dataset_rows if row["model"] == model)
            lines.append(f"| {model} | {row['steps']} | {row['train_seconds']:.0f} | {row['final_loss']:.2f} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def plot_study(rows: Sequence[dict], path: str):
    """The line plot: a panel per dataset and metric, score against source length, one line per model."""
    from ..plotting import plot_scores_by_length

    panels = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        dataset_rows = [row for row in rows if row["dataset"] == dataset and row["bucket"] != "all"]
        unit = "symbols" if dataset == "synthetic" else "words"
        for metric, metric_label in METRICS[dataset]:
            panels.append({"rows": dataset_rows, "metric": metric, "ylabel": metric_label,
                           "xlabel": f"source length ({unit})", "title": DATASET_TITLES.get(dataset, dataset),
                           "ylim": (0, 101) if metric != "bleu" else (0, None)})
    return plot_scores_by_length(panels, path=path, title="Greedy decoding quality against source length")


def write_study(rows: Sequence[dict], output_dir: str, with_csv: bool = True) -> str:
    """Writes `output_dir`/bottleneck.png ([`plot_study`]) and, `with_csv`, bottleneck.csv ([`write_csv`]); returns
    the markdown tables ([`markdown_tables`])."""
    os.makedirs(output_dir, exist_ok=True)
    if with_csv:
        write_csv(rows, os.path.join(output_dir, "bottleneck.csv"))
    plot_study(rows, os.path.join(output_dir, "bottleneck.png"))
    return markdown_tables(rows)
