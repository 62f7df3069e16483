#!/usr/bin/env python
"""Benchmark suite: training and generation throughput on Multi30k, against the machine's own matmul rate and,
with `--peer opennmt`, against OpenNMT-py 3.5.1 measured in the same run on the same data.

    python scripts/benchmark.py --peer opennmt --json outputs/benchmark.json

Reports, in one run (each training run in its own process so that its peak RSS is its own):
  - training throughput (target tokens/s, median over timed steps after warm-up, each step timed from padding the
    batch to the optimizer step) and peak RSS for the reference configuration (embeddings 256, 1-layer biLSTM
    encoder 2x256, 1-layer LSTM decoder 512, Luong general attention, dropout 0.2, Adam, batches of 64 sentences,
    10k-token vocabularies) with and without input feeding, and GRU and no-attention variants;
  - with `--torch_compile`, each training variant again under `torch.compile(model)` (what Trainer's
    --torch_compile does), side by side with eager, its compile time (the warm-up steps' time beyond as many
    eager-speed steps) apart from its tokens/s;
  - generation (unless `--training_only`), for each serving path (`--serving_paths`: fp32 `generate()` with
    transformers' beam search or with ours (the default), int8 `quantize()`, onnxruntime fp32 and int8), greedy and
    beam 5, every output exactly --new_tokens long (so that models that stop at different points are compared on the
    same work): sentences/s on the 1,000 test2016 sentences in length-sorted batches of 64
    (`inference.length_sorted_batches`, as `translate` makes them), and batch-1 latency, mean ms per sentence over
    the first --latency_sentences sentences, one sentence per call; and the cached vs use_cache=False ratio on
    100-token outputs;
  - the measured fp32 matmul rate, and each figure as model FLOP/s over that rate.
  - with `--bleu_model FOLDER` (a trained de->en model), each serving path's test2016 sacreBLEU, once.

Like our other scripts, the benchmark first calls `hf_seq2seq_lstm.allocator.reuse_freed_memory()` (set
HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC=1 to measure without it); `--peer_reuse_freed_memory` gives the peer the same glibc
setting through its environment variables.

Both toolkits get the same subword ids, vocabularies of the same size, and the same batches: the training split
sorted by (source, target) length, cut into batches of 64, in shuffled order (OpenNMT-py's bucketing).
Run it on quiet cores: concurrent processes on 2 cores slow each other ~10x. Even on quiet cores this machine's speed
drifts (2026-11-26: the matmul rate read 343, 321 and 319 GFLOP/s in three runs within an hour, and single-run
ratios moved by up to 5%): `--rounds 3` measures ours and the peer three times, one after the other, and reports the
median of each figure (the JSON keeps every round).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hf_seq2seq_lstm.allocator import MALLOC_ENVIRONMENT, reuse_freed_memory
from hf_seq2seq_lstm.data import bucketed_batches
from hf_seq2seq_lstm.machine import matmul_flops_per_second

REFERENCE = dict(embedding_size=256, hidden_size=512, encoder_hidden_size=256, bidirectional_encoder=True,
                 encoder_layers=1, decoder_layers=1, attention="luong_general", input_feeding=True, dropout=0.2)
REFERENCE_VARIANT = "reference (input feeding)"
VARIANTS = {
    REFERENCE_VARIANT: {},
    "no input feeding (fused)": dict(input_feeding=False),
    "GRU, no input feeding": dict(input_feeding=False, cell_type="gru"),
    "no attention": dict(attention="none", input_feeding=False),
}
GENERATION_MODES = (("greedy", 1), ("beam5", 5))  # (name, num_beams)
SERVING_PATHS = ("fp32 generate (transformers beam search)", "fp32 generate", "int8", "onnxruntime fp32",
                 "onnxruntime int8")


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


def load_tokenized(data_dir: Path, split: str, vocab_size: int, cache: Path):
    """The Multi30k de->en tokenizer (separate ~vocab_size BPE vocabularies trained on the training split, cached)
    and the text pairs of `split`."""
    from hf_seq2seq_lstm.data import load_text_pairs
    from hf_seq2seq_lstm.tokenization import load_tokenizer, train_tokenizers

    if not (cache / "tokenizer.json").exists():
        train = load_text_pairs(train_file=data_dir / "train", source_lang="de", target_lang="en")["train"]
        train_tokenizers(train["source"], train["target"], joint=False, vocab_size=vocab_size).save_pretrained(cache)
    pairs = load_text_pairs(test_file=data_dir / split, source_lang="de", target_lang="en")["test"]
    return load_tokenizer(cache), pairs


def shuffled_batches(source_lengths: list[int], target_lengths: list[int], batch_size: int,
                     seed: int = 0) -> list[list[int]]:
    """`data.bucketed_batches` of `batch_size` sentences, in random order: what both toolkits train on."""
    batches = bucketed_batches(source_lengths, target_lengths, max_sentences=batch_size)
    generator = torch.Generator().manual_seed(seed)
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def train_worker(args) -> dict:
    """One training variant, eager or (--torch_compile) under `torch.compile(model)` as Trainer's --torch_compile
    runs it: tokens/s over timed steps, peak RSS, model FLOP/s, and the seconds the warm-up steps took beyond as
    many timed steps (compilation, when compiled)."""
    from hf_seq2seq_lstm.training import new_model

    tokenizer, pairs = load_tokenized(Path(args.data), "train", args.vocab_size, Path(args.cache))
    source_ids = tokenizer(list(pairs["source"]))["input_ids"]
    target_ids = tokenizer(text_target=list(pairs["target"]))["input_ids"]
    overrides = {**REFERENCE, **VARIANTS[args.variant]}
    torch.manual_seed(0)
    model = new_model(tokenizer, **overrides).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    forward = torch.compile(model) if args.torch_compile else model
    batches = shuffled_batches([len(ids) for ids in source_ids], [len(ids) for ids in target_ids], args.batch_size)
    rates, flops_rates, step_seconds = [], [], []
    for step, batch in enumerate(batches[:args.warmup_steps + args.timed_steps]):
        start = time.perf_counter()
        inputs = tokenizer.pad({"input_ids": [source_ids[i] for i in batch]}, return_tensors="pt")
        targets = tokenizer.pad({"input_ids": [target_ids[i] for i in batch]}, return_tensors="pt")
        labels = targets["input_ids"].masked_fill(targets["attention_mask"] == 0, -100)
        loss = forward(**inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        step_seconds.append(elapsed)
        if step >= args.warmup_steps:
            target_tokens = int(targets["attention_mask"].sum())
            source_tokens = int(inputs["attention_mask"].sum())
            rates.append(target_tokens / elapsed)
            flops = 3 * model_forward_flops(model.config, source_tokens, target_tokens, source_tokens / len(batch))
            flops_rates.append(flops / elapsed)
    warmup_seconds = sum(step_seconds[:args.warmup_steps])
    return {
        "variant": args.variant,
        "compiled": args.torch_compile,
        "target_tokens_per_s": statistics.median(rates),
        "warmup_extra_s": warmup_seconds - args.warmup_steps * statistics.median(step_seconds[args.warmup_steps:]),
        "model_flops_per_s": statistics.median(flops_rates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": model.num_parameters(),
    }


def serving_paths(model, names: list[str], new_tokens: int, folder: Path, fixed_length: bool = True) -> dict:
    """Path name -> generate(input_ids, attention_mask, num_beams) -> token ids. With `fixed_length` every output is
    new_tokens long (no end-of-sequence token, whatever the weights: for timing); without, outputs end at </s> (for
    quality), at most new_tokens long. The onnxruntime paths export into `folder`; without onnxruntime they are
    skipped with a note."""
    from hf_seq2seq_lstm import quantize

    length_options = {"eos_token_id": None} if fixed_length else {}

    def on_torch(model, **options):
        def generate(input_ids, attention_mask, num_beams):
            with torch.inference_mode():
                return model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=num_beams,
                                      max_new_tokens=new_tokens, **length_options, **options)
        return generate

    def on_onnxruntime(int8: bool):
        from hf_seq2seq_lstm.onnx_export import OnnxSeq2SeqLSTM, export_onnx

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


def serving_path_quality(args) -> dict:
    """test2016 de->en sacreBLEU of each serving path on the trained model --bleu_model (greedy and beam 5, batches
    of 64 sorted by length, outputs ending at </s>, at most 80 new tokens), and how many outputs equal fp32
    generate()'s."""
    from hf_seq2seq_lstm.checkpoints import load_model
    from hf_seq2seq_lstm.data import read_text_lines
    from hf_seq2seq_lstm.inference import length_sorted_batches
    from hf_seq2seq_lstm.metrics import text_scorer
    from hf_seq2seq_lstm.tokenization import load_tokenizer

    model, tokenizer = load_model(args.bleu_model).eval(), load_tokenizer(args.bleu_model)
    sources = read_text_lines(Path(args.data) / "test2016.de")
    references = read_text_lines(Path(args.data) / "test2016.en")
    encodings = tokenizer(sources)
    batches = [(rows, tokenizer.pad([{"input_ids": encodings["input_ids"][row],
                                      "attention_mask": encodings["attention_mask"][row]} for row in rows],
                                    return_tensors="pt"))
               for rows in length_sorted_batches([len(ids) for ids in encodings["input_ids"]], 64)]
    score, results, reference_outputs = text_scorer("translation"), {"model": args.bleu_model}, {}
    with tempfile.TemporaryDirectory() as folder:
        for path, generate in serving_paths(model, args.serving_paths, 80, Path(folder), fixed_length=False).items():
            for name, num_beams in GENERATION_MODES:
                outputs = [None] * len(sources)
                for rows, batch in batches:
                    texts = tokenizer.batch_decode(generate(batch["input_ids"], batch["attention_mask"], num_beams),
                                                   skip_special_tokens=True)
                    for row, text in zip(rows, texts):
                        outputs[row] = text
                reference_outputs.setdefault(name, outputs)  # the first path's (fp32 generate by default)
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


def generation_benchmark(args, peak_flops: float) -> dict:
    """Per serving path, greedy and beam 5, every output --new_tokens long: sentences/s on test2016 in length-sorted
    batches of 64 (and that as model FLOP/s over the matmul rate), and mean ms per sentence at batch 1 on the first
    --latency_sentences; then the cache speed-up on 100-token outputs (fp32 generate)."""
    from hf_seq2seq_lstm.inference import length_sorted_batches
    from hf_seq2seq_lstm.training import new_model

    tokenizer, pairs = load_tokenized(Path(args.data), "test2016", args.vocab_size, Path(args.cache))
    if args.model:
        from transformers import AutoModelForSeq2SeqLM

        from hf_seq2seq_lstm.tokenization import load_tokenizer
        model = AutoModelForSeq2SeqLM.from_pretrained(args.model, use_safetensors=True).eval()
        tokenizer = load_tokenizer(args.model)
    else:
        torch.manual_seed(0)
        model = new_model(tokenizer, **REFERENCE).eval()
    sources = list(pairs["source"])
    encodings = tokenizer(sources)
    source_tokens = sum(len(ids) for ids in encodings["input_ids"])

    def padded(rows):
        return tokenizer.pad([{"input_ids": encodings["input_ids"][row],
                               "attention_mask": encodings["attention_mask"][row]} for row in rows],
                             return_tensors="pt")

    batches = [padded(rows) for rows in length_sorted_batches([len(ids) for ids in encodings["input_ids"]], 64)]
    latency_batches = [padded([row]) for row in range(min(args.latency_sentences, len(sources)))]
    results = {"model": args.model or "random reference model (input feeding)", "new_tokens": args.new_tokens,
               "sentences": len(sources), "latency_sentences": len(latency_batches), "paths": {}}
    with tempfile.TemporaryDirectory() as folder:
        for path, generate in serving_paths(model, args.serving_paths, args.new_tokens, Path(folder)).items():
            figures = results["paths"][path] = {}
            for _, num_beams in GENERATION_MODES:  # untimed: first-call costs (lazy imports, onnxruntime's first run)
                generation_seconds(generate, latency_batches[:1], num_beams, args.new_tokens)
            for name, num_beams in GENERATION_MODES:
                elapsed = generation_seconds(generate, batches, num_beams, args.new_tokens)
                figures[f"{name}_sentences_per_s"] = len(sources) / elapsed
                flops = model_forward_flops(model.config, source_tokens, len(sources) * num_beams * args.new_tokens,
                                            source_tokens / len(sources))
                figures[f"{name}_flops_fraction"] = flops / elapsed / peak_flops
            for name, num_beams in GENERATION_MODES:
                elapsed = generation_seconds(generate, latency_batches, num_beams, args.new_tokens)
                figures[f"{name}_batch1_ms"] = 1000 * elapsed / len(latency_batches)

    inputs = tokenizer(sources[:16], padding=True, return_tensors="pt")
    times = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=100, eos_token_id=None, use_cache=use_cache)
        times[use_cache] = time.perf_counter() - start
    results["cached_100_tokens_s"] = times[True]
    results["uncached_100_tokens_s"] = times[False]
    results["cache_speedup"] = times[False] / times[True]
    return results


def prepare_opennmt(args, tokenizer) -> tuple[Path, Path]:
    """Installs OpenNMT-py if missing and writes its corpus (our subword ids) once: (its bin folder, its workdir)."""
    import benchmark_opennmt as opennmt

    from hf_seq2seq_lstm.data import load_text_pairs

    bin_dir = opennmt.ensure_installed(Path(args.peer_venv))
    workdir = Path(args.cache) / "opennmt"
    data = load_text_pairs(train_file=Path(args.data) / "train", test_file=Path(args.data) / "test2016",
                           source_lang="de", target_lang="en")
    opennmt.prepare(workdir, tokenizer, data["train"], data["test"])
    return bin_dir, workdir


def opennmt_benchmark(args, bin_dir: Path, workdir: Path) -> dict:
    """The same training variants and beam/greedy generation, measured on OpenNMT-py (see benchmark_opennmt.py)."""
    import benchmark_opennmt as opennmt

    peer_env = MALLOC_ENVIRONMENT if args.peer_reuse_freed_memory else {}
    training = []
    for variant in args.variants:
        result = opennmt.train_throughput(bin_dir, workdir, f"v{len(training)}", VARIANTS[variant], args.batch_size,
                                          args.warmup_steps, args.timed_steps, peer_env)
        training.append({"variant": variant, **result})
    reference_checkpoint = next(row["checkpoint"] for row in training if row["variant"] == REFERENCE_VARIANT)
    # batch-1 latency on the first --latency_sentences test sentences, as ours
    latency_source = workdir / f"test.first{args.latency_sentences}.src"
    latency_source.write_text("".join((workdir / "test.src").read_text().splitlines(True)[:args.latency_sentences]))
    generation = {}
    for name, num_beams in GENERATION_MODES:
        generation[f"{name}_sentences_per_s"] = opennmt.translate_throughput(
            bin_dir, workdir, reference_checkpoint, num_beams, 64, args.new_tokens, peer_env)
        generation[f"{name}_batch1_ms"] = 1000 / opennmt.translate_throughput(
            bin_dir, workdir, reference_checkpoint, num_beams, 1, args.new_tokens, peer_env, source=latency_source)
    return {"toolkit": opennmt.OPENNMT, "reuse_freed_memory": args.peer_reuse_freed_memory, "training": training,
            "generation": generation}


def run_worker(args, variant, compiled: bool = False) -> dict:
    command = [sys.executable, __file__, "--worker", "--variant", variant, "--data", args.data, "--cache", args.cache,
               "--vocab_size", str(args.vocab_size), "--batch_size", str(args.batch_size),
               "--warmup_steps", str(args.warmup_steps), "--timed_steps", str(args.timed_steps)]
    if compiled:
        command.append("--torch_compile")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark worker for {variant!r} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/multi30k"))
    parser.add_argument("--cache", default="outputs/benchmark-tokenizers")
    parser.add_argument("--json", default="outputs/benchmark.json")
    parser.add_argument("--model", help="a trained Multi30k model for the generation benchmark (default: random)")
    parser.add_argument("--vocab_size", type=int, default=10000)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--warmup_steps", type=int, default=5)
    parser.add_argument("--timed_steps", type=int, default=30)
    parser.add_argument("--new_tokens", type=int, default=25,
                        help="length of every generated output (test2016 references average ~16 subwords)")
    parser.add_argument("--bleu_model", help="a trained Multi30k de->en model: also report each serving path's "
                                             "test2016 sacreBLEU (once, after the timed rounds)")
    parser.add_argument("--latency_sentences", type=int, default=50,
                        help="batch-1 latency: mean over the first this many test2016 sentences, one per call")
    parser.add_argument("--serving_paths", nargs="*", choices=SERVING_PATHS, default=list(SERVING_PATHS),
                        help="the generation paths to measure (default: all)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--torch_compile", action="store_true",
                        help="also train each variant under torch.compile(model) (Trainer's --torch_compile), beside "
                             "eager; its compile time is reported apart from its tokens/s")
    parser.add_argument("--training_only", action="store_true", help="skip the generation benchmark")
    parser.add_argument("--peer", choices=["opennmt"], help="also measure this toolkit, same data, same run")
    parser.add_argument("--peer_reuse_freed_memory", action="store_true",
                        help="run the peer with the glibc setting our scripts use (see hf_seq2seq_lstm/allocator.py)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure everything (ours, then the peer) this many times and report each figure's "
                             "median: the machine's speed drifts by several percent within minutes")
    parser.add_argument("--peer_venv", default=".peers/opennmt", help="where the peer is installed (git-ignored)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.latency_sentences < 1:
        parser.error("--latency_sentences must be at least 1")
    if args.peer and args.training_only:
        parser.error("--peer compares generation too: drop --training_only")
    if args.peer and REFERENCE_VARIANT not in args.variants:
        parser.error(f"--peer compares generation on the {REFERENCE_VARIANT!r} model: keep it in --variants")

    reused = reuse_freed_memory()
    if args.worker:
        print(json.dumps(train_worker(args)))
        return

    import hf_seq2seq_lstm  # noqa: F401

    tokenizer, _ = load_tokenized(Path(args.data), "train", args.vocab_size, Path(args.cache))  # trains it once
    if args.peer:
        peer_bin_dir, peer_workdir = prepare_opennmt(args, tokenizer)
    rounds = []
    for _ in range(args.rounds):
        peak = matmul_flops_per_second()
        measured = {
            "matmul_flops_per_s": peak,
            "training": [run_worker(args, variant) for variant in args.variants],
        }
        if args.torch_compile:
            measured["compiled_training"] = [run_worker(args, variant, compiled=True) for variant in args.variants]
        if not args.training_only:
            measured["generation"] = generation_benchmark(args, peak)
        if args.peer:
            measured["peer"] = opennmt_benchmark(args, peer_bin_dir, peer_workdir)
        rounds.append(measured)
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "reuse_freed_memory": reused,
        "rounds": args.rounds,
        **median_over_rounds(rounds),
        **({"quality": serving_path_quality(args)} if args.bleu_model else {}),
        "each_round": rounds,
    }
    print_report(report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {args.json}")


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


def print_report(report: dict) -> None:
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
    print(header + "\n" + "|---" * header.count(" | ") + "|---|")
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
    print(header + "\n" + "|---" * header.count(" | ") + "|---|")

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
    quality = report.get("quality")
    if quality:
        print(f"\ntest2016 de->en sacreBLEU of {quality['model']} (outputs end at </s>, at most 80 new tokens)\n"
              "| path | greedy BLEU | beam 5 BLEU | outputs equal to the first path's (greedy / beam 5) |\n"
              "|---|---|---|---|")
        for path, figures in quality.items():
            if path != "model":
                print(f"| {path} | {figures['greedy_bleu']:.2f} | {figures['beam5_bleu']:.2f} | "
                      f"{figures['greedy_same_as_first_path']:,} / {figures['beam5_same_as_first_path']:,} |")


if __name__ == "__main__":
    main()
