#!/usr/bin/env python
"""The Multi30k recipe and its ablation on val (`hf_seq2seq_lstm.experiments.recipe`): each variant changes one
thing in the baseline and trains under the same --minutes; the table gives val BLEU (beam 5 unless the variant is a
decoding one).

    python scripts/multi30k.py --minutes 20 --output_dir outputs/ablation-de-en        # every ablation variant
    python scripts/multi30k.py --minutes 20 --output_dir outputs/ablation-de-en --variants baseline "no input feeding"
    python scripts/multi30k.py --minutes 60 --output_dir outputs/multi30k-de-en --splits val test2016 \
        --variants recipe "recipe, average of the last 3 checkpoints"                 # the recipe itself

Variants already done in --output_dir are not run again (a killed one restarts afresh), so a long ablation can be
run in parts. The machine's fp32 matmul rate is printed first, for comparing machines. Reads
../shared/data/multi30k (never copied into the repo; non-commercial research and education use only). Exit status:
0; 1 for an error; 2 for a bad flag.
"""

import argparse
import logging
import sys
from pathlib import Path

from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.cli import bounded, run_cli, stop_on_signals
from hf_seq2seq_lstm.data import check_input_path
from hf_seq2seq_lstm.experiments import MULTI30K
from hf_seq2seq_lstm.experiments.machine import matmul_flops_per_second
from hf_seq2seq_lstm.experiments.recipe import ABLATION, VARIANTS, results_table, run_variant


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source_lang", default="de", choices=["de", "en", "fr", "cs"])
    parser.add_argument("--target_lang", default="en", choices=["de", "en", "fr", "cs"])
    parser.add_argument("--data_dir", default=str(MULTI30K), help="folder of train.de, val.en, test2016.en ...")
    parser.add_argument("--output_dir", required=True, help="one subfolder per variant")
    parser.add_argument("--minutes", type=bounded(float, 0, exclusive=True), default=20,
                        help="training time limit of every variant (default 20)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(ABLATION), metavar="VARIANT",
                        help=f"one or more of {', '.join(map(repr, VARIANTS))}; default: the ablation from the "
                             f"baseline, {', '.join(map(repr, ABLATION))}")
    parser.add_argument("--splits", nargs="+", choices=["val", "test2016"], default=["val"],
                        help="scored splits (default val: choose on val, report test2016 for the chosen recipe only)")
    args = parser.parse_args(argv)
    if args.source_lang == args.target_lang:
        parser.error("--source_lang and --target_lang must differ")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.INFO, stream=sys.stderr)
    for split in ("train", "val", *args.splits):
        for lang in (args.source_lang, args.target_lang):
            check_input_path(Path(args.data_dir) / f"{split}.{lang}")
    print(f"fp32 matmul: {matmul_flops_per_second() / 1e9:.1f} GFLOP/s", flush=True)
    for variant in args.variants:
        run_variant(variant, data_dir=args.data_dir, source_lang=args.source_lang, target_lang=args.target_lang,
                    output_dir=args.output_dir, minutes=args.minutes, splits=tuple(args.splits))
    print(f"{args.source_lang}->{args.target_lang}, {args.minutes:g} minutes of training per variant:")
    print(results_table(args.output_dir, tuple(args.splits)))


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
