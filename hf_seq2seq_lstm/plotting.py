"""Pictures of what the model does: cross-attention heatmaps of generated outputs, and scores against source length.

Figures are built as `matplotlib.figure.Figure` objects drawn by the Agg canvas, never through `pyplot`: nothing
here changes the backend or the global state of a notebook or a script that uses matplotlib itself.

    generated = model.generate(**inputs, num_beams=5, output_attentions=True, return_dict_in_generate=True)
    figure = plot_cross_attention(generated, inputs["input_ids"], index=0, attention_mask=inputs["attention_mask"],
                                  tokenizer=tokenizer, path="attention.png")
    figure   # a notebook displays it

Greedy, sampled and beam-search outputs all work: for beam search, each step's weights are taken from the beam that
the returned sequence went through at that step (`generated.beam_indices`).
"""

import os
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "attention_figure_size",
    "cross_attention_matrix",
    "ids_to_source_tokens",
    "ids_to_target_tokens",
    "plot_attention",
    "plot_cross_attention",
    "plot_scores_by_length",
]

CELL_INCHES = 0.28  # side of one heatmap cell
LABEL_CHAR_INCHES = 0.075  # room per character of the longest tick label
MARGIN_INCHES = 0.6  # title / axis padding
COLORBAR_INCHES = 1.1
MIN_SIDE_INCHES = 2.5


def cross_attention_matrix(generated, index: int = 0, *, layer: int = -1, decoder_prompt_length: int = 1,
                           eos_token_id: int | None = None) -> tuple[torch.Tensor, list[int]]:
    """
    The cross-attention weights of one returned sequence of a `generate(..., output_attentions=True,
    return_dict_in_generate=True)` result.

    Args:
        generated: the `generate()` output (greedy, sampling or beam search).
        index (`int`): row of `generated.sequences` (batch index times `num_return_sequences`, plus the rank).
        layer (`int`, defaults to -1): which entry of each step's per-layer tuple (this model has one).
        decoder_prompt_length (`int`, defaults to 1): tokens at the start of each sequence that were not generated
            (the decoder start token, plus any `decoder_input_ids` prompt).
        eos_token_id (`int`, *optional*): end of a greedy/sampled sequence; steps after it (padding while the rest
            of the batch finished) are dropped. Beam outputs know their length from `beam_indices`.

    Returns:
        `(weights, target_ids)`: weights `(T, S)` (float32, CPU; row t is the attention while generating the
        t-th generated token, over all S source positions, padding included) and the T generated token ids.
    """
    steps = getattr(generated, "cross_attentions", None)
    if not steps:
        raise ValueError("The generate() output has no cross_attentions: call generate(..., output_attentions=True, "
                         "return_dict_in_generate=True).")
    if steps[0] is None or steps[0][layer] is None:
        raise ValueError("The model returned no cross-attention weights: it was built with attention='none', so the "
                         "decoder sees the source only through the encoder's final state.")
    sequences = generated.sequences
    if not 0 <= index < sequences.shape[0]:
        raise IndexError(f"index {index} is out of range for {sequences.shape[0]} returned sequences.")
    beam_indices = getattr(generated, "beam_indices", None)
    generated_ids = sequences[index, decoder_prompt_length:].tolist()
    if beam_indices is not None:
        rows = [int(row) for row in beam_indices[index].tolist()]
        length = next((t for t, row in enumerate(rows) if row < 0), len(rows))
    else:
        length = min(len(steps), len(generated_ids))
        rows = [index] * length
        if eos_token_id is not None and eos_token_id in generated_ids[:length]:
            length = generated_ids.index(eos_token_id) + 1
    length = min(length, len(steps), len(generated_ids))
    weights = torch.stack([steps[t][layer][rows[t]].reshape(-1) for t in range(length)])
    return weights.detach().float().cpu(), generated_ids[:length]


def attention_figure_size(source_tokens: Sequence[str], target_tokens: Sequence[str]) -> tuple[float, float]:
    """The (width, height) in inches that `plot_attention` gives a heatmap of these tokens by default."""
    longest_source = max((len(token) for token in source_tokens), default=1)
    longest_target = max((len(token) for token in target_tokens), default=1)
    width = max(MIN_SIDE_INCHES, CELL_INCHES * len(source_tokens)) + LABEL_CHAR_INCHES * longest_target \
        + MARGIN_INCHES + COLORBAR_INCHES
    height = max(MIN_SIDE_INCHES, CELL_INCHES * len(target_tokens)) + LABEL_CHAR_INCHES * longest_source \
        + 2 * MARGIN_INCHES
    return round(width, 2), round(height, 2)


def _save(figure: Figure, path, dpi: int):
    if path is not None:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        figure.savefig(path, dpi=dpi)


def plot_attention(weights, source_tokens: Sequence[str], target_tokens: Sequence[str], *, title: str | None = None,
                   path: str | os.PathLike | None = None, dpi: int = 100, figsize: tuple[float, float] | None = None,
                   cmap: str = "Blues", vmax: float | None = 1.0) -> Figure:
    """
    A heatmap of attention `weights` (T, S): source tokens along the top (x), generated tokens down the side (y),
    one labelled cell per pair, and a colour bar. Saved as PNG (or any format matplotlib knows from the suffix) when
    `path` is given; the figure is `figsize` (default `attention_figure_size(...)`) times `dpi` pixels.

    `vmax=None` scales the colours to the largest weight instead of to 1.
    """
    weights = np.asarray(weights.detach().cpu() if isinstance(weights, torch.Tensor) else weights, dtype=float)
    if weights.ndim != 2 or weights.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(f"weights have shape {weights.shape} but there are {len(target_tokens)} target and "
                         f"{len(source_tokens)} source tokens: expected ({len(target_tokens)}, {len(source_tokens)}).")
    figure = Figure(figsize=figsize or attention_figure_size(source_tokens, target_tokens), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap=cmap, vmin=0.0, vmax=vmax, aspect="equal", interpolation="nearest")
    fontsize = 8 if max(weights.shape) <= 60 else 6
    axes.set_xticks(range(len(source_tokens)), labels=list(source_tokens), rotation=90, fontsize=fontsize)
    axes.set_yticks(range(len(target_tokens)), labels=list(target_tokens), fontsize=fontsize)
    axes.xaxis.tick_top()
    axes.xaxis.set_label_position("top")
    axes.set_xlabel("source")
    axes.set_ylabel("generated")
    axes.tick_params(length=0)
    colorbar = figure.colorbar(image, ax=axes, shrink=0.8, pad=0.02)
    colorbar.set_label("attention weight")
    if title:
        figure.suptitle(title, fontsize=9)
    _save(figure, path, dpi)
    return figure


def ids_to_source_tokens(tokenizer, ids: list[int]) -> list[str]:
    """Source ids as tokens: a two-vocabulary tokenizer's `convert_ids_to_tokens` reads target ids, as `decode`."""
    if tokenizer is None:
        return [str(i) for i in ids]
    return list(getattr(tokenizer, "convert_source_ids_to_tokens", tokenizer.convert_ids_to_tokens)(ids))


def ids_to_target_tokens(tokenizer, ids: list[int]) -> list[str]:
    return [str(i) for i in ids] if tokenizer is None else list(tokenizer.convert_ids_to_tokens(ids))


def plot_cross_attention(generated, input_ids: torch.Tensor, *, index: int = 0,
                         attention_mask: torch.Tensor | None = None, tokenizer=None,
                         source_tokens: Sequence[str] | None = None, target_tokens: Sequence[str] | None = None,
                         layer: int = -1, decoder_prompt_length: int = 1, **plot_kwargs) -> Figure:
    """
    The cross-attention heatmap of returned sequence `index` of a `generate(..., output_attentions=True,
    return_dict_in_generate=True)` result, over its source row of `input_ids` (the tensor given to `generate()`).

    Source padding (where `attention_mask` is 0) is left out. Tokens are labelled with the model's `tokenizer`, or
    given as `source_tokens` (the unpadded source) / `target_tokens` (one per generated token), or shown as ids.
    Other keyword arguments go to `plot_attention` (path, title, dpi, figsize, cmap, vmax).
    """
    sequences_per_input = generated.sequences.shape[0] // input_ids.shape[0]
    source_row = index // max(sequences_per_input, 1)
    eos_token_id = getattr(tokenizer, "eos_token_id", None)
    weights, target_ids = cross_attention_matrix(generated, index, layer=layer,
                                                 decoder_prompt_length=decoder_prompt_length, eos_token_id=eos_token_id)
    keep = torch.ones(input_ids.shape[1], dtype=torch.bool)
    if attention_mask is not None:
        keep = attention_mask[source_row].bool().cpu()
    weights = weights[:, keep]
    source_ids = input_ids[source_row].cpu()[keep].tolist()
    source_tokens = list(source_tokens) if source_tokens is not None else ids_to_source_tokens(tokenizer, source_ids)
    target_tokens = list(target_tokens) if target_tokens is not None else ids_to_target_tokens(tokenizer, target_ids)
    return plot_attention(weights, source_tokens, target_tokens, **plot_kwargs)


def plot_scores_by_length(panels: Sequence[dict], *, path: str | os.PathLike | None = None, dpi: int = 120,
                          title: str | None = None) -> Figure:
    """
    Line plots of a score against source length, one line per model and one panel per dataset.

    Each panel is `{"rows": [...], "metric": "bleu", "title": "...", "xlabel": "..."}` where rows are dicts with
    `model`, `low`, `high`, `bucket` and the metric (as written by `evaluation.score_by_bucket`, plus the model
    name). Points sit at the middle of each length bucket, labelled with the bucket.
    """
    figure = Figure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    for number, panel in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), number + 1)
        metric = panel["metric"]
        models = list(dict.fromkeys(row["model"] for row in panel["rows"]))
        ticks = {}
        for model in models:
            rows = sorted((row for row in panel["rows"] if row["model"] == model and row.get(metric) is not None),
                          key=lambda row: row["low"])
            x = [(row["low"] + row["high"]) / 2 for row in rows]
            ticks.update(zip(x, (row["bucket"] for row in rows)))
            axes.plot(x, [row[metric] for row in rows], marker="o", label=model)
        axes.set_xticks(sorted(ticks), labels=[ticks[x] for x in sorted(ticks)], fontsize=8)
        axes.set_xlabel(panel.get("xlabel", "source length"))
        axes.set_ylabel(panel.get("ylabel", metric))
        if panel.get("ylim"):
            axes.set_ylim(*panel["ylim"])
        axes.set_title(panel.get("title", ""), fontsize=10)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=11)
    _save(figure, path, dpi)
    return figure
