#!/usr/bin/env python
"""Average the weights of a training run's last checkpoints into one model folder (`checkpoints.average_checkpoints`).

    python scripts/average_checkpoints.py --run_dir outputs/multi30k-de-en/recipe --last 3 --output_dir outputs/averaged
    python scripts/average_checkpoints.py --checkpoints RUN/checkpoint-900 RUN/checkpoint-1800 --output_dir OUT

The run must keep the checkpoints (train.py --save_total_limit at least --last). The output is a normal model folder
(config, generation config and tokenizer of the last checkpoint), for translate.py, push_to_hub.py and
`from_pretrained`. --output_dir must be new, empty or written by this package. Exit status: 0; 1 for an error; 2 for
a bad flag.
"""

import argparse
import sys

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.checkpoints import average_checkpoints, last_checkpoints
from hf_seq2seq_lstm.cli import bounded, run_cli, stop_on_signals


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run_dir", help="a train.py --output_dir: average its --last complete checkpoint-N folders")
    which.add_argument("--checkpoints", nargs="+", help="the checkpoint (or model) folders to average")
    parser.add_argument("--last", type=bounded(int, 2), default=3, help="with --run_dir: how many (default 3)")
    parser.add_argument("--output_dir", required=True, help="folder for the averaged model")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoints = args.checkpoints or last_checkpoints(args.run_dir, args.last)
    average_checkpoints(checkpoints, args.output_dir)
    print(f"averaged {len(checkpoints)} checkpoints ({', '.join(checkpoints)}) into {args.output_dir}", file=sys.stderr)


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
