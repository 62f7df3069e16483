#!/usr/bin/env python
"""The experiment behind "attention removes the fixed-size bottleneck": no attention vs Bahdanau vs Luong attention,
and the no-attention model with and without Sutskever et al.'s source reversal, all trained the same number of steps
on the same data and scored by source length.

    python scripts/bottleneck_study.py --output-dir docs                                   # synthetic copy task
    python scripts/bottleneck_study.py --output-dir docs --multi30k ../shared/data/multi30k  # + Multi30k de->en BLEU
    python scripts/bottleneck_study.py --tiny --output-dir /tmp/bottleneck                 # a smoke test, seconds
    python scripts/bottleneck_study.py --from-csv docs/bottleneck.csv --output-dir docs      # redraw, no training

Writes OUTPUT_DIR/bottleneck.png (score against source length, one line per model), OUTPUT_DIR/bottleneck.csv (every
number) and prints the markdown tables. `--save-models DIR` keeps the trained models (with tokenizers), e.g. for
`scripts/translate.py --model DIR/multi30k-bahdanau --plot-attention ...`. See hf_seq2seq_lstm/bottleneck.py.

Models train side by side, `--jobs` processes of one thread each. On 2 CPU cores (shared with other jobs) the full
study with Multi30k took 16 min; the synthetic task alone trains its four models in about 11 CPU-minutes.
"""

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.bottleneck import (
    VARIANTS,
    StudySettings,
    markdown_tables,
    plot_study,
    read_csv,
    run_study,
    write_csv,
)

TINY = dict(min_length=5, max_length=8, bucket_width=2, eval_per_length=3, steps=5, batch_size=8, embedding_size=8,
            hidden_size=16, multi30k_steps=5, multi30k_batch_size=8, multi30k_embedding_size=8,
            multi30k_hidden_size=16, multi30k_vocab_size=300, multi30k_edges=(1, 10), max_train_samples=300,
            max_eval_samples=20)


def parse_args(argv=None):
    defaults = StudySettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="outputs/bottleneck", help="where bottleneck.png/.csv are written")
    parser.add_argument("--multi30k", metavar="DIR", help="Multi30k folder (train.de, train.en, val.*, test2016.*)")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the synthetic task (with --multi30k)")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="training steps per synthetic-task model")
    parser.add_argument("--multi30k-steps", type=int, default=defaults.multi30k_steps,
                        help="training steps per Multi30k model")
    parser.add_argument("--task", choices=("copy", "reverse"), default=defaults.task)
    parser.add_argument("--min-length", type=int, default=defaults.min_length)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--hidden-size", type=int, default=defaults.hidden_size)
    parser.add_argument("--variants", nargs="+", default=list(defaults.variants),
                        choices=[variant.name for variant in VARIANTS])
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4),
                        help="models trained in parallel, one process each (default: CPU cores, at most 4)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--save-models", metavar="DIR", help="save every trained model (and tokenizer) here")
    parser.add_argument("--tiny", action="store_true", help="a few steps, two length buckets: a smoke test")
    parser.add_argument("--from-csv", metavar="CSV", help="train nothing: redraw the plot and tables from a CSV "
                        "this script wrote (into --output-dir)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO,
                        handlers=[logging.StreamHandler(sys.stderr)])
    started = time.perf_counter()
    if args.from_csv:
        rows = read_csv(args.from_csv)
        os.makedirs(args.output_dir, exist_ok=True)
        plot_study(rows, os.path.join(args.output_dir, "bottleneck.png"))
        print(markdown_tables(rows))
        return rows
    settings = StudySettings(
        synthetic=not args.no_synthetic, task=args.task, min_length=args.min_length, max_length=args.max_length,
        steps=args.steps,
        learning_rate=args.learning_rate, hidden_size=args.hidden_size, multi30k=args.multi30k,
        multi30k_steps=args.multi30k_steps, variants=tuple(args.variants), seed=args.seed, jobs=args.jobs,
        save_models=args.save_models,
    )
    if not settings.synthetic and not settings.multi30k:
        raise SystemExit("--no-synthetic needs --multi30k: there would be nothing to train.")
    if args.tiny:
        settings = dataclasses.replace(settings, **TINY)
    os.makedirs(args.output_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as work_dir:
        rows = run_study(settings, work_dir)
    write_csv(rows, os.path.join(args.output_dir, "bottleneck.csv"))
    plot_study(rows, os.path.join(args.output_dir, "bottleneck.png"))
    print(markdown_tables(rows))
    print(f"Wrote {args.output_dir}/bottleneck.png and bottleneck.csv in {time.perf_counter() - started:.0f}s "
          f"({settings.jobs} parallel jobs).")
    return rows


if __name__ == "__main__":
    main()
