#!/usr/bin/env python
"""Train (or fine-tune) and evaluate a Seq2SeqLSTM model, like transformers' examples/pytorch/translation/run_translation.py.

With no data arguments it trains on the built-in date-normalisation task, which needs no download:

    python scripts/train.py --output_dir outputs/dates

Multi30k de->en from plain parallel text files (train.de / train.en ...):

    python scripts/train.py --train_file ../shared/data/multi30k/train --validation_file ../shared/data/multi30k/val \\
        --source_lang de --target_lang en --output_dir outputs/multi30k \\
        --config_overrides "bidirectional_encoder=true,attention=luong_general,input_feeding=true"

Every `Seq2SeqTrainingArguments` flag works (--learning_rate, --num_train_epochs, --eval_strategy, --save_steps,
--load_best_model_at_end ...). `--resume_from_checkpoint PATH` continues a run; without it a run resumes from the
latest complete checkpoint in --output_dir when there is one (a checkpoint half-written by a killed run is skipped,
with a warning). Runs unchanged under `torchrun --nproc_per_node N` and `accelerate launch --multi_gpu`.

A bad input, checkpoint or diverging loss ends the run with a one-line error and exit status 1
(HF_SEQ2SEQ_LSTM_TRACEBACK=1 shows the traceback).
"""

import logging
import os
import sys
from dataclasses import dataclass, field

import torch
import transformers
from transformers import (
    DataCollatorForSeq2Seq,
    EarlyStoppingCallback,
    HfArgumentParser,
    Seq2SeqTrainingArguments,
    set_seed,
)

import hf_seq2seq_lstm  # noqa: F401  (registers the Auto classes)
from hf_seq2seq_lstm.checkpoints import load_model, resolve_resume_checkpoint
from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.data import load_text_pairs, text_pairs_from_dataset, tokenize_pairs
from hf_seq2seq_lstm.hub import write_model_card
from hf_seq2seq_lstm.tasks import DEFAULT_TASK_NAME, get_task
from hf_seq2seq_lstm.tokenization import load_tokenizer, target_vocab_size, train_tokenizers
from hf_seq2seq_lstm.training import (
    Seq2SeqLSTMTrainer,
    TimeLimitCallback,
    build_compute_metrics,
    check_tokenizer_matches_model,
    new_model,
    parse_config_overrides,
)

logger = logging.getLogger("train")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(default=None, metadata={"help": "A saved model to fine-tune; omit to train a new one."})
    tokenizer_name: str | None = field(default=None, metadata={"help": "A saved tokenizer; omit to use the model's or train one."})
    config_overrides: str | None = field(default=None, metadata={"help": "Config fields of a new model: 'k=v,k=v'."})
    # The most used config fields as flags; --config_overrides reaches the others.
    cell_type: str = field(default="lstm", metadata={"help": "lstm or gru"})
    attention: str = field(default="luong_general", metadata={"help": "none, bahdanau, luong_dot, luong_general or luong_concat"})
    input_feeding: bool = field(default=False)
    bidirectional_encoder: bool = field(default=True)
    embedding_size: int = field(default=256)
    hidden_size: int = field(default=512)
    encoder_layers: int = field(default=1)
    decoder_layers: int = field(default=1)
    dropout: float = field(default=0.2)
    teacher_forcing_ratio: float = field(default=1.0)
    reverse_source: bool = field(default=False)
    tie_word_embeddings: bool = field(default=False)
    share_embeddings: bool = field(default=False)
    label_smoothing: float = field(default=0.0)
    # A new tokenizer, trained on the training split when neither --tokenizer_name nor --model_name_or_path gives one.
    tokenizer_type: str = field(default="bpe", metadata={"help": "bpe or unigram"})
    vocab_size: int = field(default=8000)
    separate_vocabularies: bool = field(default=False)
    lowercase: bool = field(default=False)
    split_digits: bool = field(default=False, metadata={"help": "Every digit its own token."})


@dataclass
class DataTrainingArguments:
    task: str | None = field(default=None, metadata={"help": "translation or summarization (default: from the columns)"})
    dataset_name: str | None = field(default=None)
    dataset_config_name: str | None = field(default=None)
    train_file: str | None = field(default=None, metadata={"help": "json/jsonl/csv, or PREFIX of PREFIX.<lang> text files"})
    validation_file: str | None = field(default=None)
    test_file: str | None = field(default=None)
    source_lang: str | None = field(default=None)
    target_lang: str | None = field(default=None)
    text_column: str | None = field(default=None, metadata={"help": "Source column for summarization."})
    summary_column: str | None = field(default=None, metadata={"help": "Target column for summarization."})
    max_source_length: int = field(default=128)
    max_target_length: int = field(default=128)
    num_beams: int | None = field(default=None, metadata={"help": "Beams for evaluation/prediction (default: greedy)."})
    max_train_samples: int | None = field(default=None)
    max_eval_samples: int | None = field(default=None)
    max_predict_samples: int | None = field(default=None)
    early_stopping_patience: int | None = field(default=None, metadata={"help": "Evaluations without improvement before stopping."})
    default_task_seed: int = field(default=0, metadata={"help": "Seed of the built-in task's data."})
    max_train_minutes: float | None = field(default=None, metadata={"help": "Stop training after this many minutes."})
    decay_lr_to_time_limit: bool = field(default=False, metadata={"help": (
        "With --max_train_minutes: after the warmup, decay the learning rate linearly to zero at the time limit, by "
        "wall time, instead of over --num_train_epochs (replaces the decay of --lr_scheduler_type).")})


def load_data(data_args: DataTrainingArguments):
    """The text pairs, from the given data or, with none, from the built-in task."""
    max_samples = {split: n for split, n in (("train", data_args.max_train_samples),
                                             ("validation", data_args.max_eval_samples),
                                             ("test", data_args.max_predict_samples)) if n is not None}
    if data_args.dataset_name or data_args.train_file or data_args.validation_file or data_args.test_file:
        return load_text_pairs(
            dataset_name=data_args.dataset_name, dataset_config_name=data_args.dataset_config_name,
            train_file=data_args.train_file, validation_file=data_args.validation_file, test_file=data_args.test_file,
            source_lang=data_args.source_lang, target_lang=data_args.target_lang,
            text_column=data_args.text_column, summary_column=data_args.summary_column, max_samples=max_samples,
        )
    task = get_task(DEFAULT_TASK_NAME)
    logger.info("No data given: training on the built-in %r task (%s)", task.name, task.description)
    data_args.source_lang, data_args.target_lang = task.source_lang, task.target_lang
    return text_pairs_from_dataset(task.build(seed=data_args.default_task_seed), source_lang=task.source_lang,
                                   target_lang=task.target_lang, max_samples=max_samples)


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, Seq2SeqTrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(argv)

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO,
                        handlers=[logging.StreamHandler(sys.stdout)])
    log_level = training_args.get_process_log_level()
    for name in ("train", "hf_seq2seq_lstm"):
        logging.getLogger(name).setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    set_seed(training_args.seed)

    # The latest *complete* checkpoint: one half-written by a killed run is skipped with a warning saying why.
    last_checkpoint = resolve_resume_checkpoint(
        training_args.resume_from_checkpoint, training_args.output_dir,
        require_optimizer=not training_args.save_only_model) if training_args.do_train else None

    task = data_args.task or ("summarization" if data_args.text_column else "translation")
    raw = load_data(data_args)

    # Loaded first: a wrong or broken model folder gets its own clear error rather than the tokenizer loader's.
    model = load_model(model_args.model_name_or_path) if model_args.model_name_or_path else None
    tokenizer_path = model_args.tokenizer_name or model_args.model_name_or_path
    if tokenizer_path:
        tokenizer = load_tokenizer(tokenizer_path)
    else:
        if "train" not in raw:
            raise ValueError("No tokenizer given and no training split to train one on: pass --tokenizer_name.")
        tokenizer = train_tokenizers(
            raw["train"]["source"], raw["train"]["target"], joint=not model_args.separate_vocabularies,
            model_type=model_args.tokenizer_type, vocab_size=model_args.vocab_size, lowercase=model_args.lowercase,
            split_digits=model_args.split_digits,
        )
        logger.info("Trained %s tokenizer(s): %d source / %d target tokens", model_args.tokenizer_type,
                    len(tokenizer), target_vocab_size(tokenizer))

    if model is None:
        config_kwargs = {name: getattr(model_args, name) for name in (
            "cell_type", "attention", "input_feeding", "bidirectional_encoder", "embedding_size", "hidden_size",
            "encoder_layers", "decoder_layers", "dropout", "teacher_forcing_ratio", "reverse_source",
            "tie_word_embeddings", "share_embeddings", "label_smoothing")}
        config_kwargs.update(parse_config_overrides(model_args.config_overrides))
        model = new_model(tokenizer, **config_kwargs)
    check_tokenizer_matches_model(model, tokenizer)
    logger.info("Model: %s parameters, config %s", f"{model.num_parameters():,}", model.config.to_diff_dict())

    tokenized = tokenize_pairs(raw, tokenizer, data_args.max_source_length, data_args.max_target_length)

    training_args.predict_with_generate = True
    training_args.dataloader_pin_memory = training_args.dataloader_pin_memory and torch.cuda.is_available()
    training_args.generation_max_length = training_args.generation_max_length or data_args.max_target_length
    training_args.generation_num_beams = data_args.num_beams or training_args.generation_num_beams
    if training_args.load_best_model_at_end and training_args.metric_for_best_model in (None, "loss"):
        # Best model by BLEU (translation) or ROUGE-L (summarization), not by loss.
        training_args.metric_for_best_model = "bleu" if task == "translation" else "rougeL"
        training_args.greater_is_better = True

    callbacks = []
    if data_args.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(data_args.early_stopping_patience))
    if data_args.decay_lr_to_time_limit and not data_args.max_train_minutes:
        raise ValueError("--decay_lr_to_time_limit needs --max_train_minutes: the time limit is where it decays to.")
    time_limit = TimeLimitCallback(data_args.max_train_minutes) if data_args.max_train_minutes else None
    if time_limit is not None:
        callbacks.append(time_limit)
    trainer = Seq2SeqLSTMTrainer(
        model=model,
        args=training_args,
        train_dataset=tokenized.get("train") if training_args.do_train else None,
        eval_dataset=tokenized.get("validation") if training_args.do_eval or training_args.eval_strategy != "no" else None,
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100,
                                             pad_to_multiple_of=None),
        compute_metrics=build_compute_metrics(tokenizer, task),
        callbacks=callbacks,
        lr_deadline=time_limit if data_args.decay_lr_to_time_limit else None,
    )

    all_metrics = {}
    if training_args.do_train:
        result = trainer.train(resume_from_checkpoint=last_checkpoint)
        trainer.save_model()  # with the tokenizer (processing_class) and the code its tokenizer_config.json names
        metrics = {**result.metrics, "train_samples": len(tokenized["train"])}
        trainer.log_metrics("train", metrics)
        trainer.save_metrics("train", metrics)
        trainer.save_state()
        all_metrics.update(metrics)

    for split, prefix, wanted in (("validation", "eval", training_args.do_eval), ("test", "predict", training_args.do_predict)):
        if not wanted:
            continue
        if split not in tokenized:
            logger.warning("--do_%s given but there is no %s split; skipped", "eval" if prefix == "eval" else "predict", split)
            continue
        metrics = trainer.evaluate(tokenized[split], metric_key_prefix=prefix) if prefix == "eval" else \
            trainer.predict(tokenized[split], metric_key_prefix=prefix).metrics
        metrics[f"{prefix}_samples"] = len(tokenized[split])
        trainer.log_metrics(prefix, metrics)
        trainer.save_metrics(prefix, metrics)
        all_metrics.update(metrics)

    if training_args.do_train and trainer.is_world_process_zero():
        # README.md of the saved model: written last, so that it carries this run's scores from all_results.json.
        write_model_card(training_args.output_dir, model_args=model_args, data_args=data_args, training_args=training_args)

    return all_metrics


if __name__ == "__main__":
    # A bad input, checkpoint or diverging loss ends the run with its message and exit status 1, not a traceback.
    sys.exit(run_cli(main))
