#!/usr/bin/env python
"""Translate a text file, stdin or a dataset split with a saved model; score it when references are given.

    python scripts/translate.py --model outputs/dates --input dates.txt --output iso.txt --num_beams 5
    echo "3. März 2021" | python scripts/translate.py --model outputs/dates
    python scripts/translate.py --model outputs/multi30k --input ../shared/data/multi30k/test2016.de \\
        --references ../shared/data/multi30k/test2016.en --num_beams 5

Sentences are batched by length for speed; outputs are written in input order, one per line.
"""

import argparse
import json
import sys

import torch
from transformers import AutoModelForSeq2SeqLM

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.data import load_text_pairs, read_text_lines
from hf_seq2seq_lstm.inference import translate
from hf_seq2seq_lstm.metrics import load_metric
from hf_seq2seq_lstm.tokenization import load_tokenizers
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


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    source_tokenizer, target_tokenizer = load_tokenizers(args.tokenizer or args.model)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model, use_safetensors=True).to(args.device)
    check_tokenizer_matches_model(model, source_tokenizer, target_tokenizer)
    sources, references = load_sources(args)

    generate_kwargs = {name: getattr(args, name) for name in (
        "max_new_tokens", "num_beams", "num_return_sequences", "do_sample", "top_k", "top_p", "temperature",
        "length_penalty", "no_repeat_ngram_size", "repetition_penalty") if getattr(args, name) is not None}
    outputs = translate(model, source_tokenizer, target_tokenizer, sources, batch_size=args.batch_size,
                        max_source_length=args.max_source_length, progress=not args.no_progress, **generate_kwargs)
    lines = [" ||| ".join(output) if isinstance(output, list) else output for output in outputs]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
    else:
        sys.stdout.writelines(line + "\n" for line in lines)

    if references is not None:
        best = [output[0] if isinstance(output, list) else output for output in outputs]
        scores = {
            "bleu": load_metric("sacrebleu").compute(predictions=best, references=[[r] for r in references])["score"],
            "chrf": load_metric("chrf").compute(predictions=best, references=[[r] for r in references])["score"],
            "exact_match": 100 * sum(p == r for p, r in zip(best, references)) / max(len(best), 1),
            "sentences": len(best),
        }
        print(json.dumps(scores), file=sys.stderr)
        if args.metrics_file:
            with open(args.metrics_file, "w", encoding="utf-8") as handle:
                json.dump(scores, handle, indent=2)


if __name__ == "__main__":
    main()
