# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""The plain training loop that the bottleneck study and the benchmark share, and the batch order they train on.

Both train outside the Trainer (`hf_seq2seq_lstm.training`, which `scripts/train.py` and the recipe use) on purpose:
the benchmark times each step from padding its batch to the optimizer step, which a Trainer step surrounds with its
dataloader, callbacks and logging; the study trains several models in worker processes on one identical stream of
ready batches for a fixed number of steps, with no output folder, evaluation or checkpoint. What they need of a
loop, forward, backward, optional clipping, optimizer step, is [`training_steps`]; each caller keeps its own
bookkeeping (losses and progress, or rates and timings).
"""

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch

from ..data import bucketed_batches, in_random_order

__all__ = ["TrainingStep", "shuffled_batches", "training_steps"]


def shuffled_batches(source_lengths: list[int], target_lengths: list[int], batch_size: int,
                     generator: torch.Generator | None = None) -> list[list[int]]:
    """
    `data.bucketed_batches` of `batch_size` sentences (indices sorted by source, then target length, cut into
    consecutive batches) in random order, drawn from `generator` (default: one seeded with 0). The benchmark trains
    both toolkits on these (OpenNMT-py's bucketing); the study draws its batches from them pool by pool.
    """
    batches = bucketed_batches(source_lengths, target_lengths, max_sentences=batch_size)
    return in_random_order(batches, generator if generator is not None else torch.Generator().manual_seed(0))


@dataclass
class TrainingStep:
    """
    One optimizer step of [`training_steps`].

    Args:
        index (`int`): the step's number, from 0.
        inputs (`dict`): the model inputs of the step (the collated batch, with `labels`).
        loss (`torch.Tensor`): its loss, detached.
        seconds (`float`): from collating the batch to the end of the optimizer step.
    """

    index: int
    inputs: dict
    loss: torch.Tensor
    seconds: float


def training_steps(model: torch.nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer, *,
                   collate: Callable[[object], dict] | None = None, forward: Callable | None = None,
                   max_grad_norm: float | None = None) -> Iterator[TrainingStep]:
    """
    Trains `model` one optimizer step per batch and yields each step after it is taken, so that the caller records
    what it needs between steps, outside the timed part.

    Args:
        model: puts in training mode; its parameters are the ones clipped.
        batches: model inputs (with `labels`), or whatever `collate` turns into them.
        optimizer: over the model's parameters.
        collate (*optional*): batch -> model inputs, timed as part of the step (e.g. padding token ids).
        forward (*optional*): what computes the loss, default `model` (e.g. `torch.compile(model)`).
        max_grad_norm (*optional*): clip the gradients' total norm to this before each step; None: no clipping.
    """
    forward = forward or model
    model.train()
    for index, batch in enumerate(batches):
        start = time.perf_counter()
        inputs = collate(batch) if collate is not None else batch
        loss = forward(**inputs).loss
        optimizer.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        seconds = time.perf_counter() - start
        yield TrainingStep(index, inputs, loss.detach(), seconds)
