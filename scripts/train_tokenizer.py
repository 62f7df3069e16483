#!/usr/bin/env python
# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Trains BPE or Unigram tokenizers for the seq2seq model on the train split of a dataset or of files.

Examples:
    python scripts/train_tokenizer.py --train_file ../shared/data/multi30k/train --source_lang de --target_lang en \\
        --vocab_size 8000 --output_dir outputs/tokenizer-de-en
    python scripts/train_tokenizer.py --dataset_name wmt16 --dataset_config_name de-en --source_lang de \\
        --target_lang en --max_train_samples 200000 --separate_vocabularies --output_dir outputs/tokenizer-wmt16

The output folder loads with `AutoTokenizer.from_pretrained`: a plain fast tokenizer for a joint vocabulary, a
`Seq2SeqLSTMTokenizer` (source in `tokenizer.json`, target in `target_tokenizer.json`) for separate ones.

A wrong flag or unreadable data ends the script with a one-line `error: ...` and exit status 1 (the flags are checked
before any data is read; `load_text_pairs` checks every file and folder it reads); HF_SEQ2SEQ_LSTM_TRACEBACK=1
shows the traceback.

The flags are train.py's: --tokenizer_type was --model_type and --max_train_samples was --max_samples, spellings
still accepted until 0.2.
"""

import argparse
import logging
import os
import sys

from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.cli import BOOLEAN_FLAG, add_renamed_flag, check_flag, run_cli
from hf_seq2seq_lstm.data import load_text_pairs
from hf_seq2seq_lstm.tokenization import (
    DEFAULT_MIN_FREQUENCY,
    DEFAULT_MODEL_TYPE,
    DEFAULT_VOCAB_SIZE,
    MODEL_TYPES,
    SPECIAL_TOKENS,
    save_tokenizer,
    separate_vocabularies,
    target_vocab_size,
    train_tokenizers,
)

logger = logging.getLogger(__name__)

# flag: (minimum, maximum, why); the maxima are what 🤗 tokenizers holds (32-bit token ids, 64-bit counts)
RANGES = {
    "max_train_samples": (1, None, "the number of training pairs to keep"),
    "vocab_size": (len(SPECIAL_TOKENS) + 1, 2**32, f"the {len(SPECIAL_TOKENS)} special tokens and at least one more, "
                                                   f"in 32-bit token ids"),
    "min_frequency": (0, 2**64 - 1, "a count of occurrences"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data (see hf_seq2seq_lstm.data.load_text_pairs)")
    data.add_argument("--dataset_name", help="Hub dataset name or local dataset folder.")
    data.add_argument("--dataset_config_name", help="Dataset configuration, e.g. de-en.")
    data.add_argument(
        "--train_file", help="json/jsonl/csv file, or parallel-text PREFIX with PREFIX.<source_lang>/<target_lang>."
    )
    data.add_argument("--source_lang", help="Source language key or file suffix, e.g. de.")
    data.add_argument("--target_lang", help="Target language key or file suffix, e.g. en.")
    data.add_argument("--text_column", help="Source column of a dataset without a `translation` column.")
    data.add_argument("--summary_column", help="Target column of a dataset without a `translation` column.")
    add_renamed_flag(data, "--max_train_samples", old="--max_samples", type=int,
                     help="Train on at most this many pairs of the train split.")
    tokenizer = parser.add_argument_group("tokenizer (see hf_seq2seq_lstm.tokenization.train_tokenizer)")
    add_renamed_flag(tokenizer, "--tokenizer_type", old="--model_type", choices=MODEL_TYPES, default=DEFAULT_MODEL_TYPE)
    tokenizer.add_argument("--vocab_size", type=int, default=DEFAULT_VOCAB_SIZE,
                           help="Vocabulary size of each tokenizer.")
    tokenizer.add_argument("--min_frequency", type=int, default=DEFAULT_MIN_FREQUENCY,
                           help="Minimum count of a BPE merge.")
    tokenizer.add_argument("--lowercase", **BOOLEAN_FLAG, help="Lowercase all text.")
    tokenizer.add_argument("--split_digits", **BOOLEAN_FLAG, help="Make every digit its own token.")
    tokenizer.add_argument("--separate_vocabularies", **BOOLEAN_FLAG,
                           help="Train one tokenizer per side instead of one joint tokenizer.")
    parser.add_argument("--output_dir", required=True, help="Where the tokenizer(s) are saved.")
    return parser.parse_args(argv)


def check_ranges(args) -> None:
    for flag, (minimum, maximum, meaning) in RANGES.items():
        check_flag(flag, getattr(args, flag), minimum, maximum, why=meaning)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    check_ranges(args)
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        raise NotADirectoryError(f"--output_dir {args.output_dir} is a file: give the folder to save the tokenizer in.")

    pairs = load_text_pairs(
        dataset_name=args.dataset_name,
        dataset_config_name=args.dataset_config_name,
        train_file=args.train_file,
        source_lang=args.source_lang,
        target_lang=args.target_lang,
        text_column=args.text_column,
        summary_column=args.summary_column,
        max_samples={"train": args.max_train_samples} if args.max_train_samples is not None else None,
    )
    if "train" not in pairs:
        raise ValueError(f"No train split to train on; the data has splits {list(pairs)}.")
    train = pairs["train"]
    logger.info("Training %s tokenizer(s) on %d pairs.", args.tokenizer_type, len(train))
    tokenizer = train_tokenizers(
        train["source"],
        train["target"],
        joint=not args.separate_vocabularies,
        model_type=args.tokenizer_type,
        vocab_size=args.vocab_size,
        lowercase=args.lowercase,
        split_digits=args.split_digits,
        min_frequency=args.min_frequency,
    )
    save_tokenizer(tokenizer, args.output_dir)  # atomic: a tokenizer saved there before stays whole until replaced
    if separate_vocabularies(tokenizer):
        logger.info("Saved a tokenizer with a %d-token source and a %d-token target vocabulary to %s.",
                    len(tokenizer), target_vocab_size(tokenizer), args.output_dir)
    else:
        logger.info("Saved a joint tokenizer (%d tokens) to %s.", len(tokenizer), args.output_dir)


if __name__ == "__main__":
    reuse_freed_memory()
    sys.exit(run_cli(main))
