#!/usr/bin/env python
"""Export a saved model to ONNX (an encoder and a one-step decoder) for decoding with onnxruntime.

    python scripts/export_onnx.py --model_name_or_path outputs/dates --output_dir outputs/dates-onnx
    python scripts/export_onnx.py --model_name_or_path outputs/dates --output_dir outputs/dates-onnx --int8

The output folder gets encoder.onnx, decoder.onnx, onnx_config.json (what the decoder needs to know), the model's
config.json and generation_config.json, and its tokenizer, each file written atomically. Decode with

    from hf_seq2seq_lstm.onnx_export import OnnxSeq2SeqLSTM
    ids = OnnxSeq2SeqLSTM.from_folder("outputs/dates-onnx").generate(input_ids, attention_mask, num_beams=5)

which gives the tokens of `model.generate()` for greedy and beam search. `--int8` quantizes the weights with
onnxruntime's dynamic quantization (outputs then differ slightly from the model's). Needs `pip install
'hf-seq2seq-lstm[onnx]'`. Exit status: 0; 1 for an error; 2 for a bad flag.

--model_name_or_path and --tokenizer_name (train.py's names) were --model and --tokenizer, spellings still accepted
until 0.2.
"""

import argparse
import os
import sys

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.cli import BOOLEAN_FLAG, add_model_flags, run_cli, stop_on_signals
from hf_seq2seq_lstm.files import atomic_write_text
from hf_seq2seq_lstm.onnx_export import export_onnx


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(parser)
    parser.add_argument("--output_dir", required=True, help="folder to write the ONNX files into (created)")
    parser.add_argument("--int8", **BOOLEAN_FLAG, help="quantize the weights to int8 (quantize_dynamic)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from hf_seq2seq_lstm.tokenization import load_tokenizer, save_tokenizer

    model = load_model(args.model_name_or_path)
    tokenizer_folder = args.tokenizer_name or args.model_name_or_path
    tokenizer = None
    if args.tokenizer_name or os.path.isfile(os.path.join(tokenizer_folder, "tokenizer_config.json")):
        tokenizer = load_tokenizer(tokenizer_folder)
    os.makedirs(args.output_dir, exist_ok=True)
    export_onnx(model, args.output_dir, int8=args.int8)
    atomic_write_text(os.path.join(args.output_dir, "config.json"), model.config.to_json_string())
    atomic_write_text(os.path.join(args.output_dir, "generation_config.json"),
                      model.generation_config.to_json_string())
    if tokenizer is not None:
        save_tokenizer(tokenizer, args.output_dir)
    else:
        print(f"warning: no tokenizer in {args.model_name_or_path}: only the ONNX files and config were written",
              file=sys.stderr)
    print(f"wrote {args.output_dir}", file=sys.stderr)


if __name__ == "__main__":
    stop_on_signals()
    reuse_freed_memory()
    sys.exit(run_cli(main))
