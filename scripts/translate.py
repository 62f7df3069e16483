#!/usr/bin/env python
"""Translate a text file, stdin or a dataset split with a saved model; score it when references are given.

    python scripts/translate.py --model_name_or_path outputs/dates --input dates.txt --output iso.txt --num_beams 5
    echo "3. März 2021" | python scripts/translate.py --model_name_or_path outputs/dates
    python scripts/translate.py --model_name_or_path outputs/multi30k --input ../shared/data/multi30k/test2016.de \\
        --references ../shared/data/multi30k/test2016.en --num_beams 5
    python scripts/translate.py --model_name_or_path outputs/multi30k --input few.de --plot_attention attention/

Sentences are batched by length for speed; outputs are written in input order, one per line. `--plot_attention DIR`
writes DIR/attention_0001.png, ... one cross-attention heatmap per input line (of its first output), for models
with attention.

A unix filter: stdout holds the outputs only; progress, scores and warnings go to stderr. A blank input line gives a
blank output line (it is not translated), and sources longer than --max_source_length tokens are reported, not cut
in silence. `--output` and `--metrics_file` are replaced atomically: a kill, SIGTERM, Ctrl-C or a full disk leaves
the old file. Exit status: 0; 1 for an error; 2 for a bad flag; 130 on SIGINT, 143 on SIGTERM and 141 when the
reader of stdout goes away (`| head -1`), as for a process killed by those signals.

The flags are train.py's and transformers' where they name the same thing: --model_name_or_path, --tokenizer_name,
--disable_tqdm and --plot_attention were --model, --tokenizer, --no_progress and --plot-attention, spellings still
accepted until 0.2.
"""

import argparse
import json
import logging
import os
import sys

import torch

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.cli import (
    BOOLEAN_FLAG,
    add_model_flags,
    add_renamed_flag,
    bounded,
    run_cli,
    stop_on_signals,
    write_stdout,
)
from hf_seq2seq_lstm.data import load_text_pairs, read_lines, read_text_lines
from hf_seq2seq_lstm.files import atomic_write_json, atomic_write_text
from hf_seq2seq_lstm.inference import translate
from hf_seq2seq_lstm.metrics import text_scorer
from hf_seq2seq_lstm.models import check_tokenizer_matches_model
from hf_seq2seq_lstm.tokenization import load_tokenizer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", help="text file, one source per line (default: stdin)")
    source.add_argument("--dataset_name", help="a dataset (name or local folder) to translate a split of")
    source.add_argument("--data_file", help="json/jsonl/csv file or parallel-text PREFIX to translate")
    parser.add_argument("--dataset_config_name")
    parser.add_argument("--split", default="test")
    parser.add_argument("--source_lang")
    parser.add_argument("--target_lang")
    parser.add_argument("--text_column")
    parser.add_argument("--summary_column")
    parser.add_argument("--references", help="text file of reference outputs, one per line, to score against")
    parser.add_argument("--output", help="write outputs here (default: stdout)")
    parser.add_argument("--metrics_file", help="write the scores here as JSON")
    parser.add_argument("--batch_size", type=bounded(int, 1), default=64)
    parser.add_argument("--max_source_length", type=bounded(int, 1), default=None,
                        help="truncate longer sources to this many tokens (they are counted on stderr)")
    parser.add_argument("--max_new_tokens", type=bounded(int, 1), default=128)
    parser.add_argument("--num_beams", type=bounded(int, 1), default=1)
    parser.add_argument("--num_return_sequences", type=bounded(int, 1), default=1,
                        help="outputs per input, joined by ' ||| ' (at most --num_beams unless --do_sample)")
    parser.add_argument("--do_sample", **BOOLEAN_FLAG)
    parser.add_argument("--top_k", type=bounded(int, 0), help="0 turns top-k filtering off")
    parser.add_argument("--top_p", type=bounded(float, 0, 1, exclusive=True))
    parser.add_argument("--temperature", type=bounded(float, 0, exclusive=True))
    parser.add_argument("--length_penalty", type=bounded(float))
    parser.add_argument("--no_repeat_ngram_size", type=bounded(int, 0), help="0 turns it off")
    parser.add_argument("--repetition_penalty", type=bounded(float, 0, exclusive=True))
    parser.add_argument("--seed", type=bounded(int, 0, 2**64 - 1), default=0)  # torch.manual_seed's range
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--int8", **BOOLEAN_FLAG,
                        help="int8 weights for CPU serving (hf_seq2seq_lstm.quantize): outputs close to fp32's")
    add_renamed_flag(parser, "--disable_tqdm", old="--no_progress", **BOOLEAN_FLAG, help="no progress bar on stderr")
    add_renamed_flag(parser, "--plot_attention", old="--plot-attention", metavar="DIR",
                     help="write one cross-attention heatmap per input to DIR/attention_NNNN.png (numbered from 1)")
    args = parser.parse_args(argv)
    if args.num_return_sequences > args.num_beams and not args.do_sample:
        parser.error(f"argument --num_return_sequences: must be at most --num_beams ({args.num_beams}) unless "
                     f"--do_sample is given: beam search keeps only --num_beams candidates")
    return args


def load_sources(args):
    """(sources, references or None) from the chosen input."""
    if args.dataset_name or args.data_file:
        split_file = {f"{args.split}_file": args.data_file} if args.data_file else {}
        pairs = load_text_pairs(dataset_name=args.dataset_name, dataset_config_name=args.dataset_config_name,
                                source_lang=args.source_lang, target_lang=args.target_lang,
                                text_column=args.text_column, summary_column=args.summary_column, **split_file)
        if args.split not in pairs:
            raise ValueError(f"No split {args.split!r}; the data has {list(pairs)}.")
        return pairs[args.split]["source"], pairs[args.split]["target"]
    sources = read_text_lines(args.input) if args.input else read_stdin_lines()
    references = read_text_lines(args.references) if args.references else None
    if references is not None and len(references) != len(sources):
        raise ValueError(f"{args.references} has {len(references)} lines but the input has {len(sources)}.")
    return sources, references


def read_stdin_lines():
    """stdin's lines, read as read_text_lines reads a file: UTF-8, split on "\\n" only, no line breaks, no BOM."""
    if sys.stdin is None:
        raise ValueError("stdin is closed and there is no --input: give --input FILE or pipe the sources in.")
    return read_lines(sys.stdin.buffer, "stdin")


def write_attention_plots(directory, sources, outputs, attentions):
    """One PNG per input: DIR/attention_0001.png ... (numbered like the input lines)."""
    from hf_seq2seq_lstm.plotting import plot_attention

    os.makedirs(directory, exist_ok=True)
    width = max(4, len(str(len(sources))))
    for number, (source, output, attention) in enumerate(zip(sources, outputs, attentions), start=1):
        if attention is None:  # a blank input line: nothing was translated, there is nothing to plot
            continue
        output = output[0] if isinstance(output, list) else output
        title = f"{shorten(source, 90)}\n→ {shorten(output, 90)}"
        plot_attention(attention.weights, attention.source_tokens, attention.target_tokens, title=title,
                       path=os.path.join(directory, f"attention_{number:0{width}d}.png"))


def shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def output_line(output):
    """An input's line of output: its outputs joined by ' ||| ' (--num_return_sequences > 1); blank if all are."""
    if isinstance(output, str):
        return output
    return " ||| ".join(output) if any(output) else ""


def save(flag, path, write, content):
    """`write(path, content)` (an atomic write of files.py), a failure said in one line naming the flag."""
    try:
        write(path, content)
    except OSError as error:
        raise OSError(f"Could not write {flag} {path} ({error.strerror or error}); it was left as it was. Check that "
                      "its folder is writable and has free space.") from error


def check_output_paths(args):
    """Before the translation time is spent: every file to write must have a folder to go in."""
    for flag, path in (("--output", args.output), ("--metrics_file", args.metrics_file)):
        if path is None:
            continue
        if os.path.isdir(path):
            raise IsADirectoryError(f"{flag} {path} is a folder; give a file name.")
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise FileNotFoundError(f"{flag} {path}: its folder does not exist; create it first.")


def main(argv=None):
    args = parse_args(argv)
    # translate()'s counts of blank and truncated lines, on stderr: stdout is for the outputs
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    check_output_paths(args)
    torch.manual_seed(args.seed)
    # safetensors only, no remote code, a clear error for a missing, truncated or mismatched model
    model = load_model(args.model_name_or_path).to(args.device)
    if args.int8:
        model = hf_seq2seq_lstm.quantize(model, inplace=True)  # CPU only: refuses another --device with a clear error
    tokenizer = load_tokenizer(args.tokenizer_name or args.model_name_or_path)
    check_tokenizer_matches_model(model, tokenizer)
    if args.plot_attention and model.config.attention == "none":
        raise ValueError(f"--plot_attention: {args.model_name_or_path} was trained with attention='none'; it has no "
                         f"attention weights to plot (its decoder sees the source only through the encoder's final "
                         f"state).")
    sources, references = load_sources(args)
    if references is not None and len(sources) == 0:
        raise ValueError("There is nothing to score: the input is empty. Give a non-empty input or drop --references.")

    generate_kwargs = {name: getattr(args, name) for name in (
        "max_new_tokens", "num_beams", "num_return_sequences", "do_sample", "top_k", "top_p", "temperature",
        "length_penalty", "no_repeat_ngram_size", "repetition_penalty") if getattr(args, name) is not None}
    outputs = translate(model, tokenizer, sources, batch_size=args.batch_size,
                        max_source_length=args.max_source_length, progress=not args.disable_tqdm,
                        return_attentions=bool(args.plot_attention), **generate_kwargs)
    if args.plot_attention:
        outputs, attentions = outputs
        write_attention_plots(args.plot_attention, sources, outputs, attentions)
    lines = [output_line(output) + "\n" for output in outputs]
    if args.output:
        save("--output", args.output, atomic_write_text, "".join(lines))
    else:
        write_stdout(lines)  # a closed pipe (`| head -1`) ends the run quietly with status 141

    if references is not None:
        best = [output[0] if isinstance(output, list) else output for output in outputs]
        scores = {**text_scorer("translation")(best, list(references)), "sentences": len(best)}
        print(json.dumps(scores), file=sys.stderr)
        if args.metrics_file:
            save("--metrics_file", args.metrics_file, atomic_write_json, scores)


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    # A bad input or model ends the run with its message and exit status 1, not a traceback.
    sys.exit(run_cli(main))
