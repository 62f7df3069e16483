#!/usr/bin/env python
"""Benchmark: greedy generation with the recurrent-state cache vs. recomputing the whole prefix each step.

    python scripts/benchmark_generate.py --hidden-size 512 --new-tokens 100

Both runs decode exactly --new-tokens tokens from the same random model; the script checks they produce the same
tokens and prints both times and their ratio. Run it on quiet cores: timings of concurrent processes mean nothing.
"""

import argparse
import statistics
import time

import torch

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration


def time_generate(model, inputs, new_tokens, use_cache, repeats):
    times, output = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                    use_cache=use_cache)
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--embedding-size", type=int, default=256)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--attention", default="luong_general")
    parser.add_argument("--input-feeding", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--source-length", type=int, default=30)
    parser.add_argument("--new-tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    config = Seq2SeqLSTMConfig(
        vocab_size=args.vocab_size, embedding_size=args.embedding_size, hidden_size=args.hidden_size,
        bidirectional_encoder=True, attention=args.attention, input_feeding=args.input_feeding,
    )
    model = Seq2SeqLSTMForConditionalGeneration(config).eval()
    inputs = {
        "input_ids": torch.randint(4, args.vocab_size, (args.batch_size, args.source_length)),
        "attention_mask": torch.ones(args.batch_size, args.source_length, dtype=torch.long),
    }
    time_generate(model, inputs, 5, True, 1)  # warm-up (allocator, thread pool)
    cached_time, cached = time_generate(model, inputs, args.new_tokens, True, args.repeats)
    full_time, full = time_generate(model, inputs, args.new_tokens, False, args.repeats)
    if not torch.equal(cached, full):
        raise SystemExit("cached and uncached generation disagree: the benchmark is invalid")
    print(f"hidden_size={args.hidden_size} attention={args.attention} input_feeding={args.input_feeding} "
          f"batch={args.batch_size} source_length={args.source_length} new_tokens={args.new_tokens} "
          f"threads={torch.get_num_threads()}")
    print(f"use_cache=True : {cached_time:8.3f} s  ({args.batch_size * args.new_tokens / cached_time:9.1f} tokens/s)")
    print(f"use_cache=False: {full_time:8.3f} s  ({args.batch_size * args.new_tokens / full_time:9.1f} tokens/s)")
    print(f"speed-up       : {full_time / cached_time:8.1f}x")


if __name__ == "__main__":
    main()
