#!/usr/bin/env python
"""Benchmark suite: training and generation throughput on Multi30k, against the machine's own matmul rate.

    python scripts/benchmark.py --data ../shared/data/multi30k --json outputs/benchmark.json

Reports, in one run (each training variant in its own subprocess so its peak RSS is its own):
  - training throughput (target tokens/s, median over timed steps after warm-up; length-grouped batches, fused Adam)
    and peak RSS for the reference
    configuration (embeddings 256, 1-layer biLSTM encoder 2x256, 1-layer LSTM decoder 512, Luong general attention,
    dropout 0.2, Adam, batches of 64 sentences, ~10k-token vocabularies) with and without input feeding, and GRU and
    no-attention variants;
  - generation throughput (sentences/s) on the 1,000 test2016 sentences, greedy and beam 5, batch 64, and the
    cached vs use_cache=False ratio on 100-token outputs;
  - the measured fp32 matmul rate, and each figure as model FLOP/s over that rate.
Run it on quiet cores: concurrent processes on 2 cores slow each other ~10x.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REFERENCE = dict(embedding_size=256, hidden_size=512, encoder_hidden_size=256, bidirectional_encoder=True,
                 encoder_layers=1, decoder_layers=1, attention="luong_general", input_feeding=True, dropout=0.2)
VARIANTS = {
    "reference (input feeding)": {},
    "no input feeding (fused)": dict(input_feeding=False),
    "GRU, no input feeding": dict(input_feeding=False, cell_type="gru"),
    "no attention": dict(attention="none", input_feeding=False),
}


def matmul_flops_per_second(size=1024, repeats=20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / statistics.median(times)


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
    """Multi30k de->en tokenized with separate ~vocab_size BPE vocabularies trained on the training split."""
    from hf_seq2seq_lstm.data import load_text_pairs
    from hf_seq2seq_lstm.tokenization import load_tokenizers, save_tokenizers, train_tokenizers

    if not (cache / "tokenizer.json").exists():
        train = load_text_pairs(train_file=data_dir / "train", source_lang="de", target_lang="en")["train"]
        source, target = train_tokenizers(train["source"], train["target"], joint=False, vocab_size=vocab_size)
        save_tokenizers(cache, source, target)
    source_tokenizer, target_tokenizer = load_tokenizers(cache)
    pairs = load_text_pairs(test_file=data_dir / split, source_lang="de", target_lang="en")["test"]
    return source_tokenizer, target_tokenizer, pairs


def length_grouped_batches(lengths: list[int], batch_size: int, pool: int = 50, seed: int = 0) -> list[list[int]]:
    """Random batches of similar-length sentences, as Trainer's `--group_by_length` and the peers' bucketing make
    them: shuffle, sort pools of `pool` batches by length, cut them into batches, shuffle the batches."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), pool * batch_size):
        chunk = sorted(order[start:start + pool * batch_size], key=lambda index: -lengths[index])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def train_worker(args) -> dict:
    """One training variant: tokens/s over timed steps, peak RSS, model FLOP/s."""
    from hf_seq2seq_lstm.training import new_model

    source_tokenizer, target_tokenizer, pairs = load_tokenized(Path(args.data), "train", args.vocab_size,
                                                               Path(args.cache))
    overrides = {**REFERENCE, **VARIANTS[args.variant]}
    torch.manual_seed(0)
    model = new_model(source_tokenizer, target_tokenizer, **overrides).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batches = length_grouped_batches([len(text) for text in pairs["source"]], args.batch_size)
    steps = args.warmup_steps + args.timed_steps
    rates, flops_rates = [], []
    for step in range(steps):
        batch_indices = batches[step]
        sources = [pairs[i]["source"] for i in batch_indices]
        targets = [pairs[i]["target"] for i in batch_indices]
        inputs = source_tokenizer(sources, padding=True, return_tensors="pt")
        labels = target_tokenizer(targets, padding=True, return_tensors="pt")["input_ids"]
        labels = labels.masked_fill(labels == target_tokenizer.pad_token_id, -100)
        start = time.perf_counter()
        loss = model(**inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        if step >= args.warmup_steps:
            target_tokens = int((labels != -100).sum())
            source_tokens = int(inputs["attention_mask"].sum())
            rates.append(target_tokens / elapsed)
            flops = 3 * model_forward_flops(model.config, source_tokens, target_tokens,
                                            source_tokens / len(batch_indices))
            flops_rates.append(flops / elapsed)
    return {
        "variant": args.variant,
        "target_tokens_per_s": statistics.median(rates),
        "model_flops_per_s": statistics.median(flops_rates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": model.num_parameters(),
    }


def generation_benchmark(args) -> dict:
    """Sentences/s on test2016 (greedy and beam 5, batch 64) and the cache speed-up on 100-token outputs."""
    from hf_seq2seq_lstm.inference import translate
    from hf_seq2seq_lstm.training import new_model

    source_tokenizer, target_tokenizer, pairs = load_tokenized(Path(args.data), "test2016", args.vocab_size,
                                                               Path(args.cache))
    if args.model:
        from transformers import AutoModelForSeq2SeqLM
        from hf_seq2seq_lstm.tokenization import load_tokenizers
        model = AutoModelForSeq2SeqLM.from_pretrained(args.model, use_safetensors=True).eval()
        source_tokenizer, target_tokenizer = load_tokenizers(args.model)
    else:
        torch.manual_seed(0)
        model = new_model(source_tokenizer, target_tokenizer, **{**REFERENCE, "input_feeding": False}).eval()
    sources = list(pairs["source"])
    results = {"model": args.model or "random reference model (no input feeding)"}
    for name, kwargs in (("greedy", dict(num_beams=1)), ("beam5", dict(num_beams=5))):
        start = time.perf_counter()
        translate(model, source_tokenizer, target_tokenizer, sources, batch_size=64, progress=False,
                  max_new_tokens=args.max_new_tokens, **kwargs)
        results[f"{name}_sentences_per_s"] = len(sources) / (time.perf_counter() - start)

    inputs = source_tokenizer(sources[:16], padding=True, return_tensors="pt")
    times = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=100, min_new_tokens=100, use_cache=use_cache)
        times[use_cache] = time.perf_counter() - start
    results["cached_100_tokens_s"] = times[True]
    results["uncached_100_tokens_s"] = times[False]
    results["cache_speedup"] = times[False] / times[True]
    return results


def run_worker(args, variant) -> dict:
    command = [sys.executable, __file__, "--worker", "--variant", variant, "--data", args.data, "--cache", args.cache,
               "--vocab_size", str(args.vocab_size), "--batch_size", str(args.batch_size),
               "--warmup_steps", str(args.warmup_steps), "--timed_steps", str(args.timed_steps)]
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
    parser.add_argument("--max_new_tokens", type=int, default=60)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(train_worker(args)))
        return

    import hf_seq2seq_lstm  # noqa: F401

    load_tokenized(Path(args.data), "train", args.vocab_size, Path(args.cache))  # train the tokenizers once
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "matmul_flops_per_s": matmul_flops_per_second(),
        "training": [run_worker(args, variant) for variant in args.variants],
        "generation": generation_benchmark(args),
    }
    peak = report["matmul_flops_per_s"]
    print(f"\n{report['date']}  {report['machine']}  fp32 matmul: {peak / 1e9:.1f} GFLOP/s\n")
    print("| training variant | target tokens/s | peak RSS (MB) | model FLOP/s / matmul peak |")
    print("|---|---|---|---|")
    for row in report["training"]:
        print(f"| {row['variant']} | {row['target_tokens_per_s']:,.0f} | {row['peak_rss_mb']:,.0f} | "
              f"{row['model_flops_per_s'] / peak:.1%} |")
    generation = report["generation"]
    print("\n| generation (test2016, batch 64) | value |\n|---|---|")
    print(f"| greedy sentences/s | {generation['greedy_sentences_per_s']:.1f} |")
    print(f"| beam 5 sentences/s | {generation['beam5_sentences_per_s']:.1f} |")
    print(f"| cached vs use_cache=False, 100 tokens | {generation['cache_speedup']:.1f}x |")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
