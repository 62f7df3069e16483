#!/usr/bin/env python
"""Translate a text file, stdin or a dataset split with a saved model; score it when references are given.

    python scripts/translate.py --model outputs/dates --input dates.txt --output iso.txt --num_beams 5
    echo "3. März 2021" | python scripts/translate.py --model outputs/dates
    python scripts/translate.py --model outputs/multi30k --input ../shared/data/multi30k/test2016.de \\
        --references ../shared/data/multi30k/test2016.en --num_beams 5
    python scripts/translate.py --model outputs/multi30k --input few.de --plot-attention attention/

Sentences are batched by length for speed; outputs are written in input order, one per line. `--plot-attention DIR`
writes DIR/attention_0001.png, ... one cross-attention heatmap per input line (of its first output), for models
with attention.
"""

import argparse
import json
import os
import sys

import torch

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.data import load_text_pairs, read_text_lines
from hf_seq2seq_lstm.inference import translate
from hf_seq2seq_lstm.metrics import text_scorer
from hf_seq2seq_lstm.tokenization import load_tokenizer
from hf_seq2seq_lstm.training import check_tokenizer_matches_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="folder of a saved model (and its tokenizer)")
    parser.add_argument("--tokenizer", help="tokenizer folder, if not saved with the model")
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
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_source_length", type=int, default=None)
    parser.add_argument("--max_new_tokens", type=int, default=128)
    parser.add_argument("--num_beams", type=int, default=1)
    parser.add_argument("--num_return_sequences", type=int, default=1)
    parser.add_argument("--do_sample", action="store_true")
    parser.add_argument("--top_k", type=int)
    parser.add_argument("--top_p", type=float)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--length_penalty", type=float)
    parser.add_argument("--no_repeat_ngram_size", type=int)
    parser.add_argument("--repetition_penalty", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no_progress", action="store_true")
    parser.add_argument("--plot-attention", "--plot_attention", dest="plot_attention", metavar="DIR",
                        help="write one cross-attention heatmap per input to DIR/attention_NNNN.png (numbered from 1)")
    return parser.parse_args(argv)


def load_sources(args):
    """(sources, references or None) from the chosen input."""
    if args.dataset_name or args.data_file:
        split_file = {f"{args.split}_file": args.data_file} if args.data_file else {}
        pairs = load_text_pairs(dataset_name=args.dataset_name, dataset_config_name=args.dataset_config_name,
                                source_lang=args.source_lang, target_lang=args.target_lang,
                                text_column=args.text_column, summary_column=args.summary_column, **split_file)
        if args.split not in pairs:
            raise SystemExit(f"No split {args.split!r}; the data has {list(pairs)}.")
        return pairs[args.split]["source"], pairs[args.split]["target"]
    sources = read_text_lines(args.input) if args.input else [line.rstrip("\n") for line in sys.stdin]
    references = read_text_lines(args.references) if args.references else None
    if references is not None and len(references) != len(sources):
        raise SystemExit(f"{args.references} has {len(references)} lines but the input has {len(sources)}.")
    return sources, references


def write_attention_plots(directory, sources, outputs, attentions):
    """One PNG per input: DIR/attention_0001.png ... (numbered like the input lines)."""
    from hf_seq2seq_lstm.plotting import plot_attention

    os.makedirs(directory, exist_ok=True)
    width = max(4, len(str(len(sources))))
    for number, (source, output, attention) in enumerate(zip(sources, outputs, attentions), start=1):
        output = output[0] if isinstance(output, list) else output
        title = f"{shorten(source, 90)}\n→ {shorten(output, 90)}"
        plot_attention(attention.weights, attention.source_tokens, attention.target_tokens, title=title,
                       path=os.path.join(directory, f"attention_{number:0{width}d}.png"))


def shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    # safetensors only, no remote code, a clear error for a missing, truncated or mismatched model
    model = load_model(args.model).to(args.device)
    tokenizer = load_tokenizer(args.tokenizer or args.model)
    check_tokenizer_matches_model(model, tokenizer)
    if args.plot_attention and model.config.attention == "none":
        raise SystemExit(f"--plot-attention: {args.model} was trained with attention='none'; it has no attention "
                         f"weights to plot (its decoder sees the source only through the encoder's final state).")
    sources, references = load_sources(args)

    generate_kwargs = {name: getattr(args, name) for name in (
        "max_new_tokens", "num_beams", "num_return_sequences", "do_sample", "top_k", "top_p", "temperature",
        "length_penalty", "no_repeat_ngram_size", "repetition_penalty") if getattr(args, name) is not None}
    outputs = translate(model, tokenizer, sources, batch_size=args.batch_size,
                        max_source_length=args.max_source_length, progress=not args.no_progress,
                        return_attentions=bool(args.plot_attention), **generate_kwargs)
    if args.plot_attention:
        outputs, attentions = outputs
        write_attention_plots(args.plot_attention, sources, outputs, attentions)
    lines = [" ||| ".join(output) if isinstance(output, list) else output for output in outputs]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
    else:
        sys.stdout.writelines(line + "\n" for line in lines)

    if references is not None:
        best = [output[0] if isinstance(output, list) else output for output in outputs]
        scores = {**text_scorer("translation")(best, list(references)), "sentences": len(best)}
        print(json.dumps(scores), file=sys.stderr)
        if args.metrics_file:
            with open(args.metrics_file, "w", encoding="utf-8") as handle:
                json.dump(scores, handle, indent=2)


if __name__ == "__main__":
    # A bad input or model ends the run with its message and exit status 1, not a traceback.
    sys.exit(run_cli(main))
