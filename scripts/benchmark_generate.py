#!/usr/bin/env python
"""Benchmark: greedy generation with the recurrent-state cache vs. recomputing the whole prefix each step.

    python scripts/benchmark_generate.py --hidden_size 512 --new_tokens 100

Both runs decode exactly --new_tokens tokens from the same random model; the script checks they produce the same
tokens and prints both times and their ratio (`hf_seq2seq_lstm.experiments.benchmark.run_cache_benchmark`). Run it
on quiet cores: timings of concurrent processes mean nothing. Exit status: 0; 1 for an error; 2 for a bad flag.
"""

import argparse
import sys

from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.cli import BOOLEAN_FLAG, add_renamed_flag, run_cli, stop_on_signals
from hf_seq2seq_lstm.experiments.benchmark import CacheBenchmarkSettings, run_cache_benchmark


def parse_args(argv=None):
    defaults = CacheBenchmarkSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # add_renamed_flag: the kebab-case spelling of earlier releases is accepted too, for one release (not in --help).
    add_renamed_flag(parser, "--hidden_size", old="--hidden-size", type=int, default=defaults.hidden_size)
    add_renamed_flag(parser, "--embedding_size", old="--embedding-size", type=int, default=defaults.embedding_size)
    add_renamed_flag(parser, "--vocab_size", old="--vocab-size", type=int, default=defaults.vocab_size)
    parser.add_argument("--attention", default=defaults.attention)
    add_renamed_flag(parser, "--input_feeding", old="--input-feeding", **BOOLEAN_FLAG)
    add_renamed_flag(parser, "--batch_size", old="--batch-size", type=int, default=defaults.batch_size)
    add_renamed_flag(parser, "--source_length", old="--source-length", type=int, default=defaults.source_length)
    add_renamed_flag(parser, "--new_tokens", old="--new-tokens", type=int, default=defaults.new_tokens)
    parser.add_argument("--repeats", type=int, default=defaults.repeats)
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch threads (default: torch's choice)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_cache_benchmark(CacheBenchmarkSettings(**vars(args)))


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
