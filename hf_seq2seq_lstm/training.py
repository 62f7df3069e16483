"""Trainer glue: metrics for `predict_with_generate`, batches by tokens, a trainer that stops on a non-finite loss,
keeps the saved generation config clean and writes its results files atomically, a wall-time limit the learning rate
can decay to, and a checkpoint and a clean stop on SIGTERM/SIGINT. Building a model for a tokenizer, and the checks
around it, are `models.py`'s."""

import contextlib
import copy
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import threading
import time
from functools import partial

import numpy as np
import torch
import torch.distributed as dist
from transformers import Seq2SeqTrainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, seed_worker

from .data import bucketed_batches, in_random_order
from .files import atomic_write_json
from .metrics import text_scorer

logger = logging.getLogger(__name__)

__all__ = [
    "CheckpointOnSignalCallback",
    "Seq2SeqLSTMTrainer",
    "TimeLimitCallback",
    "TokenBatchSampler",
    "build_compute_metrics",
]

def build_compute_metrics(tokenizer, task: str):
    """`compute_metrics` for `predict_with_generate`: sacreBLEU and chrF (translation) or ROUGE (summarization),
    plus exact match and mean generated length, on detokenized text."""
    score = text_scorer(task)
    pad_id = tokenizer.pad_token_id

    def compute_metrics(eval_prediction):
        predictions, labels = eval_prediction.predictions, eval_prediction.label_ids
        if isinstance(predictions, tuple):
            predictions = predictions[0]
        predictions = np.where(predictions < 0, pad_id, predictions)
        labels = np.where(labels < 0, pad_id, labels)
        decoded_predictions = [t.strip() for t in tokenizer.batch_decode(predictions, skip_special_tokens=True)]
        decoded_labels = [t.strip() for t in tokenizer.batch_decode(labels, skip_special_tokens=True)]
        results = score(decoded_predictions, decoded_labels)
        results["gen_len"] = float(np.mean([np.count_nonzero(row != pad_id) for row in predictions]))
        return {name: round(value, 4) for name, value in results.items()}

    return compute_metrics


class TokenBatchSampler(torch.utils.data.Sampler):
    """
    Training batches of at most `max_tokens` padded tokens (`data.bucketed_batches`: similar lengths together, more
    short sentences per batch than long ones), in a new random order each epoch: fairseq's --max-tokens batching.
    The batches are the same every epoch, so an epoch's length is fixed and a resumed run continues where it stopped.
    """

    def __init__(self, source_lengths: list[int], target_lengths: list[int], max_tokens: int, seed: int):
        self.batches = bucketed_batches(source_lengths, target_lengths, max_tokens=max_tokens)
        self.seed = seed
        self.epoch = 0
        # accelerate sets the epoch of `dataloader.batch_sampler.sampler`, and, under several processes, of
        # `.batch_sampler.batch_sampler.sampler` (its BatchSamplerShard wraps this): both reach set_epoch here.
        self.sampler = self

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        return iter(in_random_order(self.batches, torch.Generator().manual_seed(self.seed + self.epoch)))


class Seq2SeqLSTMTrainer(Seq2SeqTrainer):
    """`Seq2SeqTrainer` that stops on a non-finite loss before it reaches the weights, whose evaluation does not
    leave generate()'s defaults in the saved generation config, and whose `save_metrics` and `save_state` write
    atomically (`files.atomic_write`).

    With `lr_deadline` (the run's `TimeLimitCallback`, which must also be among its callbacks), the learning rate
    warms up over `warmup_steps` as usual, then decays linearly to zero at whichever end of training comes first:
    the time limit (by wall time) or the last step of `num_train_epochs` / `max_steps`. A run cut short by its time
    limit on a slow machine ends annealed, instead of stopping part-way down a schedule planned for the epochs, and
    one that reaches its epochs first on a fast machine ends annealed too. This replaces the decay of
    `lr_scheduler_type`.

    With `max_tokens_per_batch`, training batches hold at most that many padded tokens per device
    ([`TokenBatchSampler`]) instead of `per_device_train_batch_size` sentences.
    """

    def __init__(self, *args, lr_deadline: "TimeLimitCallback | None" = None, max_tokens_per_batch: int | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.max_tokens_per_batch = max_tokens_per_batch
        if lr_deadline is not None and lr_deadline not in self.callback_handler.callbacks:
            raise ValueError("lr_deadline must also be passed in callbacks: it is the clock that stops training.")
        self.lr_deadline = lr_deadline
        # set by train(resume_from_checkpoint=...) when that checkpoint had already reached max_steps
        self.resumed_a_finished_run = False

    def get_train_dataloader(self):
        if self.max_tokens_per_batch is None:
            return super().get_train_dataloader()
        dataset = self._remove_unused_columns(self.train_dataset, description="training")
        sampler = TokenBatchSampler([len(ids) for ids in dataset["input_ids"]], [len(ids) for ids in dataset["labels"]],
                                    self.max_tokens_per_batch, seed=self.args.data_seed or self.args.seed)
        args = self.args
        # Trainer._get_dataloader's settings, with a batch sampler in place of batch_size and sampler
        return self.accelerator.prepare(torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, collate_fn=self.data_collator, num_workers=args.dataloader_num_workers,
            pin_memory=args.dataloader_pin_memory, persistent_workers=args.dataloader_persistent_workers,
            multiprocessing_context=args.dataloader_multiprocessing_context,
            prefetch_factor=args.dataloader_prefetch_factor, in_order=args.dataloader_in_order,
            worker_init_fn=partial(seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index)))

    def _init_training_state(self, max_steps, num_update_steps_per_epoch, num_train_epochs, *args, **kwargs):
        epochs_trained, steps_trained_in_current_epoch = super()._init_training_state(
            max_steps, num_update_steps_per_epoch, num_train_epochs, *args, **kwargs)
        if self.state.global_step >= max_steps:
            # Resumed from a checkpoint that already reached max_steps (a rerun of a finished run): Trainer would
            # still run the rest of the partial last epoch, checking max_steps only after a step (DefaultFlowCallback
            # .on_step_end), so it would train one step more. No epoch left to run, as when max_steps ends an epoch.
            self.resumed_a_finished_run = True
            return num_train_epochs, 0
        return epochs_trained, steps_trained_in_current_epoch

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_deadline is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        warmup_steps = self.args.get_warmup_steps(num_training_steps)
        deadline = self.lr_deadline

        def factor(step: int) -> float:
            warmup = min(1.0, step / warmup_steps) if warmup_steps > 0 else 1.0  # as transformers' linear warmup
            # after the warmup, as transformers' linear decay to the last step
            steps_left = max(0.0, (num_training_steps - step) / max(1, num_training_steps - warmup_steps))
            # both shares fall linearly to zero at their ends: the smaller one is the end that comes first
            return warmup * min(deadline.fraction_left(), steps_left)

        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, factor)
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Checked before the optimizer step, so the weights (and every checkpoint written later) stay finite.
        value = loss.item()
        non_finite = not math.isfinite(value)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Every process must stop at the same step: a process that went on alone would apply the averaged
            # non-finite gradients and could save them before the launcher ends it.
            flag = torch.tensor([float(non_finite)], device=loss.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            non_finite = bool(flag.item())
        if non_finite:
            where = f"became {value}" if not math.isfinite(value) else "became non-finite on another process"
            raise FloatingPointError(
                f"Training loss {where} at step {self.state.global_step + 1}; the optimizer step was not "
                f"taken and the last good checkpoint in {self.args.output_dir} is intact. Lower --learning_rate, set "
                f"--max_grad_norm, or check the data, then resume with --resume_from_checkpoint."
            )
        return loss

    def save_model(self, output_dir=None, _internal_call=False):
        # The loss check above sees a divergence one step late: an optimizer step can overflow the weights while the
        # loss it came from was finite. Never write such weights over (or beside) the good checkpoints. Checked here,
        # before anything is written: a checkpoint save starts with save_model.
        broken = [name for name, parameter in self.model.named_parameters() if not torch.isfinite(parameter).all()]
        if broken:
            raise FloatingPointError(
                f"The weights became non-finite by step {self.state.global_step} ({len(broken)} tensor(s), e.g. "
                f"{broken[0]}): an optimizer step overflowed. Nothing was saved, so the last good checkpoint in "
                f"{self.args.output_dir} is intact. Lower --learning_rate or set --max_grad_norm, then resume with "
                f"--resume_from_checkpoint."
            )
        return super().save_model(output_dir, _internal_call)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
        # Seq2SeqTrainer.prediction_step writes every default (max_length=20, top_k=50, ...) into
        # model.generation_config, which every later checkpoint would then carry as if the user had chosen it.
        generation_config = copy.deepcopy(self.model.generation_config)
        try:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)
        finally:
            self.model.generation_config = generation_config

    # Trainer's save_metrics and save_state rewrite their files in place, so a kill or a full disk while writing would
    # leave a truncated all_results.json or trainer_state.json: the same files and content, written atomically.
    def save_metrics(self, split, metrics, combined=True):
        if not self.is_world_process_zero():
            return
        path = os.path.join(self.args.output_dir, f"{split}_results.json")
        atomic_write_json(path, metrics, indent=4, sort_keys=True)
        if combined:
            path = os.path.join(self.args.output_dir, "all_results.json")
            all_metrics = {}
            if os.path.exists(path):
                with open(path, encoding="utf-8") as handle:
                    all_metrics = json.load(handle)
            all_metrics.update(metrics)
            atomic_write_json(path, all_metrics, indent=4, sort_keys=True)

    def save_state(self):
        if self.is_world_process_zero():
            atomic_write_json(os.path.join(self.args.output_dir, "trainer_state.json"), dataclasses.asdict(self.state),
                              sort_keys=True)

    def _push_from_checkpoint(self, checkpoint_folder):
        # With push_to_hub=True, Trainer copies only the config, generation config and weights of each checkpoint into
        # output_dir before uploading it; the model and pipeline code that config.json's auto_map and
        # custom_pipelines name must go along, or the pushed commit cannot be loaded with trust_remote_code=True.
        if self.is_world_process_zero() and os.path.isdir(checkpoint_folder):
            for name in os.listdir(checkpoint_folder):
                if name.endswith(".py"):
                    shutil.copyfile(os.path.join(checkpoint_folder, name), os.path.join(self.args.output_dir, name))
        super()._push_from_checkpoint(checkpoint_folder)


class _StopAtStepEndCallback(TrainerCallback):
    """Base of the callbacks that stop training at a step's end, having had that step saved (and perhaps evaluated)
    there: `stopped_at` is the step. The end of the epoch that the stop brings about would evaluate and save the same
    step again, which only delays the stop and writes a second checkpoint of one step (counted twice by an average
    of the last checkpoints): here it does neither."""

    stopped_at: int | None = None

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.stopped_at == state.global_step:
            control.should_evaluate = False
            control.should_save = False


class TimeLimitCallback(_StopAtStepEndCallback):
    """Ends training once `minutes` of wall time have passed, with the final evaluation and checkpoint of a normal
    end, so a recipe can promise "trained in at most N minutes" on any machine. Each step is evaluated and saved at
    most once: when an epoch's own evaluation and checkpoint carry the run past the limit, training stops right
    after them, so that checkpoint stays the last (one more a step later would nearly repeat it, and count twice
    in an average of the last checkpoints)."""

    def __init__(self, minutes: float):
        self.seconds = 60 * minutes
        self.start = None
        self.stopped_at = None  # the step at which the limit stopped training

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def fraction_left(self) -> float:
        """The share of the time budget still unused: 1.0 until training begins, 0.0 from the limit on."""
        if self.start is None:
            return 1.0
        return max(0.0, 1.0 - (time.monotonic() - self.start) / self.seconds)

    def _stop_at_limit(self, state, control) -> bool:
        if self.stopped_at is not None or self.fraction_left() > 0.0:
            return False
        logger.warning("Time limit of %.1f minutes reached at step %d: stopping.", self.seconds / 60,
                       state.global_step)
        self.stopped_at = state.global_step
        control.should_training_stop = True
        return True

    def on_step_end(self, args, state, control, **kwargs):
        if self._stop_at_limit(state, control):
            control.should_evaluate = args.eval_strategy != "no"
            control.should_save = args.save_strategy != "no"

    def on_save(self, args, state, control, **kwargs):
        self._stop_at_limit(state, control)  # the checkpoint just written is the last


class CheckpointOnSignalCallback(_StopAtStepEndCallback):
    """
    Turns SIGTERM and SIGINT (Ctrl-C) during training into a clean stop: the optimizer step under way is finished,
    a complete checkpoint of it is written (Trainer's own, as for `save_steps`, so resuming from it continues exactly
    like an uninterrupted run), and training ends. Signals are handled only inside `with callback.handling_signals():`
    around `trainer.train()`; afterwards `stopped_at` is the step of the checkpoint (None when no signal came),
    `checkpoint` its folder and `exit_status` 128 + the signal's number (143 for SIGTERM, 130 for SIGINT).

    - The step's own evaluation, if one is due, is skipped: the run stops promptly, and with `save_strategy="best"`
      that evaluation would otherwise decide not to save. Nothing else of the step changes.
    - Further signals are ignored until training has returned: torchrun answers a Ctrl-C by sending SIGTERM to its
      workers too, and a batch scheduler may repeat its SIGTERM, neither of which may cut the checkpoint short.
      SIGKILL still ends the run at once; a checkpoint it cuts short is skipped on resume (`checkpoints.py`).
    - Under DDP every process stops at the same step, whichever received the signal (the flag is all-reduced at every
      step end), so that no process waits forever in a collective of a step the others do not take.
    - A signal that came when no step was left to act on it (training was finishing) goes to the handler that was
      there before, once training has returned, as if it had come just after training (scripts/train.py's, from
      `cli.stop_on_signals`, ends the run with the same exit status; Python's default raises KeyboardInterrupt for
      SIGINT and ends the process for SIGTERM).

    Must come after the callbacks that ask for an evaluation at a step end (e.g. `EarlyStoppingCallback`,
    `TimeLimitCallback`): it overrides them at the step it stops.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received = None  # the first signal's number; only set by the handler, which does nothing else
        self.signal_number = None  # the signal that stopped training (under DDP perhaps another process's)
        self.stopped_at = None
        self.checkpoint = None

    @property
    def signal_name(self) -> str | None:
        return signal.Signals(self.signal_number).name if self.signal_number else None

    @property
    def exit_status(self) -> int | None:
        return 128 + self.signal_number if self.signal_number else None

    def _receive(self, signum, frame):
        # No I/O here: the handler runs between two bytecodes of whatever the main thread does, which may be a write
        # to the same stream (a reentrant write raises RuntimeError).
        if self.received is None:
            self.received = signum

    @contextlib.contextmanager
    def handling_signals(self):
        """Installs the handlers for the block and restores the previous ones after it."""
        if threading.current_thread() is not threading.main_thread():
            yield  # Python delivers signals to the main thread only, and only it may set handlers
            return
        previous = {signum: signal.signal(signum, self._receive) for signum in self.SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                # None: a handler installed from C, which cannot be reinstalled from Python
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if self.received is not None and self.stopped_at is None:
            signal.raise_signal(self.received)

    def on_step_end(self, args, state, control, **kwargs):
        received = self.received or 0
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            flag = torch.tensor([float(received)], device=args.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            received = int(flag.item())
        if received and self.stopped_at is None:
            self.signal_number, self.stopped_at = received, state.global_step
            self.checkpoint = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
            logger.warning("%s received: saving a checkpoint of step %d to %s, then stopping (further signals are "
                           "ignored until it is written).", self.signal_name, state.global_step, self.checkpoint)
            control.should_save = True
            control.should_evaluate = False
            control.should_training_stop = True

    def on_save(self, args, state, control, **kwargs):
        if self.stopped_at is not None and dist.is_available() and dist.is_initialized():
            # No process leaves before the main one has written the checkpoint: when one worker exits, torchrun
            # sends SIGTERM to the others (ignored here) and SIGKILL a while later, which would cut a long save short.
            dist.barrier()
