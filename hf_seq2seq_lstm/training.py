"""Trainer glue: building a model for a tokenizer, metrics for `predict_with_generate`, and a trainer that keeps the
saved generation config clean."""

import copy
import logging
import math

import numpy as np
from transformers import GenerationConfig, Seq2SeqTrainer

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .metrics import load_metric
from .modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("pad_token_id", "bos_token_id", "eos_token_id")


def parse_config_overrides(overrides: str | None) -> dict:
    """`"hidden_size=256,attention=luong_general,input_feeding=true"` -> typed dict, as in transformers' examples."""
    parsed = {}
    for item in filter(None, (part.strip() for part in (overrides or "").split(","))):
        if "=" not in item:
            raise ValueError(f"--config_overrides entry {item!r} is not key=value (e.g. hidden_size=256).")
        key, value = (s.strip() for s in item.split("=", 1))
        if key not in Seq2SeqLSTMConfig().to_dict():
            raise ValueError(f"--config_overrides: {key!r} is not a Seq2SeqLSTMConfig field.")
        lowered = value.lower()
        if lowered in ("true", "false"):
            parsed[key] = lowered == "true"
        elif lowered in ("none", "null"):
            parsed[key] = None
        else:
            try:
                parsed[key] = int(value)
            except ValueError:
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
    return parsed


def special_token_ids(tokenizer) -> dict:
    return {name: getattr(tokenizer, name) for name in SPECIAL_TOKENS}


def new_model(source_tokenizer, target_tokenizer, **config_kwargs) -> Seq2SeqLSTMForConditionalGeneration:
    """A fresh model sized to the tokenizers, with their special-token ids."""
    separate = target_tokenizer is not source_tokenizer
    config = Seq2SeqLSTMConfig(
        vocab_size=len(source_tokenizer),
        decoder_vocab_size=len(target_tokenizer) if separate else None,
        **special_token_ids(target_tokenizer),
        **config_kwargs,
    )
    model = Seq2SeqLSTMForConditionalGeneration(config)
    model.generation_config = clean_generation_config(model.config)
    return model


def clean_generation_config(config: Seq2SeqLSTMConfig) -> GenerationConfig:
    """Only the special tokens: everything else stays at generate()'s defaults unless the user sets it."""
    return GenerationConfig(
        pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
        decoder_start_token_id=config.decoder_start_token_id,
    )


def check_tokenizer_matches_model(model, source_tokenizer, target_tokenizer):
    """A tokenizer that disagrees with the model silently produces garbage; say what differs and what to do."""
    config = model.config
    for name, tokenizer, size in (("source", source_tokenizer, config.vocab_size),
                                  ("target", target_tokenizer, config.target_vocab_size)):
        if len(tokenizer) > size:
            raise ValueError(
                f"The {name} tokenizer has {len(tokenizer)} tokens but the model's {name} embedding has {size}: ids "
                f">= {size} would index past it. Use the tokenizer the model was trained with, or call "
                f"model.resize_token_embeddings({len(tokenizer)}) before fine-tuning."
            )
    for name in SPECIAL_TOKENS:
        model_id, tokenizer_id = getattr(config, name), getattr(target_tokenizer, name)
        if tokenizer_id is not None and model_id != tokenizer_id:
            raise ValueError(
                f"Special token mismatch: the tokenizer's {name} is {tokenizer_id} but the model's config says "
                f"{model_id}. Use the tokenizer saved with the model, or fix {name} in config.json."
            )


def build_compute_metrics(target_tokenizer, task: str):
    """`compute_metrics` for `predict_with_generate`: sacreBLEU and chrF (translation) or ROUGE (summarization),
    plus exact match and mean generated length, on detokenized text."""
    metrics = {"translation": ("sacrebleu", "chrf"), "summarization": ("rouge",)}[task]
    loaded = {name: load_metric(name) for name in metrics}
    pad_id = target_tokenizer.pad_token_id

    def compute_metrics(eval_prediction):
        predictions, labels = eval_prediction.predictions, eval_prediction.label_ids
        if isinstance(predictions, tuple):
            predictions = predictions[0]
        predictions = np.where(predictions < 0, pad_id, predictions)
        labels = np.where(labels < 0, pad_id, labels)
        decoded_predictions = [t.strip() for t in target_tokenizer.batch_decode(predictions, skip_special_tokens=True)]
        decoded_labels = [t.strip() for t in target_tokenizer.batch_decode(labels, skip_special_tokens=True)]
        results = {}
        if "sacrebleu" in loaded:
            results["bleu"] = loaded["sacrebleu"].compute(predictions=decoded_predictions,
                                                          references=[[label] for label in decoded_labels])["score"]
        if "chrf" in loaded:
            results["chrf"] = loaded["chrf"].compute(predictions=decoded_predictions,
                                                     references=[[label] for label in decoded_labels])["score"]
        if "rouge" in loaded:
            scores = loaded["rouge"].compute(predictions=decoded_predictions, references=decoded_labels)
            results.update({name: 100 * float(value) for name, value in scores.items()})
        results["exact_match"] = 100 * float(np.mean([p == r for p, r in zip(decoded_predictions, decoded_labels)]))
        results["gen_len"] = float(np.mean([np.count_nonzero(row != pad_id) for row in predictions]))
        return {name: round(value, 4) for name, value in results.items()}

    return compute_metrics


class Seq2SeqLSTMTrainer(Seq2SeqTrainer):
    """`Seq2SeqTrainer` that stops on a non-finite loss before it reaches the weights, and whose evaluation does not
    leave generate()'s defaults in the saved generation config."""

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Checked before the optimizer step, so the weights (and every checkpoint written later) stay finite.
        if not math.isfinite(loss.item()):
            raise FloatingPointError(
                f"Training loss became {loss.item()} at step {self.state.global_step + 1}; the optimizer step was not "
                f"taken and the last good checkpoint in {self.args.output_dir} is intact. Lower --learning_rate, set "
                f"--max_grad_norm, or check the data, then resume with --resume_from_checkpoint."
            )
        return loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
        # Seq2SeqTrainer.prediction_step writes every default (max_length=20, top_k=50, ...) into
        # model.generation_config, which every later checkpoint would then carry as if the user had chosen it.
        generation_config = copy.deepcopy(self.model.generation_config)
        try:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)
        finally:
            self.model.generation_config = generation_config
