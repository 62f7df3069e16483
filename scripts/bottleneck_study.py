#!/usr/bin/env python
"""The experiment behind "attention removes the fixed-size bottleneck": no attention vs Bahdanau vs Luong attention,
and the no-attention model with and without Sutskever et al.'s source reversal, all trained the same number of steps
on the same data and scored by source length.

    python scripts/bottleneck_study.py --output_dir docs                                   # synthetic copy task
    python scripts/bottleneck_study.py --output_dir docs --multi30k ../shared/data/multi30k  # + Multi30k de->en BLEU
    python scripts/bottleneck_study.py --tiny --output_dir /tmp/bottleneck                 # a smoke test, seconds
    python scripts/bottleneck_study.py --from_csv docs/bottleneck.csv --output_dir docs      # redraw, no training

Writes OUTPUT_DIR/bottleneck.png (score against source length, one line per model), OUTPUT_DIR/bottleneck.csv (every
number) and prints the markdown tables. `--save_models DIR` keeps the trained models (with tokenizers), e.g. for
`scripts/translate.py --model DIR/multi30k-bahdanau --plot_attention ...`. The study itself is
`hf_seq2seq_lstm.experiments.bottleneck`.

Models train side by side, `--jobs` processes of one thread each. Exit status: 0; 1 for an error; 2 for a bad flag.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace

from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.cli import BOOLEAN_FLAG, add_renamed_flag, run_cli, stop_on_signals
from hf_seq2seq_lstm.experiments.bottleneck import (
    MULTI30K_TRAINING,
    SYNTHETIC_TRAINING,
    VARIANTS,
    Multi30kStudy,
    StudySettings,
    SyntheticStudy,
    read_csv,
    run_study,
    write_study,
)


def parse_args(argv=None):
    synthetic, defaults = SyntheticStudy(), StudySettings()  # where the defaults are
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # add_renamed_flag: the kebab-case spelling of earlier releases is accepted too, for one release (not in --help).
    add_renamed_flag(parser, "--output_dir", old="--output-dir", default="outputs/bottleneck",
                     help="where bottleneck.png/.csv are written")
    parser.add_argument("--multi30k", metavar="DIR", help="Multi30k folder (train.de, train.en, val.*, test2016.*)")
    add_renamed_flag(parser, "--no_synthetic", old="--no-synthetic", **BOOLEAN_FLAG,
                     help="skip the synthetic task (with --multi30k)")
    parser.add_argument("--steps", type=int, default=SYNTHETIC_TRAINING.steps,
                        help="training steps per synthetic-task model")
    add_renamed_flag(parser, "--multi30k_steps", old="--multi30k-steps", type=int, default=MULTI30K_TRAINING.steps,
                     help="training steps per Multi30k model")
    parser.add_argument("--task", choices=("copy", "reverse"), default=synthetic.task)
    add_renamed_flag(parser, "--min_length", old="--min-length", type=int, default=synthetic.min_length)
    add_renamed_flag(parser, "--max_length", old="--max-length", type=int, default=synthetic.max_length)
    add_renamed_flag(parser, "--learning_rate", old="--learning-rate", type=float,
                     default=SYNTHETIC_TRAINING.learning_rate, help="of the synthetic-task models")
    add_renamed_flag(parser, "--hidden_size", old="--hidden-size", type=int, default=SYNTHETIC_TRAINING.hidden_size,
                     help="of the synthetic-task models")
    parser.add_argument("--variants", nargs="+", default=list(defaults.variants),
                        choices=[variant.name for variant in VARIANTS])
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4),
                        help="models trained in parallel, one process each (default: CPU cores, at most 4)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    add_renamed_flag(parser, "--save_models", old="--save-models", metavar="DIR",
                     help="save every trained model (and tokenizer) here")
    parser.add_argument("--tiny", **BOOLEAN_FLAG, help="a few steps, two length buckets: a smoke test")
    add_renamed_flag(parser, "--from_csv", old="--from-csv", metavar="CSV",
                     help="train nothing: redraw the plot and tables from a CSV this script wrote (into --output_dir)")
    return parser.parse_args(argv)


def study_settings(args) -> StudySettings:
    synthetic = multi30k = None
    if not args.no_synthetic:
        training = replace(SYNTHETIC_TRAINING, steps=args.steps, learning_rate=args.learning_rate,
                           hidden_size=args.hidden_size)
        synthetic = SyntheticStudy(task=args.task, min_length=args.min_length, max_length=args.max_length,
                                   training=training)
    if args.multi30k:
        multi30k = Multi30kStudy(args.multi30k, training=replace(MULTI30K_TRAINING, steps=args.multi30k_steps))
    settings = StudySettings(synthetic=synthetic, multi30k=multi30k, variants=tuple(args.variants), seed=args.seed,
                             jobs=args.jobs, save_models=args.save_models)
    return settings.tiny() if args.tiny else settings


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO,
                        handlers=[logging.StreamHandler(sys.stderr)])
    started = time.perf_counter()
    if args.from_csv:
        rows = read_csv(args.from_csv)
        print(write_study(rows, args.output_dir, with_csv=False))
        return rows
    if args.no_synthetic and not args.multi30k:
        raise SystemExit("--no_synthetic needs --multi30k: there would be nothing to train.")
    settings = study_settings(args)
    os.makedirs(args.output_dir, exist_ok=True)  # an unwritable folder fails now, not after the training
    with tempfile.TemporaryDirectory() as work_dir:
        rows = run_study(settings, work_dir)
    print(write_study(rows, args.output_dir))
    print(f"Wrote {args.output_dir}/bottleneck.png and bottleneck.csv in {time.perf_counter() - started:.0f}s "
          f"({settings.jobs} parallel jobs).")
    return rows


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
