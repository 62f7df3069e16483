#!/usr/bin/env python
"""Benchmark suite: training and generation throughput on Multi30k, against the machine's own matmul rate and,
with `--peer opennmt`, against OpenNMT-py 3.5.1 measured in the same run on the same data.

    python scripts/benchmark.py --peer opennmt --json outputs/benchmark.json

What it measures, and how, is `hf_seq2seq_lstm.experiments.benchmark`'s docstring: training tokens/s and peak RSS
of the reference model and its variants (each in its own process), with `--torch_compile` compiled beside eager;
generation sentences/s and batch-1 latency of each serving path, greedy and beam 5; the cache speed-up; each figure
as model FLOP/s over the matmul rate; with `--bleu_model` each serving path's test2016 sacreBLEU.

Like our other scripts, the benchmark first calls `hf_seq2seq_lstm.allocator.reuse_freed_memory()` (set
HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC=1 to measure without it); `--peer_reuse_freed_memory` gives the peer the same glibc
setting through its environment variables. Run it on quiet cores, and with `--rounds 3` to report the median of
three rounds: a machine's speed drifts by several percent within minutes. Exit status: 0; 1 for an error; 2 for a
bad flag.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.cli import BOOLEAN_FLAG, run_cli, stop_on_signals
from hf_seq2seq_lstm.experiments.benchmark import (
    REFERENCE_VARIANT,
    SERVING_PATHS,
    VARIANTS,
    BenchmarkSettings,
    run_benchmark,
    training_throughput,
)


def parse_args(argv=None):
    defaults = BenchmarkSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=defaults.data, help="the Multi30k folder (train.de, test2016.en ...)")
    parser.add_argument("--cache", default=defaults.cache, help="where our tokenizer and the peer's corpus are kept")
    parser.add_argument("--json", default=defaults.json, help="where the report is written")
    parser.add_argument("--model", help="a trained Multi30k model for the generation benchmark (default: random)")
    parser.add_argument("--vocab_size", type=int, default=defaults.vocab_size)
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument("--warmup_steps", type=int, default=defaults.warmup_steps)
    parser.add_argument("--timed_steps", type=int, default=defaults.timed_steps)
    parser.add_argument("--new_tokens", type=int, default=defaults.new_tokens,
                        help="length of every generated output (test2016 references average ~16 subwords)")
    parser.add_argument("--bleu_model", help="a trained Multi30k de->en model: also report each serving path's "
                                             "test2016 sacreBLEU (once, after the timed rounds)")
    parser.add_argument("--latency_sentences", type=int, default=defaults.latency_sentences,
                        help="batch-1 latency: mean over the first this many test2016 sentences, one per call")
    parser.add_argument("--serving_paths", nargs="*", choices=SERVING_PATHS, default=defaults.serving_paths,
                        help="the generation paths to measure (default: all)")
    parser.add_argument("--variants", nargs="*", default=defaults.variants, choices=list(VARIANTS))
    parser.add_argument("--torch_compile", **BOOLEAN_FLAG,
                        help="also train each variant under torch.compile(model) (Trainer's --torch_compile), beside "
                             "eager; its compile time is reported apart from its tokens/s")
    parser.add_argument("--training_only", **BOOLEAN_FLAG, help="skip the generation benchmark")
    parser.add_argument("--peer", choices=["opennmt"], help="also measure this toolkit, same data, same run")
    parser.add_argument("--peer_reuse_freed_memory", **BOOLEAN_FLAG,
                        help="run the peer with the glibc setting our scripts use (see hf_seq2seq_lstm/allocator.py)")
    parser.add_argument("--rounds", type=int, default=defaults.rounds,
                        help="measure everything (ours, then the peer) this many times and report each figure's "
                             "median: the machine's speed drifts by several percent within minutes")
    parser.add_argument("--peer_venv", default=defaults.peer_venv, help="where the peer is installed (git-ignored)")
    parser.add_argument("--worker", **BOOLEAN_FLAG, help=argparse.SUPPRESS)  # one training run, in its process
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.latency_sentences < 1:
        parser.error("--latency_sentences must be at least 1")
    if args.peer and args.training_only:
        parser.error("--peer compares generation too: drop --training_only")
    if args.peer and REFERENCE_VARIANT not in args.variants:
        parser.error(f"--peer compares generation on the {REFERENCE_VARIANT!r} model: keep it in --variants")
    return args


def main(argv=None):
    args = parse_args(argv)
    settings = BenchmarkSettings(**{field.name: getattr(args, field.name)
                                    for field in dataclasses.fields(BenchmarkSettings)})
    if args.worker:
        print(json.dumps(training_throughput(settings, args.variant, compiled=args.torch_compile)))
        return
    run_benchmark(settings, worker_script=Path(__file__).resolve())


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
