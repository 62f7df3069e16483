# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""The Multi30k recipe and its ablation: one variable at a time from a baseline, every variant under the same time
limit, chosen by val BLEU (issue 16). `scripts/multi30k.py` runs the ablation; `scripts/recipes/multi30k.sh` runs
the recipe, the baseline with what won.

A training variant is the baseline's `scripts/train.py` flags with some replaced ([`TRAINING_VARIANTS`]); the others
reuse a training variant's run: the average of its last checkpoints ([`AVERAGED_VARIANTS`]), and decoding settings
of the baseline's model ([`DECODING_VARIANTS`]). Each run writes `<output_dir>/<variant>/ablation_result.json`
last, so a rerun (after a kill, or with more variants) skips the variants already done; `results_table` gives the
README table from those files.
"""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from ..checkpoints import average_checkpoints, last_checkpoints, load_model
from ..data import read_text_lines
from ..files import atomic_write_json
from ..inference import translate
from ..metrics import text_scorer
from ..tokenization import load_tokenizer
from . import REPO_ROOT

logger = logging.getLogger(__name__)

__all__ = ["ABLATION", "AVERAGED", "AVERAGED_CHECKPOINTS", "AVERAGED_VARIANTS", "BASELINE", "BASELINE_FLAGS",
           "DECODING_VARIANTS", "MAX_NEW_TOKENS", "RECIPE", "RECIPE_AVERAGED", "RECIPE_DECODING", "RECIPE_FLAGS",
           "RECIPE_VARIANTS", "RESULT_FILE", "TOKEN_BATCHES", "TRAINING_VARIANTS", "TRAIN_SCRIPT", "VARIANTS",
           "averaged_variant", "results_table", "run_variant", "score_model", "train_arguments", "training_flags",
           "variant_folder"]

# The repository's training script: the ablation runs each variant as a user runs the recipe, in its own process.
TRAIN_SCRIPT = REPO_ROOT / "scripts" / "train.py"

# scripts/train.py flags of the baseline, the recipe the ablation started from (that of 2026-11-25): each training
# variant changes one thing in it (the data, languages, output folder and time limit come from the run).
BASELINE_FLAGS = {
    "vocab_size": "8000", "separate_vocabularies": "true",
    "embedding_size": "256", "hidden_size": "512", "bidirectional_encoder": "true", "attention": "luong_general",
    "input_feeding": "true", "dropout": "0.3", "label_smoothing": "0.1",
    "num_train_epochs": "20", "per_device_train_batch_size": "64", "per_device_eval_batch_size": "128",
    "learning_rate": "2e-3", "optim": "adamw_torch_fused", "weight_decay": "0.0",
    "lr_scheduler_type": "linear", "warmup_steps": "500", "max_grad_norm": "5.0",
    # every epoch: a checkpoint and a greedy val BLEU. Trainer keeps the best checkpoint besides the latest ones, so
    # one more than AVERAGED_CHECKPOINTS keeps the last AVERAGED_CHECKPOINTS whichever epoch was best.
    "eval_strategy": "epoch", "save_strategy": "epoch", "save_total_limit": "4", "load_best_model_at_end": "true",
    "train_sampling_strategy": "group_by_length", "max_source_length": "64", "max_target_length": "64",
    "logging_steps": "100", "seed": "1", "disable_tqdm": "true",
}
AVERAGED_CHECKPOINTS = 3
BASELINE = "baseline"
RECIPE = "recipe"
# ~3x the baseline's 64 sentences per step: the learning rate scaled by sqrt(3) (Adam), warmup kept at ~1.1 epochs.
TOKEN_BATCHES = "batches of 3,000 tokens, lr 3.4e-3, warmup 170"

# Variant name -> the baseline flags it replaces (a value of None drops the flag).
TRAINING_VARIANTS = {
    BASELINE: {},
    "no input feeding": {"input_feeding": "false"},
    "joint vocabulary 8k, shared embeddings": {"separate_vocabularies": "false", "share_embeddings": "true"},
    "separate vocabularies 4k": {"vocab_size": "4000"},
    "separate vocabularies 16k": {"vocab_size": "16000"},
    "dropout 0.2": {"dropout": "0.2"},
    "dropout 0.4": {"dropout": "0.4"},
    "label smoothing 0": {"label_smoothing": "0.0"},
    "label smoothing 0.2": {"label_smoothing": "0.2"},
    "embeddings 512": {"embedding_size": "512"},
    "hidden 256": {"hidden_size": "256"},
    "2 encoder layers": {"encoder_layers": "2"},
    "lr decays to the time limit": {"decay_lr_to_time_limit": "true"},
    "inverse square root schedule": {"lr_scheduler_type": "inverse_sqrt"},
    "cosine schedule": {"lr_scheduler_type": "cosine"},
    "batches of 1,500 tokens": {"max_tokens_per_batch": "1500", "train_sampling_strategy": None},
    "batches of 3,000 tokens": {"max_tokens_per_batch": "3000", "train_sampling_strategy": None},
    TOKEN_BATCHES: {"max_tokens_per_batch": "3000", "train_sampling_strategy": None, "learning_rate": "3.4e-3",
                    "warmup_steps": "170"},
    "compiled training": {"torch_compile": "true"},  # more steps in the time limit, if faster here
}
# The recipe: the baseline with what won on val (README's tables): the ablation's token batches, then dropout 0.5
# (the best of 0.3/0.4/0.5), label smoothing 0.2 (over 0.1) and separate vocabularies of 4k (over 8k), each as a
# variant of the recipe at its own time limit by val BLEU averaged over both directions (the recipe is one
# configuration for both); then no input feeding: 0.46 lower on val at 60 minutes, but 1.2 higher at 30, and the
# only recipe measured that loses at most 1.0 BLEU with half the time limit (issue 16's target). Without it the
# decoder runs as one fused nn.LSTM call (~1.4x the target tokens/s in training, README's Performance): 20 epochs
# fit in ~40 of the 60 minutes, and half the limit gets 14-15 of them rather than 9-10.
TRAINING_VARIANTS[RECIPE] = {**TRAINING_VARIANTS[TOKEN_BATCHES], "dropout": "0.5", "label_smoothing": "0.2",
                             "vocab_size": "4000", "input_feeding": "false"}


def training_flags(variant: str) -> dict[str, str]:
    """The scripts/train.py flags (name -> value) a training variant sets besides data, languages and limits."""
    return {flag: value for flag, value in {**BASELINE_FLAGS, **TRAINING_VARIANTS[variant]}.items()
            if value is not None}


RECIPE_FLAGS = training_flags(RECIPE)
# Variants of the recipe itself, compared with it at its own time limit: what regularization and size are worth
# shows in the recipe's epochs 10-20, where val loss flattens or turns, which a 20-minute run from the baseline
# (7-11 epochs) never reaches.
# Each name spells out every flag in which it differs from the current recipe, so that the README's commands for
# the earlier recipes keep running what they ran.
# what every recipe had before input feeding was dropped, and before 4k vocabularies won
_INPUT_FEEDING = {"input_feeding": "true"}
_VOCABULARIES_8K = {**_INPUT_FEEDING, "vocab_size": "8000"}
RECIPE_VARIANTS = {
    f"{RECIPE}, input feeding": _INPUT_FEEDING,  # the recipe before input feeding was dropped
    # the recipe before 4k vocabularies won, the one before label smoothing 0.2 won, the one before dropout 0.4 won
    # and the one before dropout 0.5 won
    f"{RECIPE}, input feeding, separate vocabularies 8k": _VOCABULARIES_8K,
    f"{RECIPE}, input feeding, separate vocabularies 8k, label smoothing 0.1": {
        **_VOCABULARIES_8K, "label_smoothing": "0.1"},
    f"{RECIPE}, input feeding, separate vocabularies 8k, label smoothing 0.1, dropout 0.3": {
        **_VOCABULARIES_8K, "label_smoothing": "0.1", "dropout": "0.3"},
    f"{RECIPE}, input feeding, separate vocabularies 8k, label smoothing 0.1, dropout 0.4": {
        **_VOCABULARIES_8K, "label_smoothing": "0.1", "dropout": "0.4"},
    # compared with the recipe of dropout 0.4, which it lost to
    f"{RECIPE}, input feeding, separate vocabularies 8k, label smoothing 0.1, dropout 0.4, embeddings 512": {
        **_VOCABULARIES_8K, "label_smoothing": "0.1", "dropout": "0.4", "embedding_size": "512"},
    # the schedule planned over 20 epochs is cut by a time limit on a slower machine (half of them with half the
    # limit); decaying by wall time ends every run at a learning rate of zero, whatever epochs the machine reaches
    f"{RECIPE}, input feeding, lr decays to the time limit": {
        **_INPUT_FEEDING, **TRAINING_VARIANTS["lr decays to the time limit"]},
}
TRAINING_VARIANTS.update({name: {**TRAINING_VARIANTS[RECIPE], **changes} for name, changes in RECIPE_VARIANTS.items()})

AVERAGED = f"average of the last {AVERAGED_CHECKPOINTS} checkpoints"


def averaged_variant(variant: str) -> str:
    """The name of the variant averaging the last checkpoints of the recipe or of one of its variants."""
    return f"{variant}, {AVERAGED}"


RECIPE_AVERAGED = averaged_variant(RECIPE)
# Variant name -> the training variant whose last checkpoints it averages: the baseline's, the recipe's, and each
# variant of the recipe's (whether averaging helps depends on how the run ended).
AVERAGED_VARIANTS = {AVERAGED: BASELINE,
                     **{averaged_variant(variant): variant for variant in (RECIPE, *RECIPE_VARIANTS)}}
# How every variant decodes, and the decoding variants of the baseline's model (generate() settings).
RECIPE_DECODING = {"num_beams": 5}
DECODING_VARIANTS = {
    "greedy": {"num_beams": 1},
    "beam 10": {"num_beams": 10},
    "beam 5, length penalty 0.6": {"num_beams": 5, "length_penalty": 0.6},
    "beam 5, length penalty 1.4": {"num_beams": 5, "length_penalty": 1.4},
}
# The ablation (what scripts/multi30k.py runs by default), then the recipe's own runs (scripts/recipes/multi30k.sh).
ABLATION = (*(variant for variant in TRAINING_VARIANTS if variant != RECIPE and variant not in RECIPE_VARIANTS),
            AVERAGED, *DECODING_VARIANTS)
VARIANTS = (*ABLATION,
            *(name for variant in (RECIPE, *RECIPE_VARIANTS) for name in (variant, averaged_variant(variant))))
RESULT_FILE = "ablation_result.json"
MAX_NEW_TOKENS = 80


def train_arguments(variant: str, data_dir: str | os.PathLike, source_lang: str, target_lang: str,
                    output_dir: str | os.PathLike, minutes: float) -> list[str]:
    """The scripts/train.py arguments of a training variant."""
    data = Path(data_dir)
    arguments = ["--output_dir", str(output_dir), "--do_train", "--do_eval", "--train_file", str(data / "train"),
                 "--validation_file", str(data / "val"), "--source_lang", source_lang, "--target_lang", target_lang,
                 "--max_train_minutes", str(minutes)]
    for flag, value in training_flags(variant).items():
        arguments += [f"--{flag}", value]
    return arguments


def variant_folder(output_dir: str | os.PathLike, variant: str) -> Path:
    return Path(output_dir) / variant.replace(" ", "_").replace(",", "")


def score_model(model_dir: str | os.PathLike, data_dir: str | os.PathLike, splits: tuple[str, ...], source_lang: str,
                target_lang: str, **generate_kwargs) -> dict[str, dict]:
    """Split -> sacreBLEU and chrF of the model in `model_dir` on that split (e.g. "val"), decoded with
    `generate_kwargs`; the model and the metrics are loaded once for all splits."""
    model = load_model(model_dir).eval()
    tokenizer = load_tokenizer(model_dir)
    score = text_scorer("translation")
    data = Path(data_dir)
    scores = {}
    for split in splits:
        sources = read_text_lines(data / f"{split}.{source_lang}")
        with torch.inference_mode():
            outputs = translate(model, tokenizer, sources, batch_size=64, progress=False,
                                max_new_tokens=MAX_NEW_TOKENS, **generate_kwargs)
        scores[split] = score(outputs, read_text_lines(data / f"{split}.{target_lang}"))
    return scores


def run_variant(variant: str, *, data_dir, source_lang: str, target_lang: str, output_dir, minutes: float,
                splits: tuple[str, ...] = ("val",)) -> dict:
    """
    Trains (or derives from a training variant's run) one variant and scores it on `splits`; returns its result, also
    written to `<variant folder>/ablation_result.json`. A variant with a result file is not trained again: only the
    splits it lacks are scored.
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; the variants are: {', '.join(VARIANTS)}.")
    folder = variant_folder(output_dir, variant)
    result_file = folder / RESULT_FILE
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else None
    if result is not None and result["minutes"] != minutes:
        raise ValueError(f"{folder} holds a run of {result['minutes']} minutes, not {minutes}: variants are compared "
                         f"under one time limit; use another --output_dir for this one.")
    # the training run this variant's weights come from, the folder holding them, and how they are decoded
    trained = AVERAGED_VARIANTS.get(variant, BASELINE if variant in DECODING_VARIANTS else variant)
    flags = training_flags(trained)
    # a variant's name is kept when the recipe changes under it (`recipe` itself): a result of other flags is an
    # earlier definition's, not this one's (results written before the flags were recorded are taken as they are)
    if result is not None and result.get("flags", flags) != flags:
        raise ValueError(f"{folder} holds a run of {variant!r} with other scripts/train.py flags than today's (an "
                         f"earlier definition of it): use another --output_dir for this one.")
    trained_folder = variant_folder(output_dir, trained)
    model_dir = trained_folder if variant in DECODING_VARIANTS else folder
    decoding = DECODING_VARIANTS.get(variant, RECIPE_DECODING)
    if variant != trained:
        run_variant(trained, data_dir=data_dir, source_lang=source_lang, target_lang=target_lang,
                    output_dir=output_dir, minutes=minutes, splits=())
    if result is None:
        if variant in TRAINING_VARIANTS:
            # --overwrite_output_dir: a run killed part-way starts afresh (resumed, it would train longer in all).
            arguments = [*train_arguments(variant, data_dir, source_lang, target_lang, folder, minutes),
                         "--overwrite_output_dir"]
            logger.info("%s: python %s %s", variant, TRAIN_SCRIPT, " ".join(arguments))
            subprocess.run([sys.executable, str(TRAIN_SCRIPT), *arguments], check=True)
        elif variant in AVERAGED_VARIANTS:
            average_checkpoints(last_checkpoints(trained_folder, AVERAGED_CHECKPOINTS), folder)
        training = json.loads((trained_folder / "all_results.json").read_text(encoding="utf-8"))
        result = {"variant": variant, "minutes": minutes, "flags": flags, "epochs": training.get("epoch"),
                  "train_minutes": round(training.get("train_runtime", 0) / 60, 1), "decoding": decoding,
                  "date": time.strftime("%Y-%m-%d")}
    missing = tuple(split for split in splits if f"{split}_bleu" not in result)
    if missing:
        for split, scores in score_model(model_dir, data_dir, missing, source_lang, target_lang, **decoding).items():
            result[f"{split}_bleu"], result[f"{split}_chrf"] = scores["bleu"], scores["chrf"]
            logger.info("%s: %s BLEU %.2f", variant, split, scores["bleu"])
    os.makedirs(folder, exist_ok=True)
    atomic_write_json(result_file, result)
    return result


def results_table(output_dir: str | os.PathLike, splits: tuple[str, ...] = ("val",)) -> str:
    """A markdown table of every finished variant in `output_dir`, in the order of [`VARIANTS`]."""
    header = "| variant | " + " | ".join(f"{split} BLEU | {split} chrF" for split in splits) + " | epochs |"
    lines = [header, "|---" * header.count(" | ") + "|---|"]
    for variant in VARIANTS:
        result_file = variant_folder(output_dir, variant) / RESULT_FILE
        if not result_file.is_file():
            continue
        result = json.loads(result_file.read_text(encoding="utf-8"))
        cells = " | ".join(f"{result[f'{split}_bleu']:.2f} | {result[f'{split}_chrf']:.1f}" if f"{split}_bleu" in result
                           else "- | -" for split in splits)
        epochs = f"{result['epochs']:.1f}" if result.get("epochs") is not None else "-"
        lines.append(f"| {variant} | {cells} | {epochs} |")
    return "\n".join(lines)
