# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""The benchmark suite: training and generation throughput on Multi30k, against the machine's own matmul rate
(`machine`) and, with `peer="opennmt"`, against OpenNMT-py measured in the same run on the same data (`opennmt`).
`scripts/benchmark.py` is its command line, `scripts/benchmark_generate.py` that of [`run_cache_benchmark`].

[`run_benchmark`] reports, in one run (each training run in its own process, so that its peak RSS is its own):

- training throughput ([`training_throughput`]: target tokens/s, median over timed steps after warm-up, each step
  timed from padding the batch to the optimizer step) and peak RSS for the reference configuration ([`REFERENCE`]:
  embeddings 256, 1-layer biLSTM encoder 2x256, 1-layer LSTM decoder 512, Luong general attention, dropout 0.2,
  Adam, batches of 64 sentences, 10k-token vocabularies) with and without input feeding, and GRU and no-attention
  variants ([`VARIANTS`]);
- with `torch_compile`, each training variant again under `torch.compile(model)` (what Trainer's --torch_compile
  does), side by side with eager, its compile time (the warm-up steps' time beyond as many eager-speed steps) apart
  from its tokens/s;
- generation ([`generation_benchmark`], unless `training_only`), for each serving path ([`SERVING_PATHS`]: fp32
  `generate()` with transformers' beam search or with ours (the default), int8 `quantize()`, onnxruntime fp32 and
  int8), greedy and beam 5, every output exactly `new_tokens` long (so that models that stop at different points are
  compared on the same work): sentences/s on the 1,000 test2016 sentences in length-sorted batches of 64
  (`inference.length_sorted_batches`, as `translate` makes them), and batch-1 latency, mean ms per sentence over the
  first `latency_sentences` sentences, one sentence per call; and the cached vs use_cache=False ratio on 100-token
  outputs;
- the measured fp32 matmul rate, and each figure as model FLOP/s ([`model_forward_flops`]) over that rate;
- with `bleu_model` (a trained de->en model), each serving path's test2016 sacreBLEU, once.

Both toolkits get the same subword ids, vocabularies of the same size, and the same batches: the training split
sorted by (source, target) length, cut into batches of 64, in shuffled order (`loop.shuffled_batches`, OpenNMT-py's
bucketing). Run it on quiet cores: concurrent processes slow each other down far more than the differences measured
here. Even on quiet cores a machine's speed drifts by several percent within minutes: `rounds=3` measures ours and
the peer three times, one after the other, and reports the median of each figure (the JSON keeps every round).
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..allocator import MALLOC_ENVIRONMENT, reuse_freed_memory
from ..configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from ..data import load_text_pairs
from ..files import atomic_write_json
from ..inference import length_sorted_batches
from ..modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from . import MULTI30K, opennmt
from .loop import shuffled_batches, training_steps
from .machine import matmul_flops_per_second

__all__ = ["GENERATION_MODES", "LEARNING_RATE", "QUALITY_NEW_TOKENS", "REFERENCE", "REFERENCE_VARIANT", "SERVING_PATHS",
           "VARIANTS", "BenchmarkSettings", "CacheBenchmarkSettings", "generation_benchmark", "generation_seconds",
           "load_tokenized", "median_over_rounds", "model_forward_flops", "peer_benchmark", "print_generation_report",
           "print_report", "run_benchmark", "run_cache_benchmark", "serving_path_quality", "serving_paths",
           "time_generate", "training_in_own_process", "training_throughput", "variant_config"]

REFERENCE = dict(embedding_size=256, hidden_size=512, encoder_hidden_size=256, bidirectional_encoder=True,
                 encoder_layers=1, decoder_layers=1, attention="luong_general", input_feeding=True, dropout=0.2)
REFERENCE_VARIANT = "reference (input feeding)"
VARIANTS = {
    REFERENCE_VARIANT: {},
    "no input feeding (fused)": dict(input_feeding=False),
    "GRU, no input feeding": dict(input_feeding=False, cell_type="gru"),
    "no attention": dict(attention="none", input_feeding=False),
}
LEARNING_RATE = 1e-3  # Adam's, for ours and the peer
GENERATION_MODES = (("greedy", 1), ("beam5", 5))  # (name, num_beams)
SERVING_PATHS = ("fp32 generate (transformers beam search)", "fp32 generate", "int8", "onnxruntime fp32",
                 "onnxruntime int8")
QUALITY_NEW_TOKENS = 80  # serving_path_quality: outputs end at </s>, at most this long


@dataclass
class BenchmarkSettings:
    """
    What [`run_benchmark`] measures, and where: `data` (Multi30k), `cache` (our tokenizer, the peer's corpus),
    `json` (the report); see `scripts/benchmark.py --help` for each field.
    """

    data: str = str(MULTI30K)
    cache: str = "outputs/benchmark-tokenizers"
    json: str = "outputs/benchmark.json"
    model: str | None = None
    vocab_size: int = 10000
    batch_size: int = 64
    warmup_steps: int = 5
    timed_steps: int = 30
    new_tokens: int = 25
    bleu_model: str | None = None
    latency_sentences: int = 50
    serving_paths: list[str] = field(default_factory=lambda: list(SERVING_PATHS))
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    torch_compile: bool = False
    training_only: bool = False
    peer: str | None = None
    peer_reuse_freed_memory: bool = False
    rounds: int = 1
    peer_venv: str = ".peers/opennmt"


def variant_config(variant: str) -> Seq2SeqLSTMConfig:
    """The model configuration of a training variant (vocabulary sizes aside): the reference with its changes."""
    return Seq2SeqLSTMConfig(**{**REFERENCE, **VARIANTS[variant]})


# -------------------------------------------------------------------------------------------------------- FLOP model


def model_forward_flops(config, source_tokens: int, target_tokens: int, mean_source_length: float) -> float:
    """Multiply-adds x 2 of one forward pass over a batch, from the config (embedding lookups and softmax ignored)."""
    gates = 4 if config.cell_type == "lstm" else 3
    encoder_size, directions = config.encoder_rnn_size, config.encoder_directions
    flops = 0.0
    input_size = config.embedding_size
    for _ in range(config.encoder_layers):
        flops += source_tokens * directions * 2 * gates * encoder_size * (input_size + encoder_size)
        input_size = encoder_size * directions
    decoder_input = config.embedding_size + (config.hidden_size if config.input_feeding else 0)
    if config.attention == "bahdanau":
        decoder_input += config.encoder_output_size
    for layer in range(config.decoder_layers):
        size_in = decoder_input if layer == 0 else config.hidden_size
        flops += target_tokens * 2 * gates * config.hidden_size * (size_in + config.hidden_size)
    if config.attention != "none":
        key = config.encoder_output_size
        flops += target_tokens * 2 * 2 * mean_source_length * key  # scores + context
        flops += target_tokens * 2 * (key + config.hidden_size) * config.hidden_size  # combine
        if config.attention == "luong_general":
            flops += target_tokens * 2 * config.hidden_size * key
        elif config.attention in ("bahdanau", "luong_concat"):
            flops += target_tokens * 2 * config.hidden_size * (config.hidden_size + mean_source_length * 1)
            flops += source_tokens * 2 * key * config.hidden_size
    flops += target_tokens * 2 * config.hidden_size * config.target_vocab_size
    return flops


# ---------------------------------------------------------------------------------------------------------- training


def load_tokenized(data_dir: Path, split: str, vocab_size: int, cache: Path):
    """The Multi30k de->en tokenizer (separate ~vocab_size BPE vocabularies trained on the training split, cached)
    and the text pairs of `split`."""
    from ..tokenization import load_tokenizer, train_tokenizers

    if not (cache / "tokenizer.json").exists():
        train = load_text_pairs(train_file=data_dir / "train", source_lang="de", target_lang="en")["train"]
        train_tokenizers(train["source"], train["target"], joint=False, vocab_size=vocab_size).save_pretrained(cache)
    pairs = load_text_pairs(test_file=data_dir / split, source_lang="de", target_lang="en")["test"]
    return load_tokenizer(cache), pairs


def training_throughput(settings: BenchmarkSettings, variant: str, compiled: bool = False) -> dict:
    """One training variant, eager or (`compiled`) under `torch.compile(model)` as Trainer's --torch_compile runs
    it: tokens/s over timed steps, peak RSS, model FLOP/s, and the seconds the warm-up steps took beyond as many
    timed steps (compilation, when compiled). Run in a process of its own (`scripts/benchmark.py --worker`)."""
    from ..models import new_model

    tokenizer, pairs = load_tokenized(Path(settings.data), "train", settings.vocab_size, Path(settings.cache))
    source_ids = tokenizer(list(pairs["source"]))["input_ids"]
    target_ids = tokenizer(text_target=list(pairs["target"]))["input_ids"]
    torch.manual_seed(0)
    model = new_model(tokenizer, **{**REFERENCE, **VARIANTS[variant]}).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=True)
    batches = shuffled_batches([len(ids) for ids in source_ids], [len(ids) for ids in target_ids], settings.batch_size)

    def pad(batch: list[int]) -> dict:
        inputs = tokenizer.pad({"input_ids": [source_ids[i] for i in batch]}, return_tensors="pt")
        targets = tokenizer.pad({"input_ids": [target_ids[i] for i in batch]}, return_tensors="pt")
        return {**inputs, "labels": targets["input_ids"].masked_fill(targets["attention_mask"] == 0, -100)}

    rates, flops_rates, step_seconds = [], [], []
    for step in training_steps(model, batches[:settings.warmup_steps + settings.timed_steps], optimizer, collate=pad,
                               forward=torch.compile(model) if compiled else model):
        step_seconds.append(step.seconds)
        if step.index >= settings.warmup_steps:
            target_tokens = int((step.inputs["labels"] != -100).sum())
            source_tokens = int(step.inputs["attention_mask"].sum())
            rates.append(target_tokens / step.seconds)
            flops = 3 * model_forward_flops(model.config, source_tokens, target_tokens,
                                            source_tokens / len(step.inputs["labels"]))
            flops_rates.append(flops / step.seconds)
    warmup = settings.warmup_steps
    return {
        "variant": variant,
        "compiled": compiled,
        "target_tokens_per_s": statistics.median(rates),
        "warmup_extra_s": sum(step_seconds[:warmup]) - warmup * statistics.median(step_seconds[warmup:]),
        "model_flops_per_s": statistics.median(flops_rates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": model.num_parameters(),
    }


def training_in_own_process(settings: BenchmarkSettings, worker_script: Path, variant: str,
                             compiled: bool = False) -> dict:
    """[`training_throughput`] in a fresh process: `worker_script --worker` prints its result as JSON."""
    command = [sys.executable, str(worker_script), "--worker", "--variant", variant, "--data", settings.data,
               "--cache", settings.cache, "--vocab_size", str(settings.vocab_size),
               "--batch_size", str(settings.batch_size), "--warmup_steps", str(settings.warmup_steps),
               "--timed_steps", str(settings.timed_steps)]
    if compiled:
        command.append("--torch_compile")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark worker for {variant!r} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------------------- generation


def serving_paths(model, names: list[str], new_tokens: int, folder: Path, fixed_length: bool = True) -> dict:
    """Path name -> generate(input_ids, attention_mask, num_beams) -> token ids. With `fixed_length` every output is
    new_tokens long (no end-of-sequence token, whatever the weights: for timing); without, outputs end at </s> (for
    quality), at most new_tokens long. The onnxruntime paths export into `folder`; without onnxruntime they are
    skipped with a note."""
    from .. import quantize

    length_options = {"eos_token_id": None} if fixed_length else {}

    def on_torch(model, **options):
        def generate(input_ids, attention_mask, num_beams):
            with torch.inference_mode():
                return model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=num_beams,
                                      max_new_tokens=new_tokens, **length_options, **options)
        return generate

    def on_onnxruntime(int8: bool):
        from ..onnx_export import OnnxSeq2SeqLSTM, export_onnx

        path_folder = folder / ("int8" if int8 else "fp32")
        export_onnx(model, path_folder, int8=int8)  # an ImportError without onnx and onnxruntime
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the threads torch gets
        onnx_model = OnnxSeq2SeqLSTM.from_folder(path_folder, session_options=options)
        if fixed_length:
            # as eos_token_id=None for generate(): every beam runs to the end
            onnx_model.metadata["eos_token_id"] = None

        def generate(input_ids, attention_mask, num_beams):
            return onnx_model.generate(input_ids, attention_mask, num_beams=num_beams, max_new_tokens=new_tokens)
        return generate

    builders = {
        "fp32 generate (transformers beam search)": lambda: on_torch(model, lean_beam_search=False),
        "fp32 generate": lambda: on_torch(model),
        "int8": lambda: on_torch(quantize(model)),
        "onnxruntime fp32": lambda: on_onnxruntime(int8=False),
        "onnxruntime int8": lambda: on_onnxruntime(int8=True),
    }
    paths = {}
    for name in names:
        try:
            paths[name] = builders[name]()
        except ImportError as error:  # onnx / onnxruntime not installed (pip install 'hf-seq2seq-lstm[onnx]')
            print(f"skipping serving path {name!r}: {error}", file=sys.stderr)
    return paths


def _padded(tokenizer, encodings, rows: list[int]):
    """The padded input_ids and attention_mask of `rows` of `encodings` (a tokenizer's output)."""
    return tokenizer.pad([{"input_ids": encodings["input_ids"][row], "attention_mask": encodings["attention_mask"][row]}
                          for row in rows], return_tensors="pt")


def _length_sorted_inputs(tokenizer, sources: list[str], batch_size: int = 64) -> tuple[list, list]:
    """The encodings of `sources`, and per `inference.length_sorted_batches` batch (as `translate` makes them) its
    rows and padded inputs."""
    encodings = tokenizer(sources)
    rows = length_sorted_batches([len(ids) for ids in encodings["input_ids"]], batch_size)
    return encodings, [(batch, _padded(tokenizer, encodings, batch)) for batch in rows]


def serving_path_quality(settings: BenchmarkSettings) -> dict:
    """test2016 de->en sacreBLEU of each serving path on the trained model `bleu_model` (greedy and beam 5, batches
    of 64 sorted by length, outputs ending at </s>, at most QUALITY_NEW_TOKENS new tokens), and how many outputs
    equal the first path's (fp32 generate() by default)."""
    from ..checkpoints import load_model
    from ..data import read_text_lines
    from ..metrics import text_scorer
    from ..tokenization import load_tokenizer

    model, tokenizer = load_model(settings.bleu_model).eval(), load_tokenizer(settings.bleu_model)
    sources = read_text_lines(Path(settings.data) / "test2016.de")
    references = read_text_lines(Path(settings.data) / "test2016.en")
    _, batches = _length_sorted_inputs(tokenizer, sources)
    score, results, reference_outputs = text_scorer("translation"), {"model": settings.bleu_model}, {}
    with tempfile.TemporaryDirectory() as folder:
        paths = serving_paths(model, settings.serving_paths, QUALITY_NEW_TOKENS, Path(folder), fixed_length=False)
        for path, generate in paths.items():
            for name, num_beams in GENERATION_MODES:
                outputs = [None] * len(sources)
                for rows, batch in batches:
                    texts = tokenizer.batch_decode(generate(batch["input_ids"], batch["attention_mask"], num_beams),
                                                   skip_special_tokens=True)
                    for row, text in zip(rows, texts):
                        outputs[row] = text
                reference_outputs.setdefault(name, outputs)  # the first path's
                results.setdefault(path, {})[f"{name}_bleu"] = score(outputs, references)["bleu"]
                results[path][f"{name}_same_as_first_path"] = sum(
                    a == b for a, b in zip(outputs, reference_outputs[name]))
    return results


def generation_seconds(generate, batches: list[dict], num_beams: int, new_tokens: int) -> float:
    """Seconds `generate` takes over `batches` (padded input_ids and attention_mask), one call per batch; every
    output is checked to be new_tokens long."""
    elapsed = 0.0
    for batch in batches:
        start = time.perf_counter()
        sequences = generate(batch["input_ids"], batch["attention_mask"], num_beams)
        elapsed += time.perf_counter() - start
        if sequences.shape[1] != 1 + new_tokens:  # the decoder start token, then the generated ones
            raise RuntimeError(f"generated {sequences.shape[1] - 1} tokens, expected {new_tokens}")
    return elapsed


def time_generate(model, inputs: dict, new_tokens: int, use_cache: bool, repeats: int = 1,
                  **generate_kwargs) -> tuple[float, torch.Tensor]:
    """The median seconds of `repeats` `model.generate(**inputs)` calls of at most new_tokens new tokens (exactly as
    many with `eos_token_id=None`), with the cache or without, and the last output."""
    times, output = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=new_tokens, use_cache=use_cache, **generate_kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


def _path_figures(generate, batches: list, latency_batches: list, new_tokens: int, model_flops) -> dict:
    """One serving path's sentences/s at batch 64 (and that as model FLOP/s over the matmul rate, from
    `model_flops(num_beams, seconds)`) and ms per sentence at batch 1, greedy and beam 5."""
    figures = {}
    for _, num_beams in GENERATION_MODES:  # untimed: first-call costs (lazy imports, onnxruntime's first run)
        generation_seconds(generate, latency_batches[:1], num_beams, new_tokens)
    sentences = sum(len(batch["input_ids"]) for batch in batches)
    for name, num_beams in GENERATION_MODES:
        elapsed = generation_seconds(generate, batches, num_beams, new_tokens)
        figures[f"{name}_sentences_per_s"] = sentences / elapsed
        figures[f"{name}_flops_fraction"] = model_flops(num_beams, elapsed)
    for name, num_beams in GENERATION_MODES:
        elapsed = generation_seconds(generate, latency_batches, num_beams, new_tokens)
        figures[f"{name}_batch1_ms"] = 1000 * elapsed / len(latency_batches)
    return figures


def generation_benchmark(settings: BenchmarkSettings, peak_flops: float) -> dict:
    """Per serving path, greedy and beam 5, every output `new_tokens` long: sentences/s on test2016 in length-sorted
    batches of 64 (and that as model FLOP/s over the matmul rate), and mean ms per sentence at batch 1 on the first
    `latency_sentences`; then the cache speed-up on 100-token outputs (fp32 generate)."""
    from ..models import new_model

    tokenizer, pairs = load_tokenized(Path(settings.data), "test2016", settings.vocab_size, Path(settings.cache))
    if settings.model:
        from transformers import AutoModelForSeq2SeqLM

        from ..tokenization import load_tokenizer
        model = AutoModelForSeq2SeqLM.from_pretrained(settings.model, use_safetensors=True).eval()
        tokenizer = load_tokenizer(settings.model)
    else:
        torch.manual_seed(0)
        model = new_model(tokenizer, **REFERENCE).eval()
    sources = list(pairs["source"])
    encodings, batches = _length_sorted_inputs(tokenizer, sources)
    source_tokens = sum(len(ids) for ids in encodings["input_ids"])
    latency_rows = range(min(settings.latency_sentences, len(sources)))
    latency_batches = [_padded(tokenizer, encodings, [row]) for row in latency_rows]

    def flops_fraction(num_beams: int, seconds: float) -> float:
        flops = model_forward_flops(model.config, source_tokens, len(sources) * num_beams * settings.new_tokens,
                                    source_tokens / len(sources))
        return flops / seconds / peak_flops

    results = {"model": settings.model or "random reference model (input feeding)", "new_tokens": settings.new_tokens,
               "sentences": len(sources), "latency_sentences": len(latency_batches), "paths": {}}
    with tempfile.TemporaryDirectory() as folder:
        for path, generate in serving_paths(model, settings.serving_paths, settings.new_tokens, Path(folder)).items():
            results["paths"][path] = _path_figures(generate, [batch for _, batch in batches], latency_batches,
                                                   settings.new_tokens, flops_fraction)
    inputs = tokenizer(sources[:16], padding=True, return_tensors="pt")
    cached, _ = time_generate(model, inputs, 100, use_cache=True, eos_token_id=None)
    uncached, _ = time_generate(model, inputs, 100, use_cache=False, eos_token_id=None)
    results.update(cached_100_tokens_s=cached, uncached_100_tokens_s=uncached, cache_speedup=uncached / cached)
    return results


# --------------------------------------------------------------------------------------------------------- the peer


def peer_benchmark(settings: BenchmarkSettings, bin_dir: Path, workdir: Path) -> dict:
    """The same training variants and beam/greedy generation, measured on OpenNMT-py (`opennmt`)."""
    peer_env = MALLOC_ENVIRONMENT if settings.peer_reuse_freed_memory else {}
    training = []
    for variant in settings.variants:
        options = opennmt.options_for(variant_config(variant), LEARNING_RATE)
        result = opennmt.train_throughput(bin_dir, workdir, f"v{len(training)}", options, settings.batch_size,
                                          settings.warmup_steps, settings.timed_steps, peer_env)
        training.append({"variant": variant, **result})
    reference_checkpoint = next(row["checkpoint"] for row in training if row["variant"] == REFERENCE_VARIANT)
    latency_source = opennmt.first_lines(workdir, settings.latency_sentences)  # batch-1 latency, as ours
    generation = {}
    for name, num_beams in GENERATION_MODES:
        generation[f"{name}_sentences_per_s"] = opennmt.translate_throughput(
            bin_dir, workdir, reference_checkpoint, num_beams, 64, settings.new_tokens, peer_env)
        generation[f"{name}_batch1_ms"] = 1000 / opennmt.translate_throughput(
            bin_dir, workdir, reference_checkpoint, num_beams, 1, settings.new_tokens, peer_env,
            source=latency_source)
    return {"toolkit": opennmt.OPENNMT, "reuse_freed_memory": settings.peer_reuse_freed_memory, "training": training,
            "generation": generation}


# ----------------------------------------------------------------------------------------------------------- the run


def _measure_round(settings: BenchmarkSettings, worker_script: Path, peer: tuple[Path, Path] | None) -> dict:
    """Every figure once: the matmul rate, training (eager, and compiled if asked), generation, the peer's."""
    peak = matmul_flops_per_second()
    measured = {
        "matmul_flops_per_s": peak,
        "training": [training_in_own_process(settings, worker_script, variant) for variant in settings.variants],
    }
    if settings.torch_compile:
        measured["compiled_training"] = [training_in_own_process(settings, worker_script, variant, compiled=True)
                                         for variant in settings.variants]
    if not settings.training_only:
        measured["generation"] = generation_benchmark(settings, peak)
    if peer is not None:
        measured["peer"] = peer_benchmark(settings, *peer)
    return measured


def run_benchmark(settings: BenchmarkSettings, worker_script: Path) -> dict:
    """
    Measures everything `settings.rounds` times (ours, then the peer), prints the report's tables and writes the
    report to `settings.json`: the median of each figure over the rounds, and every round. Each training run is a
    process of its own, `worker_script --worker` (`scripts/benchmark.py`), which runs [`training_throughput`].
    """
    tokenizer, _ = load_tokenized(Path(settings.data), "train", settings.vocab_size, Path(settings.cache))  # once
    peer = None
    if settings.peer:
        workdir = Path(settings.cache) / "opennmt"
        peer = opennmt.prepare_peer(Path(settings.peer_venv), workdir, tokenizer, Path(settings.data)), workdir
    rounds = [_measure_round(settings, worker_script, peer) for _ in range(settings.rounds)]
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        # as our scripts run (the script's __main__ has set it; again, it changes nothing and says if it took effect)
        "reuse_freed_memory": reuse_freed_memory(),
        "rounds": settings.rounds,
        **median_over_rounds(rounds),
        **({"quality": serving_path_quality(settings)} if settings.bleu_model else {}),
        "each_round": rounds,
    }
    print_report(report)
    Path(settings.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings.json, report)
    print(f"\nJSON: {settings.json}")
    return report


def median_over_rounds(rounds: list):
    """Rounds measured with the same structure -> one of that structure: the median of each number that differs across
    rounds, anything else (names, flags, paths, settings such as the token count) from the first round."""
    first = rounds[0]
    if isinstance(first, dict):
        return {key: median_over_rounds([measured[key] for measured in rounds]) for key in first}
    if isinstance(first, list):
        return [median_over_rounds(list(items)) for items in zip(*rounds)]
    if isinstance(first, (int, float)) and not isinstance(first, bool) and any(x != first for x in rounds):
        return statistics.median(rounds)
    return first


# ------------------------------------------------------------------------------------------------------------ report


def _table_header(header: str) -> str:
    """A markdown header row and its separator row."""
    return header + "\n" + "|---" * header.count(" | ") + "|---|"


def print_report(report: dict) -> None:
    """The training table (and the generation tables, [`print_generation_report`]) of a [`run_benchmark`] report."""
    peak = report["matmul_flops_per_s"]
    peer = report.get("peer")
    allocator = "freed memory reused" if report["reuse_freed_memory"] else "system malloc"
    if peer:
        allocator += f"; OpenNMT-py: {'freed memory reused' if peer['reuse_freed_memory'] else 'system malloc'}"
    rounds = f", median of {report['rounds']} rounds" if report["rounds"] > 1 else ""
    print(f"\n{report['date']}  {report['machine']}  fp32 matmul: {peak / 1e9:.1f} GFLOP/s  ({allocator}{rounds})\n")
    compiled = {row["variant"]: row for row in report.get("compiled_training", [])}
    header = "| training variant | target tokens/s | peak RSS (MB) | model FLOP/s / matmul peak |"
    if compiled:
        header += " compiled tokens/s | compiled / eager | compile s (warm-up beyond eager steps) |"
    if peer:
        header += " OpenNMT-py tokens/s | OpenNMT-py peak RSS (MB) | ours / OpenNMT-py |"
    print(_table_header(header))
    for row in report["training"]:
        line = (f"| {row['variant']} | {row['target_tokens_per_s']:,.0f} | {row['peak_rss_mb']:,.0f} | "
                f"{row['model_flops_per_s'] / peak:.1%} |")
        if compiled:
            theirs = compiled[row["variant"]]
            line += (f" {theirs['target_tokens_per_s']:,.0f} | "
                     f"{theirs['target_tokens_per_s'] / row['target_tokens_per_s']:.2f}x | "
                     f"{theirs['warmup_extra_s']:.0f} |")
        if peer:
            theirs = next(r for r in peer["training"] if r["variant"] == row["variant"])
            line += (f" {theirs['target_tokens_per_s']:,.0f} | {theirs['peak_rss_mb']:,.0f} | "
                     f"{row['target_tokens_per_s'] / theirs['target_tokens_per_s']:.2f}x |")
        print(line)
    if "generation" in report:
        print_generation_report(report)


def print_generation_report(report: dict) -> None:
    """The generation table (against the peer's, if measured), the cache speed-up and the serving paths' BLEU."""
    peer = report.get("peer")
    generation = report["generation"]
    columns = ["greedy_sentences_per_s", "beam5_sentences_per_s", "greedy_batch1_ms", "beam5_batch1_ms"]
    header = (f"| generation, {generation['new_tokens']} tokens each | greedy sent/s (batch 64) | beam 5 sent/s "
              f"(batch 64) | greedy ms/sentence (batch 1) | beam 5 ms/sentence (batch 1) |")
    if peer:
        header += (" greedy vs OpenNMT-py | beam 5 vs OpenNMT-py | greedy batch 1 vs OpenNMT-py | beam 5 batch 1 vs "
                   "OpenNMT-py |")
    print(f"\ntest2016: {generation['sentences']:,} sentences at batch 64, the first {generation['latency_sentences']} "
          f"at batch 1" + ("; vs OpenNMT-py: speed, ours / theirs (sentences/s ours / theirs, ms per sentence theirs "
                           "/ ours), > 1 when ours is faster" if peer else ""))
    print(_table_header(header))

    def cells(figures):
        return " | ".join(f"{figures[key]:.1f}" for key in columns)

    for path, figures in generation["paths"].items():
        line = f"| {path} | {cells(figures)} |"
        if peer:
            theirs = peer["generation"]
            ratios = [figures[key] / theirs[key] if key.endswith("_per_s") else theirs[key] / figures[key]
                      for key in columns]
            line += "".join(f" {ratio:.2f}x |" for ratio in ratios)
        print(line)
    if peer:
        print(f"| OpenNMT-py onmt_translate | {cells(peer['generation'])} |" + " |" * len(columns))
    print(f"\ncached vs use_cache=False, 100 tokens: {generation['cache_speedup']:.1f}x "
          f"({generation['cached_100_tokens_s']:.2f} s vs {generation['uncached_100_tokens_s']:.2f} s)")
    if report.get("quality"):
        _print_quality(report["quality"])


def _print_quality(quality: dict) -> None:
    print(f"\ntest2016 de->en sacreBLEU of {quality['model']} (outputs end at </s>, at most {QUALITY_NEW_TOKENS} new "
          "tokens)\n" + _table_header("| path | greedy BLEU | beam 5 BLEU | outputs equal to the first path's (greedy "
                                      "/ beam 5) |"))
    for path, figures in quality.items():
        if path != "model":
            print(f"| {path} | {figures['greedy_bleu']:.2f} | {figures['beam5_bleu']:.2f} | "
                  f"{figures['greedy_same_as_first_path']:,} / {figures['beam5_same_as_first_path']:,} |")


# -------------------------------------------------------------------------------- the generation cache, on its own


@dataclass
class CacheBenchmarkSettings:
    """A random model (bidirectional encoder, `attention`, `input_feeding`) of the given sizes, `batch_size` random
    sources of `source_length` tokens, `new_tokens` generated greedily; each timing the median of `repeats`; torch
    runs on `threads` threads (None: torch's choice)."""

    hidden_size: int = 512
    embedding_size: int = 256
    vocab_size: int = 8000
    attention: str = "luong_general"
    input_feeding: bool = False
    batch_size: int = 16
    source_length: int = 30
    new_tokens: int = 100
    repeats: int = 3
    threads: int | None = None


def run_cache_benchmark(settings: CacheBenchmarkSettings) -> dict:
    """
    Greedy generation with the recurrent-state cache vs recomputing the whole prefix each step: both decode exactly
    `new_tokens` tokens from the same random model; checks that they produce the same tokens, prints both times and
    their ratio, and returns them (`cached_s`, `uncached_s`).

    Raises:
        RuntimeError: the two disagree (a bug in the cache), so the comparison means nothing.
    """
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(0)
    config = Seq2SeqLSTMConfig(vocab_size=settings.vocab_size, embedding_size=settings.embedding_size,
                               hidden_size=settings.hidden_size, bidirectional_encoder=True,
                               attention=settings.attention, input_feeding=settings.input_feeding)
    model = Seq2SeqLSTMForConditionalGeneration(config).eval()
    shape = (settings.batch_size, settings.source_length)
    inputs = {"input_ids": torch.randint(4, settings.vocab_size, shape),
              "attention_mask": torch.ones(shape, dtype=torch.long)}

    def exactly(new_tokens: int, use_cache: bool, repeats: int):
        # no end-of-sequence token, so exactly `new_tokens` (a min_new_tokens processor would add timed work per step)
        return time_generate(model, inputs, new_tokens, use_cache, repeats, eos_token_id=None)

    exactly(5, use_cache=True, repeats=1)  # warm-up (allocator, thread pool)
    cached_s, cached = exactly(settings.new_tokens, use_cache=True, repeats=settings.repeats)
    uncached_s, uncached = exactly(settings.new_tokens, use_cache=False, repeats=settings.repeats)
    if not torch.equal(cached, uncached):
        raise RuntimeError("cached and uncached generation disagree: the benchmark is invalid")
    tokens = settings.batch_size * settings.new_tokens
    print(f"hidden_size={settings.hidden_size} attention={settings.attention} input_feeding={settings.input_feeding} "
          f"batch={settings.batch_size} source_length={settings.source_length} new_tokens={settings.new_tokens} "
          f"threads={torch.get_num_threads()}")
    print(f"use_cache=True : {cached_s:8.3f} s  ({tokens / cached_s:9.1f} tokens/s)")
    print(f"use_cache=False: {uncached_s:8.3f} s  ({tokens / uncached_s:9.1f} tokens/s)")
    print(f"speed-up       : {uncached_s / cached_s:8.1f}x")
    return {"cached_s": cached_s, "uncached_s": uncached_s}
