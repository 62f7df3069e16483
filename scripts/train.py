#!/usr/bin/env python
"""Train (or fine-tune) and evaluate a Seq2SeqLSTM model, like transformers'
examples/pytorch/translation/run_translation.py.

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

--output_dir is used only when it is new, empty or holds a run of this script (`hf_seq2seq_lstm.files`), never while
another run uses it, and only for a run of the same model configuration as the checkpoints (or model) there;
--overwrite_output_dir starts afresh in any folder. A README.md there that this package did not write is never
replaced: the run stops at its start instead.

SIGTERM or SIGINT (Ctrl-C) during training finishes the optimizer step, writes a complete checkpoint, prints how to
resume from it and exits with status 143 or 130 (`training.CheckpointOnSignalCallback`); before or after training
they end the run at once, with the same status.

A bad input, checkpoint or diverging loss ends the run with a one-line error and exit status 1
(HF_SEQ2SEQ_LSTM_TRACEBACK=1 shows the traceback).
"""

import contextlib
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
from hf_seq2seq_lstm import Seq2SeqLSTMConfig
from hf_seq2seq_lstm.allocator import reuse_freed_memory
from hf_seq2seq_lstm.checkpoints import load_model, resolve_resume_checkpoint
from hf_seq2seq_lstm.cli import check_flag, run_cli, stop_on_signals
from hf_seq2seq_lstm.data import load_text_pairs, text_pairs_from_dataset, text_task, tokenize_pairs
from hf_seq2seq_lstm.files import (
    RUN_MARKER,
    OutputFolderLock,
    check_output_folder,
    mark_run_folder,
    remove_checkpoints,
)
from hf_seq2seq_lstm.hub import README_NAME, is_our_model_card, write_model_card
from hf_seq2seq_lstm.models import check_tokenizer_matches_model, config_differences, new_model, parse_config_overrides
from hf_seq2seq_lstm.tasks import builtin_task_for
from hf_seq2seq_lstm.tokenization import (
    DEFAULT_MODEL_TYPE,
    DEFAULT_VOCAB_SIZE,
    load_tokenizer,
    target_vocab_size,
    train_tokenizers,
)
from hf_seq2seq_lstm.training import (
    CheckpointOnSignalCallback,
    Seq2SeqLSTMTrainer,
    TimeLimitCallback,
    build_compute_metrics,
)

logger = logging.getLogger("train")

# The fields of a new model's config that have flags of their own; --config_overrides reaches the others.
CONFIG_FLAGS = ("cell_type", "attention", "input_feeding", "bidirectional_encoder", "embedding_size", "hidden_size",
                "encoder_layers", "decoder_layers", "dropout", "teacher_forcing_ratio", "reverse_source",
                "tie_word_embeddings", "share_embeddings", "label_smoothing")


def config_default(name: str):
    """The default of the `Seq2SeqLSTMConfig` field `name`."""
    return Seq2SeqLSTMConfig.__dataclass_fields__[name].default


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(default=None, metadata={"help": (
        "A saved model to fine-tune; omit to train a new one.")})
    tokenizer_name: str | None = field(default=None, metadata={"help": (
        "A saved tokenizer; omit to use the model's or train one.")})
    config_overrides: str | None = field(default=None, metadata={"help": "Config fields of a new model: 'k=v,k=v'."})
    # The most used config fields as flags, defaulting to the config's own defaults (one source of truth, as
    # run_translation.py trains what its config says); --config_overrides reaches the others.
    cell_type: str = field(default=config_default("cell_type"), metadata={"help": "lstm or gru"})
    attention: str = field(default=config_default("attention"), metadata={"help": (
        "none, bahdanau, luong_dot, luong_general or luong_concat")})
    input_feeding: bool = field(default=config_default("input_feeding"), metadata={"help": (
        "Luong's input feeding (needs a luong_* attention).")})
    bidirectional_encoder: bool = field(default=config_default("bidirectional_encoder"))
    embedding_size: int = field(default=config_default("embedding_size"))
    hidden_size: int = field(default=config_default("hidden_size"))
    encoder_layers: int = field(default=config_default("encoder_layers"))
    decoder_layers: int = field(default=config_default("decoder_layers"))
    dropout: float = field(default=config_default("dropout"))
    teacher_forcing_ratio: float = field(default=config_default("teacher_forcing_ratio"))
    reverse_source: bool = field(default=config_default("reverse_source"))
    tie_word_embeddings: bool = field(default=config_default("tie_word_embeddings"))
    share_embeddings: bool = field(default=config_default("share_embeddings"))
    label_smoothing: float = field(default=config_default("label_smoothing"))
    # A new tokenizer, trained on the training split when neither --tokenizer_name nor --model_name_or_path gives one.
    tokenizer_type: str = field(default=DEFAULT_MODEL_TYPE, metadata={"help": "bpe or unigram"})
    vocab_size: int = field(default=DEFAULT_VOCAB_SIZE)
    separate_vocabularies: bool = field(default=False)
    lowercase: bool = field(default=False)
    split_digits: bool = field(default=False, metadata={"help": "Every digit its own token."})

    def __post_init__(self):
        check_flag("vocab_size", self.vocab_size, 1, why="tokens")
        if self.model_name_or_path is None:
            # The config checks its fields (validate_architecture): built here, a bad --hidden_size or
            # --config_overrides fails before the data is loaded and a tokenizer trained, not after.
            Seq2SeqLSTMConfig(**self.config_kwargs())

    def config_kwargs(self) -> dict:
        """The config fields of a new model (the vocabulary sizes and special tokens come from the tokenizer)."""
        return {**{name: getattr(self, name) for name in CONFIG_FLAGS}, **parse_config_overrides(self.config_overrides)}


@dataclass
class DataTrainingArguments:
    task: str | None = field(default=None, metadata={"help": (
        "translation or summarization (default: from the columns)")})
    dataset_name: str | None = field(default=None)
    dataset_config_name: str | None = field(default=None)
    train_file: str | None = field(default=None, metadata={"help": (
        "json/jsonl/csv, or PREFIX of PREFIX.<lang> text files")})
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
    early_stopping_patience: int | None = field(default=None, metadata={"help": (
        "Evaluations without improvement before stopping.")})
    default_task_seed: int = field(default=0, metadata={"help": "Seed of the built-in task's data."})
    max_tokens_per_batch: int | None = field(default=None, metadata={"help": (
        "Training batches of at most this many padded tokens per device (batch size x longest source or target), "
        "length-grouped, in place of --per_device_train_batch_size sentences and --train_sampling_strategy.")})
    max_train_minutes: float | None = field(default=None, metadata={"help": "Stop training after this many minutes."})
    decay_lr_to_time_limit: bool = field(default=False, metadata={"help": (
        "With --max_train_minutes: after the warmup, decay the learning rate linearly to zero at the time limit (by "
        "wall time) or at the last step of --num_train_epochs / --max_steps, whichever comes first (replaces the "
        "decay of --lr_scheduler_type).")})

    def __post_init__(self):
        for flag in ("max_source_length", "max_target_length", "max_tokens_per_batch"):
            check_flag(flag, getattr(self, flag), 1, why="tokens")
        for flag in ("num_beams", "max_train_samples", "max_eval_samples", "max_predict_samples",
                     "early_stopping_patience"):
            check_flag(flag, getattr(self, flag), 1)
        minutes = self.max_train_minutes
        check_flag("max_train_minutes", minutes, 0, exclusive=True, why="minutes")
        if self.decay_lr_to_time_limit and minutes is None:
            raise ValueError("--decay_lr_to_time_limit needs --max_train_minutes: the time limit is where it decays "
                             "to.")


@dataclass
class OutputArguments:
    overwrite_output_dir: bool = field(default=False, metadata={"help": (
        "Start afresh in --output_dir whatever it holds: resume nothing, and delete the checkpoint-N folders there "
        "first (a later resume would take them for this run's). Other files are kept, except those the run writes "
        "(config.json, model.safetensors, the tokenizer, the results files). A README.md that this package did not "
        "write is never replaced. Without this flag, --output_dir must be new, empty or hold a run of this script "
        "of the same model configuration, which is resumed.")})


def check_training_arguments(args: Seq2SeqTrainingArguments) -> None:
    """What Seq2SeqTrainingArguments accepts but fails later, deep in training or evaluation, or silently ignores."""
    for flag in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
        check_flag(flag, getattr(args, flag), 1)
    check_flag("learning_rate", args.learning_rate, 0)
    if args.do_train and args.max_steps < 0:  # epoch-based
        check_flag("num_train_epochs", args.num_train_epochs, 0, exclusive=True, why="or set --max_steps")
    if args.save_strategy == "steps":  # Trainer never saves with save_steps <= 0 (below 1: a fraction of the steps)
        check_flag("save_steps", args.save_steps, 0, exclusive=True, why="with --save_strategy steps")
    for flag in ("generation_num_beams", "generation_max_length"):
        check_flag(flag, getattr(args, flag), 1)


def load_data(data_args: DataTrainingArguments):
    """The text pairs, from the given data or, with none, from the built-in task."""
    max_samples = {split: n for split, n in (("train", data_args.max_train_samples),
                                             ("validation", data_args.max_eval_samples),
                                             ("test", data_args.max_predict_samples)) if n is not None}
    task = builtin_task_for(dataset_name=data_args.dataset_name, train_file=data_args.train_file,
                            validation_file=data_args.validation_file, test_file=data_args.test_file)
    if task is None:
        return load_text_pairs(
            dataset_name=data_args.dataset_name, dataset_config_name=data_args.dataset_config_name,
            train_file=data_args.train_file, validation_file=data_args.validation_file, test_file=data_args.test_file,
            source_lang=data_args.source_lang, target_lang=data_args.target_lang,
            text_column=data_args.text_column, summary_column=data_args.summary_column, max_samples=max_samples,
        )
    logger.info("No data given: training on the built-in %r task (%s)", task.name, task.description)
    data_args.source_lang, data_args.target_lang = task.source_lang, task.target_lang
    return text_pairs_from_dataset(task.build(seed=data_args.default_task_seed), source_lang=task.source_lang,
                                   target_lang=task.target_lang, max_samples=max_samples)


def names_a_checkpoint(training_args) -> bool:
    """Whether --resume_from_checkpoint is a path (not absent, "true" or "latest": the latest one in --output_dir)."""
    return str(training_args.resume_from_checkpoint).lower() not in ("none", "true", "latest")


def resume_instructions(checkpoint: str, training_args, output_args) -> str:
    """How to resume from `checkpoint`: rerunning the same command does, unless it names another checkpoint or
    starts afresh."""
    explicit = f"--resume_from_checkpoint {checkpoint}"
    if output_args.overwrite_output_dir:
        return f"run the command again without --overwrite_output_dir, or with {explicit} instead"
    if names_a_checkpoint(training_args):
        return f"run the command again with {explicit}"
    return f"run the same command again, or one with {explicit}"


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, Seq2SeqTrainingArguments, OutputArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args, output_args = parser.parse_json_file(os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args, output_args = parser.parse_args_into_dataclasses(argv)
    check_training_arguments(training_args)
    if output_args.overwrite_output_dir and training_args.resume_from_checkpoint is not None:
        raise ValueError("--overwrite_output_dir starts afresh and --resume_from_checkpoint resumes: pass only one.")

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO,
                        handlers=[logging.StreamHandler(sys.stdout)])
    log_level = training_args.get_process_log_level()
    for name in ("train", "hf_seq2seq_lstm"):
        logging.getLogger(name).setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)

    output_dir = training_args.output_dir
    # Every process checks (they all see the same folder), so that a refused folder stops them all at once.
    check_output_folder(output_dir, overwrite=output_args.overwrite_output_dir)
    writes_card = training_args.do_train and training_args.should_save
    readme = os.path.join(output_dir, README_NAME)
    if writes_card and os.path.lexists(readme) and not is_our_model_card(readme):
        # Checked now rather than when the card is written, after the whole training run.
        raise FileExistsError(f"{readme} was not written by hf-seq2seq-lstm, and training ends by writing the model "
                              f"card there: move it elsewhere or use another --output_dir.")
    # Only the processes that write (the main one, or one per node with --save_on_each_node) lock the folder.
    with OutputFolderLock(output_dir) if training_args.should_save else contextlib.nullcontext():
        return run(model_args, data_args, training_args, output_args)


def run(model_args, data_args, training_args, output_args):
    """The run, once the output folder is ours to write: see the module docstring."""
    set_seed(training_args.seed)
    last_checkpoint = prepare_output_folder(training_args, output_args)
    task = text_task(data_args.task, data_args.text_column)
    raw = load_data(data_args)
    model, tokenizer = load_or_build_model(model_args, raw)
    logger.info("Model: %s parameters, config %s", f"{model.num_parameters():,}", model.config.to_diff_dict())
    check_model_matches_folder(model, last_checkpoint, training_args, output_args)
    tokenized = tokenize_pairs(raw, tokenizer, data_args.max_source_length, data_args.max_target_length)
    complete_training_arguments(training_args, data_args, task)
    trainer, stop_on_signal = build_trainer(model, tokenizer, tokenized, task, training_args, data_args)

    all_metrics = {}
    if training_args.do_train:
        with stop_on_signal.handling_signals():
            result = trainer.train(resume_from_checkpoint=last_checkpoint)
        if stop_on_signal.stopped_at is not None:
            if trainer.is_world_process_zero():
                print(f"Stopped by {stop_on_signal.signal_name} after step {stop_on_signal.stopped_at}, with a "
                      f"complete checkpoint in {stop_on_signal.checkpoint}. To resume, "
                      f"{resume_instructions(stop_on_signal.checkpoint, training_args, output_args)}.",
                      file=sys.stderr, flush=True)
            raise SystemExit(stop_on_signal.exit_status)
    if training_args.should_save:
        mark_run_folder(training_args.output_dir)  # before the run's own files: see hf_seq2seq_lstm.files
    if training_args.do_train:
        all_metrics.update(save_training(trainer, result, last_checkpoint, len(tokenized["train"])))
    all_metrics.update(evaluate_splits(trainer, tokenized, training_args))
    if training_args.do_train and trainer.is_world_process_zero():
        # README.md of the saved model: written last, so that it carries this run's scores from all_results.json.
        write_model_card(training_args.output_dir, model_args=model_args, data_args=data_args,
                         training_args=training_args)
    return all_metrics


def prepare_output_folder(training_args, output_args) -> str | None:
    """The checkpoint to resume from (None: start afresh); with --overwrite_output_dir, an earlier run's
    checkpoints are deleted first."""
    if output_args.overwrite_output_dir:
        if training_args.should_save:
            for checkpoint in remove_checkpoints(training_args.output_dir):
                logger.warning("--overwrite_output_dir: deleted %s of an earlier run.", checkpoint)
        return None
    if not training_args.do_train:
        return None
    # The latest *complete* checkpoint: one half-written by a killed run is skipped with a warning saying why.
    return resolve_resume_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir,
                                     require_optimizer=not training_args.save_only_model)


def load_or_build_model(model_args, raw):
    """`(model, tokenizer)`: the saved ones given, else a tokenizer trained on the training split and a new model
    of the flags' configuration; checked to agree with each other."""
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
        model = new_model(tokenizer, **model_args.config_kwargs())
    check_tokenizer_matches_model(model, tokenizer)
    return model, tokenizer


def complete_training_arguments(training_args, data_args, task: str) -> None:
    """What this script always does with Seq2SeqTrainingArguments: generate when evaluating, with the data's
    length and beams, pin memory only for a GPU, and keep the best model by BLEU or ROUGE-L rather than loss."""
    training_args.predict_with_generate = True
    training_args.dataloader_pin_memory = training_args.dataloader_pin_memory and torch.cuda.is_available()
    training_args.generation_max_length = training_args.generation_max_length or data_args.max_target_length
    training_args.generation_num_beams = data_args.num_beams or training_args.generation_num_beams
    if training_args.load_best_model_at_end and training_args.metric_for_best_model in (None, "loss"):
        training_args.metric_for_best_model = "bleu" if task == "translation" else "rougeL"
        training_args.greater_is_better = True


def build_trainer(model, tokenizer, tokenized, task: str, training_args, data_args):
    """`(trainer, stop_on_signal)`: the Trainer with this script's callbacks; the signal callback is returned too,
    as the run asks it whether (and how) training was stopped."""
    callbacks = []
    if data_args.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(data_args.early_stopping_patience))
    time_limit = TimeLimitCallback(data_args.max_train_minutes) if data_args.max_train_minutes else None
    if time_limit is not None:
        callbacks.append(time_limit)
    stop_on_signal = CheckpointOnSignalCallback()
    callbacks.append(stop_on_signal)  # last: at the step it stops, it overrides the others' requests
    evaluates = training_args.do_eval or training_args.eval_strategy != "no"
    trainer = Seq2SeqLSTMTrainer(
        model=model,
        args=training_args,
        train_dataset=tokenized.get("train") if training_args.do_train else None,
        eval_dataset=tokenized.get("validation") if evaluates else None,
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100,
                                             pad_to_multiple_of=None),
        compute_metrics=build_compute_metrics(tokenizer, task),
        callbacks=callbacks,
        lr_deadline=time_limit if data_args.decay_lr_to_time_limit else None,
        max_tokens_per_batch=data_args.max_tokens_per_batch,
    )
    return trainer, stop_on_signal


def save_training(trainer, result, last_checkpoint: str | None, train_samples: int) -> dict:
    """Saves the trained model (with its tokenizer and remote code) and the training results; returns them."""
    trainer.save_model()  # with the tokenizer (processing_class) and the code its tokenizer_config.json names
    if trainer.resumed_a_finished_run:
        # A rerun of a finished run: its training results stay those of the run that trained.
        logger.warning("%s had already reached step %d: nothing left to train; the earlier run's training "
                       "results are kept.", last_checkpoint, trainer.state.global_step)
        return {}
    metrics = {**result.metrics, "train_samples": train_samples}
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    return metrics


def evaluate_splits(trainer, tokenized, training_args) -> dict:
    """The metrics of --do_eval (validation split) and --do_predict (test split), saved as transformers' examples
    do (eval_results.json, predict_results.json, all_results.json)."""
    all_metrics = {}
    for split, prefix, wanted in (("validation", "eval", training_args.do_eval),
                                  ("test", "predict", training_args.do_predict)):
        if not wanted:
            continue
        if split not in tokenized:
            logger.warning("--do_%s given but there is no %s split; skipped",
                           "eval" if prefix == "eval" else "predict", split)
            continue
        metrics = trainer.evaluate(tokenized[split], metric_key_prefix=prefix) if prefix == "eval" else \
            trainer.predict(tokenized[split], metric_key_prefix=prefix).metrics
        metrics[f"{prefix}_samples"] = len(tokenized[split])
        trainer.log_metrics(prefix, metrics)
        trainer.save_metrics(prefix, metrics)
        all_metrics.update(metrics)
    return all_metrics


def check_model_matches_folder(model, last_checkpoint, training_args, output_args) -> None:
    """
    A run must build the model of the checkpoint it resumes, or, starting afresh in a folder of an earlier run, the
    model of that run: another --hidden_size would end in a load_state_dict traceback, and another --dropout (or
    anything else) would mix two runs in one folder. Raises a one-line error naming the fields that differ.
    """
    output_dir = training_args.output_dir
    if last_checkpoint is not None:
        source = last_checkpoint
    elif not output_args.overwrite_output_dir and os.path.isfile(os.path.join(output_dir, RUN_MARKER)) \
            and os.path.isfile(os.path.join(output_dir, "config.json")):
        source = output_dir
    else:
        return
    differences = config_differences(model.config, source)
    if not differences:
        return
    if names_a_checkpoint(training_args):
        raise ValueError(f"--resume_from_checkpoint {source} holds another model than this run builds: "
                         f"{'; '.join(differences)}. Pass the model arguments of the run that saved it.")
    what = "a checkpoint" if source == last_checkpoint else "the model"
    raise ValueError(f"--output_dir {output_dir} holds an earlier run whose model differs from this one "
                     f"({what} {source}): {'; '.join(differences)}. Rerun with that run's model arguments to resume "
                     f"it, use another --output_dir, or pass --overwrite_output_dir to start afresh there.")


if __name__ == "__main__":
    # Outside training, SIGTERM and SIGINT end the run at once with status 143 or 130 and no traceback; during
    # training, CheckpointOnSignalCallback takes them over to write a checkpoint first.
    stop_on_signals()
    reuse_freed_memory()
    # A bad input, checkpoint or diverging loss ends the run with its message and exit status 1, not a traceback.
    sys.exit(run_cli(main))
